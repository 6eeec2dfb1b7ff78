/**
 * @module What an admin sets on one user beyond the account itself (issue 12, item 5), and the index the jump to a
 * date reads.
 *
 * - `ratelimit_override`: Synapse's table of the same name, one row per user whose message limit an admin replaced
 *   (`override_ratelimit`); a rate of 0 lifts the user's limits.
 * - `user_experimental_features`: Synapse's `per_user_experimental_features`, one row per (user, feature) set.
 * - `events_room_ts`: a room's events by `origin_server_ts`, for `timestamp_to_event`.
 */
import type { Kysely } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("ratelimit_override")
    .addColumn("user_id", "text", (c) => c.primaryKey())
    .addColumn("messages_per_second", "bigint", (c) => c.notNull())
    .addColumn("burst_count", "bigint", (c) => c.notNull())
    .execute();
  await db.schema
    .createTable("user_experimental_features")
    .addColumn("user_id", "text", (c) => c.notNull())
    .addColumn("feature", "text", (c) => c.notNull())
    .addColumn("enabled", "integer", (c) => c.notNull())
    .addPrimaryKeyConstraint("user_experimental_features_pk", ["user_id", "feature"])
    .execute();
  await db.schema.createIndex("events_room_ts").on("events").columns(["room_id", "origin_server_ts"]).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex("events_room_ts").execute();
  await db.schema.dropTable("user_experimental_features").execute();
  await db.schema.dropTable("ratelimit_override").execute();
}
