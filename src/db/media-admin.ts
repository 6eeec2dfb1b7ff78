/**
 * @module The admin's queries over `local_media_repository` (migration 0021): a user's media page by page, bulk
 * quarantine, the candidates of a delete by age, and the rows the media jobs purge. Single-row reads and writes
 * are in src/db/media.ts.
 */
import { sql, type Kysely } from "kysely";
import { toMedia, type LocalMedia } from "./media.js";
import type { Database } from "./schema.js";
import type { MediaOrderColumn } from "./media-order-columns.js";

export interface UserMediaPage {
  from: number;
  limit: number;
  orderBy: MediaOrderColumn;
  dir: "f" | "b";
}

export interface OldMediaQuery {
  /** Media created and last accessed before this (ms). */
  beforeTs: number;
  /** Only media larger than this many bytes. */
  sizeGt: number;
  /** Leave media that is a user's avatar (`mxc://<avatarPrefix><media_id>`). */
  keepProfiles: boolean;
  /** `mxc://<server_name>/`: what a local avatar URL starts with. */
  mxcPrefix: string;
}

export interface MediaAdminStore {
  /** One page of the user's media and how many there are in all. */
  listForUser(userId: string, page: UserMediaPage): Promise<{ media: LocalMedia[]; total: number }>;
  /** Every media ID the user uploaded (their pending uploads too), up to `limit`. */
  idsForUser(userId: string, limit: number): Promise<string[]>;
  /** Quarantines (`by`) those of `mediaIds` that are not protected, or releases them (`by` null); rows changed. */
  setQuarantinedMany(mediaIds: readonly string[], by: string | null): Promise<number>;
  /** Quarantines every unprotected media item of the user; rows changed. */
  quarantineForUser(userId: string, by: string): Promise<number>;
  /** Up to `limit` IDs of media a delete by age takes: neither quarantined nor protected, as Synapse's. */
  oldMedia(query: OldMediaQuery, limit: number): Promise<string[]>;
  /** Deletes those of `mediaIds` still waiting for their content (an upload that filled one meanwhile stays). */
  deleteIfPending(mediaIds: readonly string[]): Promise<number>;
  /** Up to `limit` IDs of media uploaded by users whose account was erased. */
  ofErasedUsers(limit: number): Promise<string[]>;
  /** The JSON of the room's events that mention an `mxc://` URI, oldest first (the admin's room media list). */
  eventJsonWithMxc(roomId: string): Promise<string[]>;
}

export function mediaAdminStore(db: Kysely<Database>): MediaAdminStore {
  return {
    async listForUser(userId, page) {
      const rows = await db
        .selectFrom("local_media_repository")
        .selectAll()
        .where("user_id", "=", userId)
        .orderBy(page.orderBy, page.dir === "f" ? "asc" : "desc")
        // Synapse's tie-breaker, so pages never overlap.
        .orderBy("media_id", "asc")
        .limit(page.limit)
        .offset(page.from)
        .execute();
      const count = await db
        .selectFrom("local_media_repository")
        .select((eb) => eb.fn.countAll<number>().as("n"))
        .where("user_id", "=", userId)
        .executeTakeFirstOrThrow();
      return { media: rows.map(toMedia), total: Number(count.n) };
    },
    async idsForUser(userId, limit) {
      const rows = await db
        .selectFrom("local_media_repository")
        .select("media_id")
        .where("user_id", "=", userId)
        .orderBy("media_id")
        .limit(limit)
        .execute();
      return rows.map((r) => r.media_id);
    },
    async setQuarantinedMany(mediaIds, by) {
      if (mediaIds.length === 0) return 0;
      let q = db
        .updateTable("local_media_repository")
        .set({ quarantined_by: by })
        .where("media_id", "in", [...mediaIds]);
      if (by !== null) q = q.where("safe_from_quarantine", "=", 0);
      return Number((await q.executeTakeFirst()).numUpdatedRows);
    },
    async quarantineForUser(userId, by) {
      const r = await db
        .updateTable("local_media_repository")
        .set({ quarantined_by: by })
        .where("user_id", "=", userId)
        .where("safe_from_quarantine", "=", 0)
        .executeTakeFirst();
      return Number(r.numUpdatedRows);
    },
    async oldMedia(q, limit) {
      let query = db
        .selectFrom("local_media_repository as lmr")
        .select("lmr.media_id")
        .where("lmr.created_ts", "<", q.beforeTs)
        // Never accessed counts as accessed when it was made.
        .where((eb) => eb(eb.fn.coalesce("lmr.last_access_ts", "lmr.created_ts"), "<", q.beforeTs))
        .where("lmr.media_length", ">", q.sizeGt)
        .where("lmr.quarantined_by", "is", null)
        .where("lmr.safe_from_quarantine", "=", 0);
      if (q.keepProfiles) {
        query = query.where((eb) =>
          eb.not(
            eb.exists(
              eb
                .selectFrom("users")
                .select("users.name")
                .where("users.avatar_url", "=", sql<string>`${q.mxcPrefix} || lmr.media_id`),
            ),
          ),
        );
      }
      const rows = await query.orderBy("lmr.created_ts").orderBy("lmr.media_id").limit(limit).execute();
      return rows.map((r) => r.media_id);
    },
    async deleteIfPending(mediaIds) {
      if (mediaIds.length === 0) return 0;
      const r = await db
        .deleteFrom("local_media_repository")
        .where("media_id", "in", [...mediaIds])
        .where("media_length", "is", null)
        .executeTakeFirst();
      return Number(r.numDeletedRows);
    },
    async ofErasedUsers(limit) {
      const rows = await db
        .selectFrom("local_media_repository as lmr")
        .innerJoin("users", "users.name", "lmr.user_id")
        .select("lmr.media_id")
        .where("users.erased", "=", 1)
        .orderBy("lmr.media_id")
        .limit(limit)
        .execute();
      return rows.map((r) => r.media_id);
    },
    async eventJsonWithMxc(roomId) {
      const rows = await db
        .selectFrom("events")
        .select("json")
        .where("room_id", "=", roomId)
        .where("json", "like", "%mxc://%")
        .orderBy("stream_ordering")
        .execute();
      return rows.map((r) => r.json);
    },
  };
}
