/**
 * @module Synapse's leaky-bucket rate limiter (`synapse/api/ratelimiting.py`), one rule for every limited action.
 *
 * Each bucket leaks `per_second` actions per second and holds `burst_count`. The buckets live in the database
 * (`src/db/ratelimit-buckets.ts`), so every process on it counts against the same ones: a client spreading its
 * attempts over several processes meets the same limit as on one.
 */
import type { RateLimitConfig } from "../config/schema.js";
import type { RateLimitBucketsStore } from "../db/ratelimit-buckets.js";
import type { RatelimitOverridesStore } from "../db/ratelimit-overrides.js";
import { ErrCode, MatrixError } from "../errors.js";

export interface RateLimitCheck {
  /** Count this action (false: only ask whether it would be allowed). */
  update?: boolean;
  actions?: number;
}

/** The limiter an admin's per-user override replaces (Synapse's `RequestRatelimiter`, the one for sending events). */
export const OVERRIDDEN_LIMITER = "rc_message";

export class RateLimiter {
  /**
   * @param now Milliseconds, for tests; by default the database's clock decides, the one clock every process
   *   shares.
   * @param overrides The admins' per-user overrides (`override_ratelimit`), read by `checkUser`.
   */
  constructor(
    private readonly buckets: RateLimitBucketsStore,
    private readonly now?: () => number,
    private readonly overrides?: RatelimitOverridesStore,
  ) {}

  /**
   * `check` for an action a signed-in user takes, keyed by their user ID, with their override applied as Synapse
   * applies it (`Ratelimiter.can_do_action`, `RequestRatelimiter.ratelimit`): an override with
   * `messages_per_second` 0 lifts every such limit for the user; another replaces the rate and burst of
   * `OVERRIDDEN_LIMITER` and leaves the other limiters alone. Read from the database at each check, so an admin's
   * change holds at once in every process.
   */
  async checkUser(name: string, userId: string, rule: RateLimitConfig, options: RateLimitCheck = {}): Promise<void> {
    const override = (await this.overrides?.get(userId)) ?? null;
    if (override?.messagesPerSecond === 0) return;
    const applied =
      override && name === OVERRIDDEN_LIMITER
        ? { per_second: override.messagesPerSecond, burst_count: override.burstCount }
        : rule;
    return this.check(name, userId, applied, options);
  }

  /** Throws 429 `M_LIMIT_EXCEEDED` with `retry_after_ms` when `key` is over `rule`'s limit. */
  async check(name: string, key: string, rule: RateLimitConfig, options: RateLimitCheck = {}): Promise<void> {
    const update = options.update ?? true;
    const n = options.actions ?? 1;
    const nowMs = this.now?.();
    const b = await this.buckets.take(
      name,
      key,
      { perSecond: rule.per_second, burst: rule.burst_count },
      n,
      update,
      nowMs,
    );
    if (b.allowed) return;
    const allowedAtMs =
      rule.per_second > 0
        ? b.startMs + ((b.actions - rule.burst_count + 1) / rule.per_second) * 1000
        : b.nowMs + 3_600_000;
    const retryAfterMs = Math.max(0, Math.ceil(allowedAtMs - b.nowMs));
    throw new MatrixError(ErrCode.LimitExceeded, "Too Many Requests", { extra: { retry_after_ms: retryAfterMs } });
  }

  /**
   * Deletes at most `limit` buckets that have leaked empty, on the clock the checks use; says how many. Run by a
   * background job (src/jobs/), so the table holds only buckets that still count something.
   */
  purge(limit: number): Promise<number> {
    return this.buckets.purgeExpired(this.now?.(), limit);
  }
}
