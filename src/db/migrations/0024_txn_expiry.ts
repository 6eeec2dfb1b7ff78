/**
 * @module Transaction IDs expire: `event_txns` and `to_device_txns` gain an index on `created_ts` so the purge jobs
 * (src/jobs/purges.ts) find the rows older than the retention without reading the tables. Without them both tables
 * grow by a row for every message and every to-device send, for good.
 */
import type { Kysely } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.createIndex("event_txns_created").on("event_txns").column("created_ts").execute();
  await db.schema.createIndex("to_device_txns_created").on("to_device_txns").column("created_ts").execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex("to_device_txns_created").execute();
  await db.schema.dropIndex("event_txns_created").execute();
}
