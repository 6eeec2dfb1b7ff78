/**
 * @module How long transaction IDs are kept: a client retries a lost request within seconds or minutes, so a day
 * covers every retry (Synapse keeps `event_txn_id` rows 24 hours too, and its to-device de-duplication only
 * 30 minutes). After that a retry with an old ID sends again, and a sync no longer echoes the ID of an event that
 * old, which only matters to a client still waiting for its local echo.
 */
import type { AccountsContext } from "../accounts/context.js";

export const TXN_RETENTION_MS = 24 * 60 * 60 * 1000;

/** `send`/`redact` transaction IDs older than the retention, about `limit` at a time. */
export function purgeExpiredEventTxns(ctx: AccountsContext, limit: number): Promise<number> {
  return ctx.stores.eventTxns.purgeOlderThan(ctx.now() - TXN_RETENTION_MS, limit);
}

/** `sendToDevice` transaction IDs older than the retention, about `limit` at a time. */
export function purgeExpiredToDeviceTxns(ctx: AccountsContext, limit: number): Promise<number> {
  return ctx.stores.toDeviceTxns.purgeOlderThan(ctx.now() - TXN_RETENTION_MS, limit);
}
