/**
 * @module The `room_account_data` table: a user's account data about one room, by type, each stamped with the
 * stream position of its last write.
 */
import type { Kysely } from "kysely";
import type { Database } from "./schema.js";

export interface RoomAccountDataEntry {
  roomId: string;
  type: string;
  content: Record<string, unknown>;
  streamId: number;
}

export interface RoomAccountDataStore {
  put(userId: string, roomId: string, type: string, content: Record<string, unknown>, streamId: number): Promise<void>;
  get(userId: string, roomId: string, type: string): Promise<Record<string, unknown> | null>;
  /** Everything the user stored about these rooms. */
  forRooms(userId: string, roomIds: readonly string[]): Promise<RoomAccountDataEntry[]>;
  /** Entries written at a position in (`after`, `upTo`], oldest first, any room. */
  changedBetween(userId: string, after: number, upTo: number): Promise<RoomAccountDataEntry[]>;
  /** Every entry of the user, for the admin API. */
  listForUser(userId: string): Promise<RoomAccountDataEntry[]>;
}

export function roomAccountDataStore(db: Kysely<Database>): RoomAccountDataStore {
  const select = () => db.selectFrom("room_account_data").select(["room_id", "type", "content", "stream_id"]);
  return {
    async put(userId, roomId, type, content, streamId) {
      const json = JSON.stringify(content);
      await db
        .insertInto("room_account_data")
        .values({ user_id: userId, room_id: roomId, type, content: json, stream_id: streamId })
        .onConflict((oc) =>
          oc.columns(["user_id", "room_id", "type"]).doUpdateSet({ content: json, stream_id: streamId }),
        )
        .execute();
    },
    async get(userId, roomId, type) {
      const row = await db
        .selectFrom("room_account_data")
        .select("content")
        .where("user_id", "=", userId)
        .where("room_id", "=", roomId)
        .where("type", "=", type)
        .executeTakeFirst();
      return row ? (JSON.parse(row.content) as Record<string, unknown>) : null;
    },
    async forRooms(userId, roomIds) {
      if (roomIds.length === 0) return [];
      const rows = await select()
        .where("user_id", "=", userId)
        .where("room_id", "in", [...roomIds])
        .orderBy("stream_id")
        .execute();
      return rows.map(toEntry);
    },
    async changedBetween(userId, after, upTo) {
      const rows = await select()
        .where("user_id", "=", userId)
        .where("stream_id", ">", after)
        .where("stream_id", "<=", upTo)
        .orderBy("stream_id")
        .execute();
      return rows.map(toEntry);
    },
    async listForUser(userId) {
      const rows = await select().where("user_id", "=", userId).orderBy("stream_id").execute();
      return rows.map(toEntry);
    },
  };
}

function toEntry(row: { room_id: string; type: string; content: string; stream_id: number }): RoomAccountDataEntry {
  return {
    roomId: row.room_id,
    type: row.type,
    content: JSON.parse(row.content) as Record<string, unknown>,
    streamId: Number(row.stream_id),
  };
}
