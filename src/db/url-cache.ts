/**
 * @module URL previews' cache (migration 0026, Synapse's `local_media_repository_url_cache`), and the media rows a
 * preview fetched (`local_media_repository.url_cache` set), which its purge deletes by age.
 */
import type { Kysely } from "kysely";
import type { Database } from "./schema.js";

export interface CachedPreview {
  url: string;
  responseCode: number;
  etag: string | null;
  expiresTs: number;
  /** The Open Graph JSON as answered. */
  og: string;
  mediaId: string;
  downloadTs: number;
}

export interface UrlCacheStore {
  /**
   * Synapse's `get_url_cache`: the newest preview of `url` made at or before `ts`, else the oldest made after it
   * (so an old `ts` still finds the first preview), else null.
   */
  get(url: string, ts: number): Promise<CachedPreview | null>;
  insert(preview: CachedPreview): Promise<void>;
  /** Deletes up to `limit` previews that expired before `now`; returns how many. */
  deleteExpired(now: number, limit: number): Promise<number>;
  /** Up to `limit` media IDs fetched by previews (`url_cache` set) and created before `createdBefore`. */
  fetchedMediaBefore(createdBefore: number, limit: number): Promise<string[]>;
}

type Row = {
  url: string;
  response_code: number;
  etag: string | null;
  expires_ts: number;
  og: string;
  media_id: string;
  download_ts: number;
};

function toPreview(r: Row): CachedPreview {
  return {
    url: r.url,
    responseCode: Number(r.response_code),
    etag: r.etag,
    expiresTs: Number(r.expires_ts),
    og: r.og,
    mediaId: r.media_id,
    downloadTs: Number(r.download_ts),
  };
}

export function urlCacheStore(db: Kysely<Database>): UrlCacheStore {
  const table = "local_media_repository_url_cache" as const;
  return {
    async get(url, ts) {
      const before = await db
        .selectFrom(table)
        .selectAll()
        .where("url", "=", url)
        .where("download_ts", "<=", ts)
        .orderBy("download_ts", "desc")
        .limit(1)
        .executeTakeFirst();
      if (before) return toPreview(before);
      const after = await db
        .selectFrom(table)
        .selectAll()
        .where("url", "=", url)
        .where("download_ts", ">", ts)
        .orderBy("download_ts", "asc")
        .limit(1)
        .executeTakeFirst();
      return after ? toPreview(after) : null;
    },
    async insert(p) {
      await db
        .insertInto(table)
        .values({
          url: p.url,
          response_code: p.responseCode,
          etag: p.etag,
          expires_ts: p.expiresTs,
          og: p.og,
          media_id: p.mediaId,
          download_ts: p.downloadTs,
        })
        .execute();
    },
    async deleteExpired(now, limit) {
      // Neither database deletes with a LIMIT the same way: the batch is chosen first, then deleted by its key.
      const rows = await db
        .selectFrom(table)
        .select(["url", "download_ts"])
        .where("expires_ts", "<", now)
        .orderBy("expires_ts")
        .limit(limit)
        .execute();
      let n = 0;
      for (const r of rows) {
        const res = await db
          .deleteFrom(table)
          .where("url", "=", r.url)
          .where("download_ts", "=", r.download_ts)
          .where("expires_ts", "<", now)
          .executeTakeFirst();
        n += Number(res.numDeletedRows);
      }
      return n;
    },
    async fetchedMediaBefore(createdBefore, limit) {
      const rows = await db
        .selectFrom("local_media_repository")
        .select("media_id")
        .where("url_cache", "is not", null)
        .where("created_ts", "<", createdBefore)
        .orderBy("created_ts")
        .limit(limit)
        .execute();
      return rows.map((r) => r.media_id);
    },
  };
}
