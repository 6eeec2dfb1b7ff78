/**
 * @module Wakes a user's waiting `/sync` requests when something of theirs changes.
 *
 * One notifier per server (`AccountsContext.syncNotifier`), keyed by user ID: two servers in one process never wake
 * each other's syncs. Every write a sync reports (account data, device keys, the device list) is announced by its
 * stores once committed (`Stores.onSyncChanged`), which the notifier hears; a long-polling `/sync` holds a
 * `SyncSubscription` and waits on it. The notifier carries no data, only "look again": the sync re-reads the
 * database, so a spurious wake-up costs one query and a lost one is impossible (a subscription remembers a
 * notification that arrived before `wait`).
 *
 * Other processes hear of a write through a relay: on PostgreSQL the server adds a second listener to its stores
 * that sends a notice (`src/db/notify.ts`), and the notices it receives wake its own waiting syncs through
 * `notifyUser` here, not through the stores, so they are not sent back out. On SQLite there is no relay, so a write
 * made by another process on the same file is seen by a waiting sync only when its timeout ends.
 */
import { EventEmitter } from "node:events";

export type WakeReason = "notified" | "timeout" | "aborted";

export class SyncSubscription {
  private notified = false;
  private wake: ((reason: WakeReason) => void) | null = null;
  private closed = false;
  private readonly listener = () => {
    this.notified = true;
    this.wake?.("notified");
  };

  constructor(
    private readonly emitter: EventEmitter,
    readonly userId: string,
  ) {
    emitter.on(userId, this.listener);
  }

  /** Forgets earlier notifications: call before reading the database, then `wait` if there was nothing new. */
  reset(): void {
    this.notified = false;
  }

  /** Resolves on a notification since the last `reset`, after `ms`, or when `signal` aborts; whichever is first. */
  wait(ms: number, signal?: AbortSignal): Promise<WakeReason> {
    if (this.closed) return Promise.resolve("aborted");
    if (signal?.aborted) return Promise.resolve("aborted");
    if (this.notified) return Promise.resolve("notified");
    return new Promise<WakeReason>((resolve) => {
      const done = (reason: WakeReason) => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        this.wake = null;
        resolve(reason);
      };
      const onAbort = () => done("aborted");
      const timer = setTimeout(() => done("timeout"), Math.max(0, ms));
      signal?.addEventListener("abort", onAbort, { once: true });
      this.wake = done;
    });
  }

  /** Unsubscribes; a pending `wait` resolves "aborted". Safe to call more than once. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.emitter.off(this.userId, this.listener);
    this.wake?.("aborted");
  }
}

export class SyncNotifier {
  private readonly emitter = new EventEmitter();

  constructor() {
    // One listener per waiting request: hundreds for one user are normal (many devices, many tabs).
    this.emitter.setMaxListeners(0);
  }

  notifyUser(userId: string): void {
    this.emitter.emit(userId);
  }

  subscribe(userId: string): SyncSubscription {
    return new SyncSubscription(this.emitter, userId);
  }

  /** Waiting subscriptions, for one user or for all: what tests check to prove that nothing is left behind. */
  listenerCount(userId?: string): number {
    if (userId !== undefined) return this.emitter.listenerCount(userId);
    return this.emitter.eventNames().reduce((n, name) => n + this.emitter.listenerCount(name), 0);
  }
}
