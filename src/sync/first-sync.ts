/**
 * @module A device's first incremental sync after an initial sync returns at once, so a web client stops showing
 * "Connecting…" instead of waiting out its first long-poll.
 *
 * With presence on, the initial sync's own change (the user coming online) is written after its `next_batch`, so
 * the next sync has that news to return, as on Synapse. With presence off there is no such news: the initial sync
 * records its `next_batch` for the device (in the database, so any `--workers` process can serve the next sync),
 * and the incremental sync from exactly that token takes the record and answers without waiting. Later syncs, and
 * a second one from the same token, long-poll as usual.
 */
import type { AccountsContext } from "../accounts/context.js";
import type { Requester } from "../accounts/auth.js";

export async function noteInitialSync(ctx: AccountsContext, requester: Requester, position: number): Promise<void> {
  if (ctx.presenceEnabled || requester.deviceId === null) return;
  await ctx.stores.deviceInitialSyncs.record(requester.userId, requester.deviceId, position);
}

/** Whether this incremental sync from `since` is the device's first after an initial sync (and so must not wait). */
export async function firstIncremental(ctx: AccountsContext, requester: Requester, since: number): Promise<boolean> {
  if (ctx.presenceEnabled || requester.deviceId === null) return false;
  return ctx.stores.deviceInitialSyncs.take(requester.userId, requester.deviceId, since);
}
