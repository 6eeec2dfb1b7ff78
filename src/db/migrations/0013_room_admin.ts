/**
 * @module The room admin API (issue 12, item 5).
 *
 * - `blocked_rooms`: rooms no one but a server admin may join or be invited to, and the admin who blocked each (a
 *   room can be blocked before this server knows it, so there is no reference to `rooms`).
 * - `room_deletions`: one row per `DELETE /_synapse/admin/v2/rooms/{roomId}`, its status and what it did, so any
 *   process sharing the database answers `delete_status`, and the row outlives the purge of the room it names.
 */
import type { Kysely } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("blocked_rooms")
    .addColumn("room_id", "text", (c) => c.primaryKey())
    .addColumn("user_id", "text", (c) => c.notNull())
    .addColumn("blocked_ts", "bigint", (c) => c.notNull())
    .execute();
  await db.schema
    .createTable("room_deletions")
    .addColumn("delete_id", "text", (c) => c.primaryKey())
    .addColumn("room_id", "text", (c) => c.notNull())
    .addColumn("requester", "text", (c) => c.notNull())
    .addColumn("status", "text", (c) => c.notNull())
    .addColumn("error", "text")
    .addColumn("params", "text", (c) => c.notNull())
    .addColumn("result", "text", (c) => c.notNull())
    .addColumn("created_ts", "bigint", (c) => c.notNull())
    .addColumn("updated_ts", "bigint", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("room_deletions_room").on("room_deletions").columns(["room_id", "created_ts"]).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable("room_deletions").execute();
  await db.schema.dropTable("blocked_rooms").execute();
}
