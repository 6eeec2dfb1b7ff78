/**
 * @module To-device messages (spec "Send-to-Device messaging"): each device's queue, and the transaction IDs a
 * device used to send, so a retried `PUT /sendToDevice` sends nothing twice.
 *
 * - `to_device_messages`: one row per (recipient device, message), keyed by the stream position of the send that
 *   made it (`stream_id`, one position per send) and its place in that send (`seq`), which is also the order of
 *   delivery. `withheld_in` is the position of the last `/sync` response that left it out for its limit, which
 *   that response's `since` must not acknowledge (src/sync/to-device.ts).
 * - `to_device_counts`: a bound on each device's queue length, so the cap per device is checked without counting
 *   the queue on every send.
 * - `to_device_txns`: (sender, device, transaction ID).
 */
import type { Kysely } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("to_device_messages")
    .addColumn("user_id", "text", (c) => c.notNull())
    .addColumn("device_id", "text", (c) => c.notNull())
    .addColumn("stream_id", "bigint", (c) => c.notNull())
    .addColumn("seq", "integer", (c) => c.notNull())
    .addColumn("sender", "text", (c) => c.notNull())
    .addColumn("type", "text", (c) => c.notNull())
    .addColumn("content", "text", (c) => c.notNull())
    .addColumn("withheld_in", "bigint")
    .addPrimaryKeyConstraint("to_device_messages_pk", ["user_id", "device_id", "stream_id", "seq"])
    .execute();
  await db.schema
    .createTable("to_device_counts")
    .addColumn("user_id", "text", (c) => c.notNull())
    .addColumn("device_id", "text", (c) => c.notNull())
    .addColumn("pending", "integer", (c) => c.notNull())
    .addPrimaryKeyConstraint("to_device_counts_pk", ["user_id", "device_id"])
    .execute();
  await db.schema
    .createTable("to_device_txns")
    .addColumn("user_id", "text", (c) => c.notNull())
    .addColumn("device_id", "text", (c) => c.notNull())
    .addColumn("txn_id", "text", (c) => c.notNull())
    .addColumn("created_ts", "bigint", (c) => c.notNull())
    .addPrimaryKeyConstraint("to_device_txns_pk", ["user_id", "device_id", "txn_id"])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable("to_device_txns").execute();
  await db.schema.dropTable("to_device_counts").execute();
  await db.schema.dropTable("to_device_messages").execute();
}
