/**
 * @module The media repository (spec "Content repository"): local media and their thumbnails. Table and column
 * names are Synapse's (`local_media_repository`, `local_media_repository_thumbnails`), so an importer can copy rows
 * across; Gatehouse adds `sha256` to thumbnails because its files are content-addressed (src/media/storage.ts).
 *
 * - `local_media_repository`: one row per media ID. `media_length` NULL marks an async upload still waiting for its
 *   content (`POST /_matrix/media/v1/create`); it expires `unused_expiration_time` after `created_ts`, computed at
 *   read time as Synapse does, so changing the setting applies to waiting uploads too. `sha256` names the stored
 *   file; several rows may share one. `authenticated` 1: uploaded while `enable_authenticated_media` was on, so
 *   the legacy unauthenticated download paths refuse it. `quarantined_by` is the admin's user ID (or "system").
 * - `local_media_repository_thumbnails`: one row per stored thumbnail of a media item, keyed as Synapse does.
 */
import type { Kysely } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("local_media_repository")
    .addColumn("media_id", "text", (c) => c.primaryKey())
    .addColumn("media_type", "text")
    .addColumn("media_length", "bigint")
    .addColumn("created_ts", "bigint", (c) => c.notNull())
    .addColumn("upload_name", "text")
    .addColumn("user_id", "text", (c) => c.notNull())
    .addColumn("quarantined_by", "text")
    .addColumn("url_cache", "text")
    .addColumn("last_access_ts", "bigint")
    .addColumn("safe_from_quarantine", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("authenticated", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("sha256", "text")
    .execute();
  // A user's uploads by time: the quota's sums, the pending count and the admin's per-user list.
  await db.schema
    .createIndex("local_media_repository_user_created")
    .on("local_media_repository")
    .columns(["user_id", "created_ts"])
    .execute();
  // "Is this file still used?" before a file is deleted, and quarantine by hash.
  await db.schema.createIndex("local_media_repository_sha256").on("local_media_repository").column("sha256").execute();
  await db.schema
    .createIndex("local_media_repository_created")
    .on("local_media_repository")
    .column("created_ts")
    .execute();

  await db.schema
    .createTable("local_media_repository_thumbnails")
    .addColumn("media_id", "text", (c) => c.notNull())
    .addColumn("thumbnail_width", "integer", (c) => c.notNull())
    .addColumn("thumbnail_height", "integer", (c) => c.notNull())
    .addColumn("thumbnail_type", "text", (c) => c.notNull())
    .addColumn("thumbnail_method", "text", (c) => c.notNull())
    .addColumn("thumbnail_length", "bigint", (c) => c.notNull())
    .addColumn("sha256", "text", (c) => c.notNull())
    .addPrimaryKeyConstraint("local_media_repository_thumbnails_pk", [
      "media_id",
      "thumbnail_width",
      "thumbnail_height",
      "thumbnail_type",
      "thumbnail_method",
    ])
    .execute();
  await db.schema
    .createIndex("local_media_repository_thumbnails_sha256")
    .on("local_media_repository_thumbnails")
    .column("sha256")
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable("local_media_repository_thumbnails").execute();
  await db.schema.dropTable("local_media_repository").execute();
}
