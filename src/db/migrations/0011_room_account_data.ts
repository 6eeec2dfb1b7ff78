/**
 * @module Per-room account data (spec "Client Config": `m.tag`, `m.fully_read`, anything a client stores about one
 * room), one JSON object per (user, room, type), stamped with the stream position of its last write like global
 * account data, so `/sync` sends only what changed. Indexed by user and position for "what changed since".
 */
import type { Kysely } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("room_account_data")
    .addColumn("user_id", "text", (c) => c.notNull())
    .addColumn("room_id", "text", (c) => c.notNull())
    .addColumn("type", "text", (c) => c.notNull())
    .addColumn("content", "text", (c) => c.notNull())
    .addColumn("stream_id", "bigint", (c) => c.notNull())
    .addPrimaryKeyConstraint("room_account_data_pk", ["user_id", "room_id", "type"])
    .execute();
  await db.schema
    .createIndex("room_account_data_stream")
    .on("room_account_data")
    .columns(["user_id", "stream_id"])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable("room_account_data").execute();
}
