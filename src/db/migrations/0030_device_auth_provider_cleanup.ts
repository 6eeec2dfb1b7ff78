/**
 * @module `device_auth_providers` rows go with their device (`devices.delete`); before that, a deleted device's
 * row stayed, and a device later made with the same ID would have been ended by the old provider session's
 * back-channel logout. This drops the rows left behind and indexes the table by device, which every device
 * deletion now looks it up by. And `login_tokens.extra_attributes`: the values an SSO provider's `extra_attributes`
 * templates gave, which the `m.login.token` login that spends the token adds to its answer (Synapse's).
 */
import { sql, type Kysely } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`delete from device_auth_providers where not exists (select 1 from devices d
    where d.user_id = device_auth_providers.user_id and d.device_id = device_auth_providers.device_id)`.execute(db);
  await db.schema
    .createIndex("device_auth_providers_device")
    .on("device_auth_providers")
    .columns(["user_id", "device_id"])
    .execute();
  await db.schema.alterTable("login_tokens").addColumn("extra_attributes", "text").execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable("login_tokens").dropColumn("extra_attributes").execute();
  await db.schema.dropIndex("device_auth_providers_device").execute();
}
