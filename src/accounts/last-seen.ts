/**
 * @module Where and when each device was last used: the IP address, user agent and time that `GET /devices`,
 * whois and the admin user list report.
 *
 * Every authenticated request is a sighting, but only the first in each minute per device is written: the hot path
 * costs a map lookup, not a database write. A later request from another address shows within the minute. Tokens
 * without a device (an admin's login-as tokens) are not recorded.
 */
import type { Requester } from "./auth.js";
import type { AccountsContext } from "./context.js";

/** At most one write per device in this interval. */
export const LAST_SEEN_INTERVAL_MS = 60_000;
const MAX_ENTRIES = 100_000;

/** When each device's last sighting was written, in this process. */
export class LastSeenThrottle {
  private written = new Map<string, number>();

  constructor(private readonly intervalMs = LAST_SEEN_INTERVAL_MS) {}

  /** True (and the time noted) when the device's last write is older than the interval. */
  due(key: string, now: number): boolean {
    const at = this.written.get(key);
    if (at !== undefined && now - at < this.intervalMs) return false;
    if (this.written.size >= MAX_ENTRIES) this.written.clear();
    this.written.set(key, now);
    return true;
  }

  forget(key: string): void {
    this.written.delete(key);
  }
}

export interface Sighting {
  ip: string;
  userAgent: string | null;
}

/** Records the request as the device's last use, unless one was recorded in the last minute. */
export async function noteSeen(ctx: AccountsContext, requester: Requester, seen: Sighting): Promise<void> {
  if (requester.deviceId === null) return;
  const key = `${requester.userId}\u0000${requester.deviceId}`;
  const now = ctx.now();
  if (!ctx.lastSeen.due(key, now)) return;
  try {
    await ctx.stores.devices.setLastSeen(requester.userId, requester.deviceId, {
      ts: now,
      ip: seen.ip,
      userAgent: seen.userAgent,
    });
  } catch {
    // A lost sighting is not worth failing the request for; the next request tries again.
    ctx.lastSeen.forget(key);
  }
}
