/**
 * @module Back-channel logout: a login token made by SSO carries the provider, the provider's subject and its session
 * ID (`sid`) to the device the token logs in, and `device_auth_providers` keeps them with that device (Synapse's
 * table of that name), so a provider's logout token finds the sessions made through its session.
 */
import type { Kysely } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable("login_tokens").addColumn("auth_provider_id", "text").execute();
  await db.schema.alterTable("login_tokens").addColumn("auth_provider_subject", "text").execute();
  await db.schema.alterTable("login_tokens").addColumn("auth_provider_session_id", "text").execute();
  await db.schema
    .createTable("device_auth_providers")
    .addColumn("user_id", "text", (c) => c.notNull())
    .addColumn("device_id", "text", (c) => c.notNull())
    .addColumn("auth_provider_id", "text", (c) => c.notNull())
    .addColumn("auth_provider_subject", "text", (c) => c.notNull())
    .addColumn("auth_provider_session_id", "text")
    .execute();
  await db.schema
    .createIndex("device_auth_providers_subject")
    .on("device_auth_providers")
    .columns(["auth_provider_id", "auth_provider_subject"])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable("device_auth_providers").execute();
  await db.schema.alterTable("login_tokens").dropColumn("auth_provider_session_id").execute();
  await db.schema.alterTable("login_tokens").dropColumn("auth_provider_subject").execute();
  await db.schema.alterTable("login_tokens").dropColumn("auth_provider_id").execute();
}
