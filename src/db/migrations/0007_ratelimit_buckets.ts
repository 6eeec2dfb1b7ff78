/**
 * @module Rate-limit buckets in the database, so every Gatehouse process on one database counts against the same
 * bucket (Synapse keeps them in each worker's memory, so N workers allow N times the configured rate).
 *
 * Times are milliseconds on the database's clock, as doubles: the leak is fractional and the clock of the one
 * database is the only clock all processes share. `last_allowed` is the outcome of the latest update, read back by
 * the same statement's RETURNING. `expires_ms` is when the bucket will have leaked empty; the cleanup deletes by it.
 */
import type { Kysely } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("ratelimit_buckets")
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("key", "text", (c) => c.notNull())
    .addColumn("actions", "double precision", (c) => c.notNull())
    .addColumn("start_ms", "double precision", (c) => c.notNull())
    .addColumn("last_allowed", "smallint", (c) => c.notNull())
    .addColumn("expires_ms", "double precision", (c) => c.notNull())
    .addPrimaryKeyConstraint("ratelimit_buckets_pkey", ["name", "key"])
    .execute();
  await db.schema.createIndex("ratelimit_buckets_expires").on("ratelimit_buckets").column("expires_ms").execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable("ratelimit_buckets").execute();
}
