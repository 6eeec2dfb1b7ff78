/**
 * @module The `blocked_rooms` table: rooms only server admins may join, each with the admin who blocked it.
 */
import type { Kysely } from "kysely";
import type { Database } from "./schema.js";

export interface BlockedRoomsStore {
  /** The admin who blocked the room, or null when it is not blocked. */
  blockedBy(roomId: string): Promise<string | null>;
  /** Blocks the room; a room blocked already keeps its first blocker, as Synapse's does. False if it was. */
  block(roomId: string, userId: string, now: number): Promise<boolean>;
  /** False when the room was not blocked. */
  unblock(roomId: string): Promise<boolean>;
}

export function blockedRoomsStore(db: Kysely<Database>): BlockedRoomsStore {
  return {
    async blockedBy(roomId) {
      const row = await db
        .selectFrom("blocked_rooms")
        .select("user_id")
        .where("room_id", "=", roomId)
        .executeTakeFirst();
      return row?.user_id ?? null;
    },
    async block(roomId, userId, now) {
      const r = await db
        .insertInto("blocked_rooms")
        .values({ room_id: roomId, user_id: userId, blocked_ts: now })
        .onConflict((oc) => oc.column("room_id").doNothing())
        .executeTakeFirst();
      return Number(r.numInsertedOrUpdatedRows ?? 0) > 0;
    },
    async unblock(roomId) {
      const r = await db.deleteFrom("blocked_rooms").where("room_id", "=", roomId).executeTakeFirst();
      return Number(r.numDeletedRows) > 0;
    },
  };
}
