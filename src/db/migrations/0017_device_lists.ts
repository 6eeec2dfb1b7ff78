/**
 * @module Device-list changes are read by stream position for everyone at once (`/sync` and `/keys/changes` ask
 * "whose devices changed in (since, now]" and then keep those who share a room with the reader), so the table gets an
 * index on `stream_id`: the read then costs what changed in the window, not the size of the table.
 */
import type { Kysely } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.createIndex("device_list_changes_position").on("device_list_changes").column("stream_id").execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex("device_list_changes_position").execute();
}
