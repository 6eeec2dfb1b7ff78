/**
 * @module What the Synapse-compatible admin API stores: the audit log of admin writes, the third-party identifiers
 * and external (SSO) IDs an admin attaches to an account, and the "erased" mark of a GDPR erasure.
 *
 * `admin_audit.id` comes from the `admin_audit` counter (the same sequence on both databases), so entries sort by
 * it newest first without relying on clocks. `before` and `after` are JSON objects of the fields the write changed;
 * they never hold a password or a token (only markers such as `"<changed>"`).
 */
import type { Kysely } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("admin_audit")
    .addColumn("id", "bigint", (c) => c.primaryKey())
    .addColumn("ts", "bigint", (c) => c.notNull())
    .addColumn("actor", "text", (c) => c.notNull())
    .addColumn("action", "text", (c) => c.notNull())
    .addColumn("target", "text")
    .addColumn("ip", "text")
    .addColumn("before", "text", (c) => c.notNull())
    .addColumn("after", "text", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("admin_audit_actor").on("admin_audit").columns(["actor", "id"]).execute();
  await db.schema.createIndex("admin_audit_target").on("admin_audit").columns(["target", "id"]).execute();
  await db.schema.createIndex("admin_audit_ts").on("admin_audit").column("ts").execute();

  await db.schema
    .createTable("user_threepids")
    .addColumn("user_id", "text", (c) => c.notNull().references("users.name").onDelete("cascade"))
    .addColumn("medium", "text", (c) => c.notNull())
    .addColumn("address", "text", (c) => c.notNull())
    .addColumn("validated_at", "bigint", (c) => c.notNull())
    .addColumn("added_at", "bigint", (c) => c.notNull())
    // One account per address: a 3PID that named two accounts could not be used to find either.
    .addPrimaryKeyConstraint("user_threepids_pkey", ["medium", "address"])
    .execute();
  await db.schema.createIndex("user_threepids_user").on("user_threepids").column("user_id").execute();

  await db.schema
    .createTable("user_external_ids")
    .addColumn("auth_provider", "text", (c) => c.notNull())
    .addColumn("external_id", "text", (c) => c.notNull())
    .addColumn("user_id", "text", (c) => c.notNull().references("users.name").onDelete("cascade"))
    .addPrimaryKeyConstraint("user_external_ids_pkey", ["auth_provider", "external_id"])
    .execute();
  await db.schema.createIndex("user_external_ids_user").on("user_external_ids").column("user_id").execute();

  await db.schema
    .alterTable("users")
    .addColumn("erased", "smallint", (c) => c.notNull().defaultTo(0))
    .execute();
  // The admin user list sorts by creation time as often as by name.
  await db.schema.createIndex("users_creation_ts").on("users").column("creation_ts").execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex("users_creation_ts").execute();
  await db.schema.alterTable("users").dropColumn("erased").execute();
  for (const t of ["user_external_ids", "user_threepids", "admin_audit"]) await db.schema.dropTable(t).execute();
}
