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

/** What a writer is given inside its transaction: positions to stamp rows with, and whom to wake once committed. */
export interface StreamWriter {
  /** The next position; taking it holds the stream until the transaction ends, so positions commit in order. */
  next(): Promise<number>;
  /** Marks `userId`'s waiting syncs to be woken after the commit (never for a rollback). */
  wake(userId: string): void;
}

const writers = new WeakMap<Stores, Promise<unknown>>();

/**
 * Runs this process's stream writers one after the other. They would anyway (the position holds the stream until
 * commit), but a writer waiting on the database's lock holds a connection of the PostgreSQL pool while it waits: a
 * burst of sends then took the whole pool and left every other request waiting past `connect_timeout`. Queued here,
 * a waiting writer holds no connection; only writers of other processes wait in the database.
 */
function oneAtATime<T>(stores: Stores, fn: () => Promise<T>): Promise<T> {
  const previous = writers.get(stores) ?? Promise.resolve();
  const run = previous.then(fn);
  writers.set(
    stores,
    run.catch(() => {}),
  );
  return run;
}

/**
 * Runs `fn` in one transaction in which it takes stream positions for the rows it writes, then, once that has
 * committed, wakes the syncs of every user it named (`Stores.onSyncChanged`). On a rollback nothing is woken and the
 * positions taken are given back with the rest of the transaction.
 */
export async function inStreamTransaction<T>(
  stores: Stores,
  fn: (tables: Tables, writer: StreamWriter) => Promise<T>,
): Promise<T> {
  const woken = new Set<string>();
  const result = await oneAtATime(stores, () =>
    stores.transaction(async (tables) =>
      fn(tables, {
        next: () => tables.counters.next(STREAM_COUNTER),
        wake: (userId) => void woken.add(userId),
      }),
    ),
  );
  for (const userId of woken) stores.syncChanged(userId);
  return result;
}

/**
 * Runs `fn` in one transaction with a new stream position for the rows it writes about `userId`, then, once that has
 * committed, wakes the user's waiting syncs.
 */
export async function withNewPosition<T>(
  stores: Stores,
  userId: string,
  fn: (tables: Tables, position: number) => Promise<T>,
): Promise<T> {
  return inStreamTransaction(stores, async (tables, writer) => {
    writer.wake(userId);
    return fn(tables, await writer.next());
  });
}
