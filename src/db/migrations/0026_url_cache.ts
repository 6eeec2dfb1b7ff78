/**
 * @module URL previews' cache (`GET /_matrix/client/v1/media/preview_url`): Synapse's
 * `local_media_repository_url_cache`, one row per preview made. A preview is answered again from its row until
 * `expires_ts`; `ts` asks for the preview as of a time, so rows are looked up by URL and download time. The page
 * or image fetched is a `local_media_repository` row whose `url_cache` names the URL (`media_id` here), deleted by
 * the job `purge_url_cache` as Synapse's `_expire_url_cache_data` does.
 */
import type { Kysely } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("local_media_repository_url_cache")
    .addColumn("url", "text", (c) => c.notNull())
    .addColumn("response_code", "integer", (c) => c.notNull())
    .addColumn("etag", "text")
    .addColumn("expires_ts", "bigint", (c) => c.notNull())
    .addColumn("og", "text", (c) => c.notNull())
    .addColumn("media_id", "text", (c) => c.notNull())
    .addColumn("download_ts", "bigint", (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex("local_media_repository_url_cache_by_url_download_ts")
    .on("local_media_repository_url_cache")
    .columns(["url", "download_ts"])
    .execute();
  await db.schema
    .createIndex("local_media_repository_url_cache_expires_idx")
    .on("local_media_repository_url_cache")
    .column("expires_ts")
    .execute();
  // The purge finds the fetched media by age among the (few) rows that are URL-cache media.
  await db.schema
    .createIndex("local_media_repository_url_cache_media")
    .on("local_media_repository")
    .columns(["url_cache", "created_ts"])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex("local_media_repository_url_cache_media").execute();
  await db.schema.dropTable("local_media_repository_url_cache").execute();
}
