/**
 * @module Deleting the oldest rows of a table keyed by something other than its age, in bounded batches, written
 * once for both databases: neither a composite primary key nor `DELETE … LIMIT` (which PostgreSQL lacks) can bound
 * the batch, so the batch ends at the `created_ts` of its `limit`-th oldest row. Rows sharing that timestamp go
 * together, so a batch can exceed `limit` by the rows of one millisecond.
 */
import type { Kysely } from "kysely";
import type { Database } from "./schema.js";

/** The tables whose rows expire by `created_ts` alone. */
export type AgedTable = "event_txns" | "to_device_txns";

/** Deletes up to about `limit` rows created before `before`, oldest first; answers how many went. */
export async function deleteOlderThan(
  db: Kysely<Database>,
  table: AgedTable,
  before: number,
  limit: number,
): Promise<number> {
  const boundary = await db
    .selectFrom(table)
    .select("created_ts")
    .where("created_ts", "<", before)
    .orderBy("created_ts")
    .offset(limit - 1)
    .limit(1)
    .executeTakeFirst();
  const r = await db
    .deleteFrom(table)
    .where("created_ts", boundary ? "<=" : "<", boundary ? boundary.created_ts : before)
    .executeTakeFirst();
  return Number(r.numDeletedRows);
}
