/**
 * @module Reports of events (spec "Reporting content": `POST /rooms/{roomId}/report/{eventId}`) and of whole rooms
 * (`POST /rooms/{roomId}/report`, spec v1.13), for moderators reading them through Synapse's `event_reports` admin
 * API. `event_id` is null for a report of a room.
 */
import type { Kysely } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("event_reports")
    .addColumn("id", "integer", (c) => c.primaryKey())
    .addColumn("received_ts", "bigint", (c) => c.notNull())
    .addColumn("room_id", "text", (c) => c.notNull())
    .addColumn("event_id", "text")
    .addColumn("user_id", "text", (c) => c.notNull())
    .addColumn("reason", "text")
    .addColumn("score", "integer")
    .execute();
  await db.schema.createIndex("event_reports_received").on("event_reports").column("received_ts").execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable("event_reports").execute();
}
