/**
 * @module A short-lived cache of who each access token belongs to, so the hot path (every authenticated request)
 * costs no database round trip.
 *
 * Correctness does not rest on the short lifetime: the stores announce every change that can end or alter a
 * session (token or device deleted, account deactivated), after commit, and the cache is cleared then. A
 * generation number stops a lookup that started before such a change from writing its stale answer back. The
 * lifetime only bounds how long another process's changes take to be seen when no notice of them arrives: on
 * PostgreSQL other processes' changes arrive as notices too (`src/db/notify.ts`), and while the connection that
 * receives them is down the cache is switched off, so a token revoked anywhere is refused everywhere at once.
 */
import type { AccessTokenRecord } from "../db/access-tokens.js";
import type { User } from "../db/users.js";

export interface CachedSession {
  record: AccessTokenRecord;
  user: User;
}

export const SESSION_CACHE_TTL_MS = 1000;
const MAX_ENTRIES = 50_000;

export class SessionCache {
  private entries = new Map<string, { value: CachedSession; at: number }>();
  private gen = 0;
  private on = true;

  constructor(private readonly ttlMs = SESSION_CACHE_TTL_MS) {}

  get generation(): number {
    return this.gen;
  }

  get(tokenHash: string, now: number): CachedSession | null {
    if (!this.on) return null;
    const e = this.entries.get(tokenHash);
    if (!e) return null;
    if (now - e.at > this.ttlMs) {
      this.entries.delete(tokenHash);
      return null;
    }
    return e.value;
  }

  /** Stores the lookup only if nothing changed since `generation` was read. */
  set(tokenHash: string, value: CachedSession, generation: number, now: number): void {
    if (generation !== this.gen || !this.on) return;
    if (this.entries.size >= MAX_ENTRIES) this.entries.clear();
    this.entries.set(tokenHash, { value, at: now });
  }

  /** Off: every lookup goes to the database (while this process cannot hear other processes' changes). */
  setEnabled(on: boolean): void {
    this.on = on;
    this.clear();
  }

  get enabled(): boolean {
    return this.on;
  }

  clear(): void {
    this.gen++;
    this.entries.clear();
  }
}
