/**
 * @module Cross-signing and server-side key backup (spec "Cross-signing", "Server-side key backups"):
 * - `cross_signing_keys`: each user's master, self-signing and user-signing key as uploaded, one per type; the
 *   master key's row carries the admin-opened window in which it may be replaced without UIA.
 * - `device_signatures`: self-signing-key signatures of a user's own devices, deleted with the device's keys.
 * - `cross_signing_signatures`: signatures of master keys, by the owner's devices or by another user's
 *   user-signing key (`target_key_id` is the master key's public part, as Synapse keys them).
 * - `room_key_backup_versions` and `room_key_backup_keys`: a user's backups and the sessions in each.
 */
import type { Kysely } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("cross_signing_keys")
    .addColumn("user_id", "text", (c) => c.notNull().references("users.name").onDelete("cascade"))
    .addColumn("key_type", "text", (c) => c.notNull())
    .addColumn("key_json", "text", (c) => c.notNull())
    .addColumn("updatable_without_uia_before_ms", "bigint")
    .addPrimaryKeyConstraint("cross_signing_keys_pk", ["user_id", "key_type"])
    .execute();

  await db.schema
    .createTable("device_signatures")
    .addColumn("user_id", "text", (c) => c.notNull())
    .addColumn("device_id", "text", (c) => c.notNull())
    .addColumn("key_id", "text", (c) => c.notNull())
    .addColumn("signature", "text", (c) => c.notNull())
    .addPrimaryKeyConstraint("device_signatures_pk", ["user_id", "device_id", "key_id"])
    .addForeignKeyConstraint(
      "device_signatures_device_keys",
      ["user_id", "device_id"],
      "device_keys",
      ["user_id", "device_id"],
      (fk) => fk.onDelete("cascade"),
    )
    .execute();

  await db.schema
    .createTable("cross_signing_signatures")
    .addColumn("signer_user_id", "text", (c) => c.notNull().references("users.name").onDelete("cascade"))
    .addColumn("key_id", "text", (c) => c.notNull())
    .addColumn("target_user_id", "text", (c) => c.notNull())
    .addColumn("target_key_id", "text", (c) => c.notNull())
    .addColumn("signature", "text", (c) => c.notNull())
    .addPrimaryKeyConstraint("cross_signing_signatures_pk", [
      "target_user_id",
      "target_key_id",
      "signer_user_id",
      "key_id",
    ])
    .execute();

  await db.schema
    .createTable("room_key_backup_versions")
    .addColumn("user_id", "text", (c) => c.notNull().references("users.name").onDelete("cascade"))
    .addColumn("version", "bigint", (c) => c.notNull())
    .addColumn("algorithm", "text", (c) => c.notNull())
    .addColumn("auth_data", "text", (c) => c.notNull())
    .addColumn("etag", "bigint", (c) => c.notNull().defaultTo(0))
    .addColumn("deleted", "smallint", (c) => c.notNull().defaultTo(0))
    .addPrimaryKeyConstraint("room_key_backup_versions_pk", ["user_id", "version"])
    .execute();

  await db.schema
    .createTable("room_key_backup_keys")
    .addColumn("user_id", "text", (c) => c.notNull())
    .addColumn("version", "bigint", (c) => c.notNull())
    .addColumn("room_id", "text", (c) => c.notNull())
    .addColumn("session_id", "text", (c) => c.notNull())
    .addColumn("first_message_index", "bigint", (c) => c.notNull())
    .addColumn("forwarded_count", "bigint", (c) => c.notNull())
    .addColumn("is_verified", "smallint", (c) => c.notNull())
    .addColumn("session_data", "text", (c) => c.notNull())
    .addPrimaryKeyConstraint("room_key_backup_keys_pk", ["user_id", "version", "room_id", "session_id"])
    .addForeignKeyConstraint(
      "room_key_backup_keys_version",
      ["user_id", "version"],
      "room_key_backup_versions",
      ["user_id", "version"],
      (fk) => fk.onDelete("cascade"),
    )
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of [
    "room_key_backup_keys",
    "room_key_backup_versions",
    "cross_signing_signatures",
    "device_signatures",
    "cross_signing_keys",
  ]) {
    await db.schema.dropTable(t).execute();
  }
}
