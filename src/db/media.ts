/**
 * @module The media repository's tables (migration 0021): `local_media_repository` (one row per media ID) and
 * `local_media_repository_thumbnails`. Files are named by the SHA-256 of their bytes, shared by every row that
 * has the same bytes; `blobInUse` tells whether any row of either table still names one before it is deleted.
 */
import type { Kysely } from "kysely";
import type { Database, LocalMediaRepositoryTable } from "./schema.js";
import type { Selectable } from "kysely";

export interface LocalMedia {
  mediaId: string;
  /** Null only while `mediaLength` is null (an async upload waiting for its content). */
  mediaType: string | null;
  /** Null: created by `POST /_matrix/media/v1/create`, content not uploaded yet. */
  mediaLength: number | null;
  createdTs: number;
  uploadName: string | null;
  userId: string;
  quarantinedBy: string | null;
  lastAccessTs: number | null;
  safeFromQuarantine: boolean;
  /** Uploaded while `enable_authenticated_media` was on: the legacy unauthenticated paths do not serve it. */
  authenticated: boolean;
  /** The stored file's name; null while pending. */
  sha256: string | null;
}

/** The content of an upload, for `insert` (a new media ID) or `fill` (a pending one). */
export interface MediaContent {
  mediaType: string;
  mediaLength: number;
  uploadName: string | null;
  sha256: string;
  /** "system" when the bytes match quarantined media (Synapse's rule), else null. */
  quarantinedBy: string | null;
}

export interface LocalMediaStore {
  get(mediaId: string): Promise<LocalMedia | null>;
  /** Records an upload. */
  insert(
    media: { mediaId: string; userId: string; createdTs: number; authenticated: boolean } & MediaContent & {
        /** The URL a URL preview fetched this from (Synapse's `url_cache`); such media is purged by age. */
        urlCache?: string;
      },
  ): Promise<void>;
  /** Records an async upload's media ID, with no content yet. */
  insertPending(media: { mediaId: string; userId: string; createdTs: number; authenticated: boolean }): Promise<void>;
  /** Gives a pending media ID its content; false when it has content already (or is gone): only one upload wins. */
  fill(mediaId: string, content: MediaContent): Promise<boolean>;
  /** The user's pending uploads created after `createdAfter` (the unexpired ones) and the oldest one's creation. */
  countPending(userId: string, createdAfter: number): Promise<{ count: number; oldestCreatedTs: number | null }>;
  /** Bytes the user uploaded in media created after `since` (Synapse's `media_upload_limits`). */
  uploadedBytesSince(userId: string, since: number): Promise<number>;
  /** Whether any media (or thumbnail) row names the file `sha256`. */
  blobInUse(sha256: string): Promise<boolean>;
  /** Whether media with these bytes was quarantined (new uploads of them are quarantined too). */
  isHashQuarantined(sha256: string): Promise<boolean>;
  /** Sets `last_access_ts` of these media IDs. */
  markAccessed(mediaIds: string[], ts: number): Promise<void>;
  /** Quarantines (`by` an admin's user ID) or releases (`by` null); false when there is no such media. */
  setQuarantined(mediaId: string, by: string | null): Promise<boolean>;
  setSafeFromQuarantine(mediaId: string, safe: boolean): Promise<boolean>;
  /** Deletes the row (not its thumbnails' rows); returns the file it named, or undefined when there was no row. */
  delete(mediaId: string): Promise<{ sha256: string | null } | undefined>;
  /** Up to `limit` pending media IDs created before `createdBefore` (expired async uploads), oldest first. */
  expiredPending(createdBefore: number, limit: number): Promise<string[]>;
}

export interface MediaThumbnail {
  mediaId: string;
  width: number;
  height: number;
  /** The thumbnail's content type. */
  type: string;
  /** `crop` or `scale`. */
  method: string;
  length: number;
  sha256: string;
}

export interface MediaThumbnailsStore {
  /** Every stored thumbnail of the media, smallest first. */
  forMedia(mediaId: string): Promise<MediaThumbnail[]>;
  /** Stores a thumbnail; one already stored with the same key (another process made it first) is kept. */
  insert(thumbnail: MediaThumbnail): Promise<void>;
  /** Deletes the media's thumbnail rows; returns the files they named. */
  deleteForMedia(mediaId: string): Promise<string[]>;
}

type Row = Selectable<LocalMediaRepositoryTable>;

export function toMedia(r: Row): LocalMedia {
  return {
    mediaId: r.media_id,
    mediaType: r.media_type,
    mediaLength: r.media_length === null ? null : Number(r.media_length),
    createdTs: Number(r.created_ts),
    uploadName: r.upload_name,
    userId: r.user_id,
    quarantinedBy: r.quarantined_by,
    lastAccessTs: r.last_access_ts === null ? null : Number(r.last_access_ts),
    safeFromQuarantine: Number(r.safe_from_quarantine) === 1,
    authenticated: Number(r.authenticated) === 1,
    sha256: r.sha256,
  };
}

