/**
 * @module What client accounts need beyond the first schema: registration tokens, refresh and login tokens, and
 * the per-user data a client's home screen reads (filters, account data, device keys, device-list changes), plus
 * named counters that stand in for sequences on both databases.
 */
import type { Kysely } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("registration_tokens")
    .addColumn("token", "text", (c) => c.primaryKey())
    .addColumn("uses_allowed", "integer")
    .addColumn("pending", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("completed", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("expiry_time", "bigint")
    .addColumn("created_ts", "bigint", (c) => c.notNull())
    .execute();

  await db.schema
    .createTable("refresh_tokens")
    .addColumn("token_hash", "text", (c) => c.primaryKey())
    .addColumn("user_id", "text", (c) => c.notNull().references("users.name").onDelete("cascade"))
    .addColumn("device_id", "text", (c) => c.notNull())
    .addColumn("next_token_hash", "text")
    .addColumn("expiry_ts", "bigint")
    .addColumn("ultimate_session_expiry_ts", "bigint")
    .addColumn("created_ts", "bigint", (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex("refresh_tokens_user_device")
    .on("refresh_tokens")
    .columns(["user_id", "device_id"])
    .execute();
  await db.schema.alterTable("access_tokens").addColumn("refresh_token_hash", "text").execute();
  await db.schema
    .alterTable("access_tokens")
    .addColumn("used", "smallint", (c) => c.notNull().defaultTo(0))
    .execute();

  await db.schema
    .createTable("login_tokens")
    .addColumn("token_hash", "text", (c) => c.primaryKey())
    .addColumn("user_id", "text", (c) => c.notNull().references("users.name").onDelete("cascade"))
    .addColumn("expiry_ts", "bigint", (c) => c.notNull())
    .execute();

  await db.schema
    .createTable("counters")
    .addColumn("name", "text", (c) => c.primaryKey())
    .addColumn("value", "bigint", (c) => c.notNull())
    .execute();

  await db.schema
    .createTable("user_filters")
    .addColumn("user_id", "text", (c) => c.notNull().references("users.name").onDelete("cascade"))
    .addColumn("filter_id", "text", (c) => c.notNull())
    .addColumn("filter_json", "text", (c) => c.notNull())
    .addPrimaryKeyConstraint("user_filters_pkey", ["user_id", "filter_id"])
    .execute();

  await db.schema
    .createTable("account_data")
    .addColumn("user_id", "text", (c) => c.notNull().references("users.name").onDelete("cascade"))
    .addColumn("type", "text", (c) => c.notNull())
    .addColumn("content", "text", (c) => c.notNull())
    .addColumn("stream_id", "bigint", (c) => c.notNull())
    .addPrimaryKeyConstraint("account_data_pkey", ["user_id", "type"])
    .execute();

  await db.schema
    .createTable("device_keys")
    .addColumn("user_id", "text", (c) => c.notNull())
    .addColumn("device_id", "text", (c) => c.notNull())
    .addColumn("key_json", "text", (c) => c.notNull())
    .addPrimaryKeyConstraint("device_keys_pkey", ["user_id", "device_id"])
    .addForeignKeyConstraint(
      "device_keys_device",
      ["user_id", "device_id"],
      "devices",
      ["user_id", "device_id"],
      (fk) => fk.onDelete("cascade"),
    )
    .execute();

  await db.schema
    .createTable("one_time_keys")
    .addColumn("user_id", "text", (c) => c.notNull())
    .addColumn("device_id", "text", (c) => c.notNull())
    .addColumn("algorithm", "text", (c) => c.notNull())
    .addColumn("key_id", "text", (c) => c.notNull())
    .addColumn("key_json", "text", (c) => c.notNull())
    .addColumn("fallback", "smallint", (c) => c.notNull().defaultTo(0))
    .addColumn("used", "smallint", (c) => c.notNull().defaultTo(0))
    .addPrimaryKeyConstraint("one_time_keys_pkey", ["user_id", "device_id", "algorithm", "key_id"])
    .addForeignKeyConstraint(
      "one_time_keys_device",
      ["user_id", "device_id"],
      "devices",
      ["user_id", "device_id"],
      (fk) => fk.onDelete("cascade"),
    )
    .execute();

  await db.schema
    .createTable("device_list_changes")
    .addColumn("stream_id", "bigint", (c) => c.notNull())
    .addColumn("user_id", "text", (c) => c.notNull())
    .addColumn("device_id", "text", (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex("device_list_changes_stream")
    .on("device_list_changes")
    .columns(["user_id", "stream_id"])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of [
    "device_list_changes",
    "one_time_keys",
    "device_keys",
    "account_data",
    "user_filters",
    "counters",
    "login_tokens",
    "refresh_tokens",
    "registration_tokens",
  ]) {
    await db.schema.dropTable(t).execute();
  }
  await db.schema.alterTable("access_tokens").dropColumn("used").execute();
  await db.schema.alterTable("access_tokens").dropColumn("refresh_token_hash").execute();
}
