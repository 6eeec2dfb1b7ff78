/**
 * @module The first schema: accounts, devices, access tokens, registration nonces and UIA sessions.
 *
 * Written once with kysely's schema builder so SQLite and PostgreSQL get the same tables. `bigint` holds
 * millisecond timestamps (PostgreSQL's `integer` stops in 2038 for seconds and far sooner for milliseconds).
 */
import { sql, type Kysely } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("users")
    .addColumn("name", "text", (c) => c.primaryKey())
    .addColumn("password_hash", "text")
    .addColumn("creation_ts", "bigint", (c) => c.notNull())
    .addColumn("admin", "smallint", (c) => c.notNull().defaultTo(0))
    .addColumn("is_guest", "smallint", (c) => c.notNull().defaultTo(0))
    .addColumn("user_type", "text")
    .addColumn("deactivated", "smallint", (c) => c.notNull().defaultTo(0))
    .addColumn("locked", "smallint", (c) => c.notNull().defaultTo(0))
    .addColumn("suspended", "smallint", (c) => c.notNull().defaultTo(0))
    .addColumn("shadow_banned", "smallint", (c) => c.notNull().defaultTo(0))
    .addColumn("approved", "smallint", (c) => c.notNull().defaultTo(1))
    .addColumn("displayname", "text")
    .addColumn("avatar_url", "text")
    .execute();
  // Two accounts that differ only in case would make case-insensitive login ambiguous; the index makes the
  // database, not a racy check, the judge of that.
  await sql`CREATE UNIQUE INDEX users_lower_name ON users (lower(name))`.execute(db);

  await db.schema
    .createTable("devices")
    .addColumn("user_id", "text", (c) => c.notNull().references("users.name").onDelete("cascade"))
    .addColumn("device_id", "text", (c) => c.notNull())
    .addColumn("display_name", "text")
    .addColumn("created_ts", "bigint", (c) => c.notNull())
    .addColumn("last_seen_ts", "bigint")
    .addColumn("last_seen_ip", "text")
    .addColumn("last_seen_user_agent", "text")
    .addPrimaryKeyConstraint("devices_pkey", ["user_id", "device_id"])
    .execute();

  await db.schema
    .createTable("access_tokens")
    .addColumn("token_hash", "text", (c) => c.primaryKey())
    .addColumn("user_id", "text", (c) => c.notNull().references("users.name").onDelete("cascade"))
    .addColumn("device_id", "text")
    .addColumn("created_ts", "bigint", (c) => c.notNull())
    .addColumn("valid_until_ms", "bigint")
    .addColumn("puppets_user_id", "text")
    .addColumn("last_validated", "bigint")
    .execute();
  await db.schema
    .createIndex("access_tokens_user_device")
    .on("access_tokens")
    .columns(["user_id", "device_id"])
    .execute();

  await db.schema
    .createTable("registration_nonces")
    .addColumn("nonce", "text", (c) => c.primaryKey())
    .addColumn("created_ts", "bigint", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("registration_nonces_created").on("registration_nonces").column("created_ts").execute();

  await db.schema
    .createTable("ui_auth_sessions")
    .addColumn("session_id", "text", (c) => c.primaryKey())
    .addColumn("creation_time", "bigint", (c) => c.notNull())
    .addColumn("uri", "text", (c) => c.notNull())
    .addColumn("method", "text", (c) => c.notNull())
    .addColumn("description", "text", (c) => c.notNull())
    .addColumn("clientdict", "text", (c) => c.notNull())
    .addColumn("serverdict", "text", (c) => c.notNull())
    .execute();
  await db.schema
    .createTable("ui_auth_sessions_credentials")
    .addColumn("session_id", "text", (c) => c.notNull().references("ui_auth_sessions.session_id").onDelete("cascade"))
    .addColumn("stage_type", "text", (c) => c.notNull())
    .addColumn("result", "text", (c) => c.notNull())
    .addPrimaryKeyConstraint("ui_auth_sessions_credentials_pkey", ["session_id", "stage_type"])
    .execute();

  await db.schema
    .createTable("server_meta")
    .addColumn("key", "text", (c) => c.primaryKey())
    .addColumn("value", "text", (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of [
    "server_meta",
    "ui_auth_sessions_credentials",
    "ui_auth_sessions",
    "registration_nonces",
    "access_tokens",
    "devices",
    "users",
  ]) {
    await db.schema.dropTable(t).execute();
  }
}
