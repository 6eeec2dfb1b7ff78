/**
 * @module Synapse's leaky-bucket rate limiter (`synapse/api/ratelimiting.py`), one rule for every limited action.
 *
 * Buckets are kept in this process. Each bucket leaks `per_second` actions per second and holds `burst_count`.
 */
import type { RateLimitConfig } from "../config/schema.js";
import { ErrCode, MatrixError } from "../http/errors.js";

interface Bucket {
  actions: number;
  /** Seconds. */
  start: number;
}

export interface RateLimitCheck {
  /** Count this action (false: only ask whether it would be allowed). */
  update?: boolean;
  actions?: number;
}

const MAX_BUCKETS = 100_000;

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Throws 429 `M_LIMIT_EXCEEDED` with `retry_after_ms` when `key` is over `rule`'s limit. */
  check(name: string, key: string, rule: RateLimitConfig, options: RateLimitCheck = {}): void {
    const update = options.update ?? true;
    const n = options.actions ?? 1;
    const now = this.now() / 1000;
    const id = `${name}\u0000${key}`;
    const bucket = this.buckets.get(id) ?? { actions: 0, start: now };
    let performed = bucket.actions - (now - bucket.start) * rule.per_second;
    if (performed < 0) {
      performed = 0;
      bucket.actions = 0;
      bucket.start = now;
    }
    const allowed = !(performed > rule.burst_count - n);
    if (allowed && update) {
      bucket.actions += n;
      this.store(id, bucket);
    }
    if (!allowed) {
      const allowedAt =
        rule.per_second > 0 ? bucket.start + (bucket.actions - rule.burst_count + 1) / rule.per_second : now + 3600;
      const retryAfterMs = Math.max(0, Math.ceil((allowedAt - now) * 1000));
      throw new MatrixError(ErrCode.LimitExceeded, "Too Many Requests", { extra: { retry_after_ms: retryAfterMs } });
    }
  }

  private store(id: string, bucket: Bucket): void {
    this.buckets.set(id, bucket);
    if (this.buckets.size > MAX_BUCKETS) {
      // Drop the oldest half: buckets that old have leaked empty for any realistic rule.
      let drop = this.buckets.size / 2;
      for (const key of this.buckets.keys()) {
        if (drop-- <= 0) break;
        this.buckets.delete(key);
      }
    }
  }
}
