/**
 * @module Terms (Synapse's `user_consent`): the policy version each user accepted and when, and the version a consent
 * server notice was last sent for, in Synapse's column names on `users` (`consent_version`, `consent_ts` in ms,
 * `consent_server_notice_sent`), so the admin API answers them as Synapse does.
 */
import type { Kysely } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable("users").addColumn("consent_version", "text").execute();
  await db.schema.alterTable("users").addColumn("consent_ts", "bigint").execute();
  await db.schema.alterTable("users").addColumn("consent_server_notice_sent", "text").execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable("users").dropColumn("consent_server_notice_sent").execute();
  await db.schema.alterTable("users").dropColumn("consent_ts").execute();
  await db.schema.alterTable("users").dropColumn("consent_version").execute();
}
