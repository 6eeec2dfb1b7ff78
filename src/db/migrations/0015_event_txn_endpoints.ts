/**
 * @module A transaction ID is scoped to a device and an endpoint (spec "Transaction identifiers"): `event_txns`
 * gains `endpoint` (`send` or `redact`) in its key, so a redaction reusing a message's transaction ID is a new
 * redaction, not a retry of the message. The table is rebuilt (SQLite cannot change a primary key in place);
 * existing rows were all sends or redactions under one key, and are kept as `send`.
 */
import { sql, type Kysely } from "kysely";

async function rebuild(db: Kysely<unknown>, withEndpoint: boolean): Promise<void> {
  await db.schema.alterTable("event_txns").renameTo("event_txns_old").execute();
  let table = db.schema
    .createTable("event_txns")
    .addColumn("user_id", "text", (c) => c.notNull())
    .addColumn("device_id", "text", (c) => c.notNull());
  if (withEndpoint) table = table.addColumn("endpoint", "text", (c) => c.notNull());
  await table
    .addColumn("txn_id", "text", (c) => c.notNull())
    .addColumn("event_id", "text", (c) => c.notNull())
    .addColumn("created_ts", "bigint", (c) => c.notNull())
    .addPrimaryKeyConstraint(
      withEndpoint ? "event_txns_endpoint_pk" : "event_txns_pk",
      (withEndpoint ? ["user_id", "device_id", "endpoint", "txn_id"] : ["user_id", "device_id", "txn_id"]) as never,
    )
    .execute();
  await sql`INSERT INTO event_txns (user_id, device_id, ${sql.raw(withEndpoint ? "endpoint, " : "")}txn_id, event_id, created_ts)
    SELECT user_id, device_id, ${sql.raw(withEndpoint ? "'send', " : "")}txn_id, event_id, created_ts FROM event_txns_old
    ${sql.raw(withEndpoint ? "" : "WHERE endpoint = 'send'")}`.execute(db);
  // The event index went with the old table; its name is free again only once that is dropped.
  await db.schema.dropTable("event_txns_old").execute();
  await db.schema.createIndex("event_txns_event").on("event_txns").column("event_id").execute();
}

export async function up(db: Kysely<unknown>): Promise<void> {
  await rebuild(db, true);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await rebuild(db, false);
}
