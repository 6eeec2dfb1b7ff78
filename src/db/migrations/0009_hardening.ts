/**
 * @module Issue 11's hardening: the client address that opened each UIA session, so the sessions one address may
 * hold open without authenticating can be counted and bounded; and on each admin audit entry the admin behind a
 * `login-as` token, when the change was made through one (the entry's actor is then the impersonated user).
 * (Counting all open sessions uses 0008's index on `creation_time`.)
 */
import type { Kysely } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable("ui_auth_sessions").addColumn("client_ip", "text").execute();
  await db.schema
    .createIndex("ui_auth_sessions_client_ip")
    .on("ui_auth_sessions")
    .columns(["client_ip", "creation_time"])
    .execute();
  await db.schema.alterTable("admin_audit").addColumn("impersonator", "text").execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable("admin_audit").dropColumn("impersonator").execute();
  await db.schema.dropIndex("ui_auth_sessions_client_ip").execute();
  await db.schema.alterTable("ui_auth_sessions").dropColumn("client_ip").execute();
}
