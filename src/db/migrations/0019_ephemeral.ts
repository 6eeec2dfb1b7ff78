/**
 * @module The live parts of a room (spec "Typing Notifications", "Receipts", "Presence"), kept in the database so
 * every `--workers` process sees the same state, each row stamped with the stream position of its last change so
 * `/sync` sends only what changed after `since`:
 *
 * - `typing`: who types in which room until when; a stop (or an expiry noticed by the sweeper) keeps the row with
 *   `expires_at` 0, so the change still has a position.
 * - `receipts`: the latest receipt per (room, user, type, thread); `thread_id` is '' for an unthreaded receipt
 *   (a primary key cannot hold NULL). `event_ordering` is the receipt's event's position, for unread counts.
 * - `presence`: one row per user who ever had presence; `sync_until` is when the user's last sync ends at the
 *   latest, so any process can tell that the user stopped syncing.
 * - `device_initial_syncs`: the `next_batch` of each device's latest initial sync until its first incremental sync
 *   has used it, so that one returns at once whichever process serves it (src/sync/first-sync.ts).
 */
import type { Kysely } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("typing")
    .addColumn("room_id", "text", (c) => c.notNull())
    .addColumn("user_id", "text", (c) => c.notNull())
    .addColumn("expires_at", "bigint", (c) => c.notNull())
    .addColumn("stream_id", "bigint", (c) => c.notNull())
    .addPrimaryKeyConstraint("typing_pk", ["room_id", "user_id"])
    .execute();
  await db.schema.createIndex("typing_stream").on("typing").column("stream_id").execute();
  await db.schema.createIndex("typing_expiry").on("typing").column("expires_at").execute();

  await db.schema
    .createTable("receipts")
    .addColumn("room_id", "text", (c) => c.notNull())
    .addColumn("user_id", "text", (c) => c.notNull())
    .addColumn("receipt_type", "text", (c) => c.notNull())
    .addColumn("thread_id", "text", (c) => c.notNull())
    .addColumn("event_id", "text", (c) => c.notNull())
    .addColumn("event_ordering", "bigint", (c) => c.notNull())
    .addColumn("ts", "bigint", (c) => c.notNull())
    .addColumn("stream_id", "bigint", (c) => c.notNull())
    .addPrimaryKeyConstraint("receipts_pk", ["room_id", "user_id", "receipt_type", "thread_id"])
    .execute();
  await db.schema.createIndex("receipts_stream").on("receipts").column("stream_id").execute();
  await db.schema.createIndex("receipts_room_stream").on("receipts").columns(["room_id", "stream_id"]).execute();

  await db.schema
    .createTable("presence")
    .addColumn("user_id", "text", (c) => c.primaryKey())
    .addColumn("state", "text", (c) => c.notNull())
    .addColumn("status_msg", "text")
    .addColumn("last_active_ts", "bigint", (c) => c.notNull())
    .addColumn("sync_until", "bigint", (c) => c.notNull())
    .addColumn("stream_id", "bigint", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("presence_stream").on("presence").column("stream_id").execute();
  await db.schema.createIndex("presence_state").on("presence").column("state").execute();

  await db.schema
    .createTable("device_initial_syncs")
    .addColumn("user_id", "text", (c) => c.notNull())
    .addColumn("device_id", "text", (c) => c.notNull())
    .addColumn("position", "bigint", (c) => c.notNull())
    .addPrimaryKeyConstraint("device_initial_syncs_pk", ["user_id", "device_id"])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable("device_initial_syncs").execute();
  await db.schema.dropTable("presence").execute();
  await db.schema.dropTable("receipts").execute();
  await db.schema.dropTable("typing").execute();
}
