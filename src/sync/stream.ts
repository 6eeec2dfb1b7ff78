/**
 * @module The one stream of positions that `/sync` tokens count: every write a sync reports (account data, device
 * list changes) takes the next position from the `stream` counter in the same transaction as the row it stamps.
 *
 * Because the counter and the row commit together, a reader that sees position N also sees every row stamped N or
 * lower; a sync reads the position first and then only rows up to it, so nothing is skipped or sent twice.
 */
import type { Stores, Tables } from "../db/stores.js";

export const STREAM_COUNTER = "stream";

/** `next_batch` and `since` tokens: `s` and the position. */
export function formatStreamToken(position: number): string {
  return `s${position}`;
}

/** The position of a token of ours, or null for anything else. */
export function parseStreamToken(token: string): number | null {
  const m = /^s(\d{1,15})$/.exec(token);
  return m ? Number(m[1]) : null;
}

export function currentPosition(stores: Stores): Promise<number> {
  return stores.counters.current(STREAM_COUNTER);
}

/**
 * Runs `fn` in one transaction with a new stream position for the rows it writes about `userId`, then, once that has
 * committed, wakes the user's waiting syncs (`Stores.onSyncChanged`).
 */
export async function withNewPosition<T>(
  stores: Stores,
  userId: string,
  fn: (tables: Tables, position: number) => Promise<T>,
): Promise<T> {
  const result = await stores.transaction(async (tables) => fn(tables, await tables.counters.next(STREAM_COUNTER)));
  stores.syncChanged(userId);
  return result;
}
