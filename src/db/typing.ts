/**
 * @module The `typing` table: who types in which room until when, each row stamped with the stream position of its
 * last change. A row whose `expires_at` has passed is not typing, whether or not the sweeper has stamped it yet.
 */
import type { Kysely } from "kysely";
import type { Database } from "./schema.js";

export interface TypingEntry {
  roomId: string;
  userId: string;
  /** 0: stopped. */
  expiresAt: number;
  streamId: number;
}

export interface TypingStore {
  set(roomId: string, userId: string, expiresAt: number, streamId: number): Promise<void>;
  get(roomId: string, userId: string): Promise<TypingEntry | null>;
  /** The users typing at `now` in each of `roomIds` (rooms with nobody typing are absent). */
  typersIn(roomIds: readonly string[], now: number): Promise<Map<string, string[]>>;
  /** The rooms `userId` is joined to whose typing changed at a position in (`after`, `upTo`]. */
  joinedRoomsChangedBetween(userId: string, after: number, upTo: number): Promise<string[]>;
  /** Entries still marked typing whose time has run out by `now`, at most `limit`. */
  expired(now: number, limit: number): Promise<TypingEntry[]>;
  /**
   * Marks the entry stopped at `streamId` if it is still the expired one that `expired` returned (same
   * `expiresAt`); false when someone else (another process's sweep, a new PUT) changed it first.
   */
  stopExpired(roomId: string, userId: string, expiresAt: number, streamId: number): Promise<boolean>;
}

export function typingStore(db: Kysely<Database>): TypingStore {
  return {
    async set(roomId, userId, expiresAt, streamId) {
      await db
        .insertInto("typing")
        .values({ room_id: roomId, user_id: userId, expires_at: expiresAt, stream_id: streamId })
        .onConflict((oc) =>
          oc.columns(["room_id", "user_id"]).doUpdateSet({ expires_at: expiresAt, stream_id: streamId }),
        )
        .execute();
    },
    async get(roomId, userId) {
      const row = await db
        .selectFrom("typing")
        .selectAll()
        .where("room_id", "=", roomId)
        .where("user_id", "=", userId)
        .executeTakeFirst();
      return row ? toEntry(row) : null;
    },
    async typersIn(roomIds, now) {
      const out = new Map<string, string[]>();
      if (roomIds.length === 0) return out;
      const rows = await db
        .selectFrom("typing")
        .select(["room_id", "user_id"])
        .where("room_id", "in", [...roomIds])
        .where("expires_at", ">", now)
        .orderBy("user_id")
        .execute();
      for (const r of rows) out.set(r.room_id, [...(out.get(r.room_id) ?? []), r.user_id]);
      return out;
    },
    async joinedRoomsChangedBetween(userId, after, upTo) {
      const rows = await db
        .selectFrom("typing as t")
        .innerJoin("room_memberships as m", (j) =>
          j.onRef("m.room_id", "=", "t.room_id").on("m.user_id", "=", userId).on("m.membership", "=", "join"),
        )
        .select("t.room_id")
        .distinct()
        .where("t.stream_id", ">", after)
        .where("t.stream_id", "<=", upTo)
        .execute();
      return rows.map((r) => r.room_id);
    },
    async expired(now, limit) {
      const rows = await db
        .selectFrom("typing")
        .selectAll()
        .where("expires_at", ">", 0)
        .where("expires_at", "<=", now)
        .orderBy("expires_at")
        .limit(limit)
        .execute();
      return rows.map(toEntry);
    },
    async stopExpired(roomId, userId, expiresAt, streamId) {
      const r = await db
        .updateTable("typing")
        .set({ expires_at: 0, stream_id: streamId })
        .where("room_id", "=", roomId)
        .where("user_id", "=", userId)
        .where("expires_at", "=", expiresAt)
        .executeTakeFirst();
      return Number(r.numUpdatedRows) > 0;
    },
  };
}

function toEntry(row: { room_id: string; user_id: string; expires_at: number; stream_id: number }): TypingEntry {
  return {
    roomId: row.room_id,
    userId: row.user_id,
    expiresAt: Number(row.expires_at),
    streamId: Number(row.stream_id),
  };
}