export function localMediaStore(db: Kysely<Database>): LocalMediaStore {
  return {
    async get(mediaId) {
      const row = await db
        .selectFrom("local_media_repository")
        .selectAll()
        .where("media_id", "=", mediaId)
        .executeTakeFirst();
      return row ? toMedia(row) : null;
    },
    async insert(m) {
      await db
        .insertInto("local_media_repository")
        .values({
          media_id: m.mediaId,
          user_id: m.userId,
          created_ts: m.createdTs,
          authenticated: m.authenticated ? 1 : 0,
          media_type: m.mediaType,
          media_length: m.mediaLength,
          upload_name: m.uploadName,
          sha256: m.sha256,
          quarantined_by: m.quarantinedBy,
          url_cache: m.urlCache ?? null,
        })
        .execute();
    },
    async insertPending(m) {
      await db
        .insertInto("local_media_repository")
        .values({
          media_id: m.mediaId,
          user_id: m.userId,
          created_ts: m.createdTs,
          authenticated: m.authenticated ? 1 : 0,
        })
        .execute();
    },
    async fill(mediaId, c) {
      const r = await db
        .updateTable("local_media_repository")
        .set({
          media_type: c.mediaType,
          media_length: c.mediaLength,
          upload_name: c.uploadName,
          sha256: c.sha256,
          quarantined_by: c.quarantinedBy,
        })
        .where("media_id", "=", mediaId)
        .where("media_length", "is", null)
        .executeTakeFirst();
      return Number(r.numUpdatedRows) > 0;
    },
    async countPending(userId, createdAfter) {
      const row = await db
        .selectFrom("local_media_repository")
        .select((eb) => [eb.fn.countAll<number>().as("n"), eb.fn.min<number | null>("created_ts").as("oldest")])
        .where("user_id", "=", userId)
        .where("media_length", "is", null)
        .where("created_ts", ">", createdAfter)
        .executeTakeFirstOrThrow();
      return { count: Number(row.n), oldestCreatedTs: row.oldest === null ? null : Number(row.oldest) };
    },
    async uploadedBytesSince(userId, since) {
      const row = await db
        .selectFrom("local_media_repository")
        .select((eb) => eb.fn.sum<number | string | null>("media_length").as("total"))
        .where("user_id", "=", userId)
        .where("created_ts", ">", since)
        .executeTakeFirstOrThrow();
      return Number(row.total ?? 0);
    },
    async blobInUse(sha256) {
      const media = await db
        .selectFrom("local_media_repository")
        .select("media_id")
        .where("sha256", "=", sha256)
        .limit(1)
        .executeTakeFirst();
      if (media) return true;
      const thumb = await db
        .selectFrom("local_media_repository_thumbnails")
        .select("media_id")
        .where("sha256", "=", sha256)
        .limit(1)
        .executeTakeFirst();
      return thumb !== undefined;
    },
    async isHashQuarantined(sha256) {
      const row = await db
        .selectFrom("local_media_repository")
        .select("media_id")
        .where("sha256", "=", sha256)
        .where("quarantined_by", "is not", null)
        .limit(1)
        .executeTakeFirst();
      return row !== undefined;
    },
    async markAccessed(mediaIds, ts) {
      if (mediaIds.length === 0) return;
      await db
        .updateTable("local_media_repository")
        .set({ last_access_ts: ts })
        .where("media_id", "in", mediaIds)
        .execute();
    },
    async setQuarantined(mediaId, by) {
      const r = await db
        .updateTable("local_media_repository")
        .set({ quarantined_by: by })
        .where("media_id", "=", mediaId)
        .executeTakeFirst();
      return Number(r.numUpdatedRows) > 0;
    },
    async setSafeFromQuarantine(mediaId, safe) {
      const r = await db
        .updateTable("local_media_repository")
        .set({ safe_from_quarantine: safe ? 1 : 0 })
        .where("media_id", "=", mediaId)
        .executeTakeFirst();
      return Number(r.numUpdatedRows) > 0;
    },
    async delete(mediaId) {
      const row = await db
        .deleteFrom("local_media_repository")
        .where("media_id", "=", mediaId)
        .returning("sha256")
        .executeTakeFirst();
      return row ? { sha256: row.sha256 } : undefined;
    },
    async expiredPending(createdBefore, limit) {
      const rows = await db
        .selectFrom("local_media_repository")
        .select("media_id")
        .where("media_length", "is", null)
        .where("created_ts", "<", createdBefore)
        .orderBy("created_ts")
        .limit(limit)
        .execute();
      return rows.map((r) => r.media_id);
    },
  };
}

export function mediaThumbnailsStore(db: Kysely<Database>): MediaThumbnailsStore {
  return {
    async forMedia(mediaId) {
      const rows = await db
        .selectFrom("local_media_repository_thumbnails")
        .selectAll()
        .where("media_id", "=", mediaId)
        .orderBy("thumbnail_width")
        .orderBy("thumbnail_height")
        .orderBy("thumbnail_method")
        .orderBy("thumbnail_type")
        .execute();
      return rows.map((r) => ({
        mediaId: r.media_id,
        width: r.thumbnail_width,
        height: r.thumbnail_height,
        type: r.thumbnail_type,
        method: r.thumbnail_method,
        length: Number(r.thumbnail_length),
        sha256: r.sha256,
      }));
    },
    async insert(t) {
      await db
        .insertInto("local_media_repository_thumbnails")
        .values({
          media_id: t.mediaId,
          thumbnail_width: t.width,
          thumbnail_height: t.height,
          thumbnail_type: t.type,
          thumbnail_method: t.method,
          thumbnail_length: t.length,
          sha256: t.sha256,
        })
        .onConflict((oc) =>
          oc
            .columns(["media_id", "thumbnail_width", "thumbnail_height", "thumbnail_type", "thumbnail_method"])
            .doNothing(),
        )
        .execute();
    },
    async deleteForMedia(mediaId) {
      const rows = await db
        .deleteFrom("local_media_repository_thumbnails")
        .where("media_id", "=", mediaId)
        .returning("sha256")
        .execute();
      return rows.map((r) => r.sha256);
    },
  };
}
