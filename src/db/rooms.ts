/**
 * @module The `rooms` table: each room's version, creator and whether the public room directory lists it.
 */
import type { Kysely } from "kysely";
import { chunks } from "./current-state.js";
import type { Database } from "./schema.js";

export interface RoomRecord {
  roomId: string;
  roomVersion: string;
  creator: string;
  createdTs: number;
  isPublic: boolean;
}

export interface RoomsStore {
  insert(room: Omit<RoomRecord, "isPublic"> & { isPublic?: boolean }): Promise<void>;
  get(roomId: string): Promise<RoomRecord | null>;
  /** The records of those of `roomIds` that exist. */
  getMany(roomIds: readonly string[]): Promise<RoomRecord[]>;
  setPublic(roomId: string, isPublic: boolean): Promise<void>;
  /** The rooms listed in the public room directory. */
  publicRoomIds(): Promise<string[]>;
}

type Row = { room_id: string; room_version: string; creator: string; created_ts: number; is_public: number };

export function roomsStore(db: Kysely<Database>): RoomsStore {
  return {
    async insert(room) {
      await db
        .insertInto("rooms")
        .values({
          room_id: room.roomId,
          room_version: room.roomVersion,
          creator: room.creator,
          created_ts: room.createdTs,
          is_public: room.isPublic ? 1 : 0,
        })
        .execute();
    },
    async get(roomId) {
      const row = await db.selectFrom("rooms").selectAll().where("room_id", "=", roomId).executeTakeFirst();
      return row ? toRecord(row) : null;
    },
    async getMany(roomIds) {
      const out: RoomRecord[] = [];
      for (const chunk of chunks(roomIds, 500)) {
        const rows = await db.selectFrom("rooms").selectAll().where("room_id", "in", chunk).execute();
        out.push(...rows.map(toRecord));
      }
      return out;
    },
    async setPublic(roomId, isPublic) {
      await db
        .updateTable("rooms")
        .set({ is_public: isPublic ? 1 : 0 })
        .where("room_id", "=", roomId)
        .execute();
    },
    async publicRoomIds() {
      const rows = await db.selectFrom("rooms").select("room_id").where("is_public", "=", 1).execute();
      return rows.map((r) => r.room_id);
    },
  };
}

function toRecord(row: Row): RoomRecord {
  return {
    roomId: row.room_id,
    roomVersion: row.room_version,
    creator: row.creator,
    createdTs: Number(row.created_ts),
    isPublic: Number(row.is_public) === 1,
  };
}
