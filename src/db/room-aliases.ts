/**
 * @module The `room_aliases` table: this server's aliases (`#name:server`), each naming one room.
 */
import type { Kysely } from "kysely";
import type { Database } from "./schema.js";

export interface RoomAlias {
  alias: string;
  roomId: string;
  creator: string;
}

export interface RoomAliasesStore {
  /** False when the alias is taken. */
  insert(alias: RoomAlias, now: number): Promise<boolean>;
  get(alias: string): Promise<RoomAlias | null>;
  forRoom(roomId: string): Promise<RoomAlias[]>;
  delete(alias: string): Promise<boolean>;
}

export function roomAliasesStore(db: Kysely<Database>): RoomAliasesStore {
  return {
    async insert(a, now) {
      const r = await db
        .insertInto("room_aliases")
        .values({ alias: a.alias, room_id: a.roomId, creator: a.creator, created_ts: now })
        .onConflict((oc) => oc.column("alias").doNothing())
        .executeTakeFirst();
      return Number(r.numInsertedOrUpdatedRows ?? 0) > 0;
    },
    async get(alias) {
      const row = await db.selectFrom("room_aliases").selectAll().where("alias", "=", alias).executeTakeFirst();
      return row ? { alias: row.alias, roomId: row.room_id, creator: row.creator } : null;
    },
    async forRoom(roomId) {
      const rows = await db
        .selectFrom("room_aliases")
        .selectAll()
        .where("room_id", "=", roomId)
        .orderBy("created_ts")
        .execute();
      return rows.map((row) => ({ alias: row.alias, roomId: row.room_id, creator: row.creator }));
    },
    async delete(alias) {
      const r = await db.deleteFrom("room_aliases").where("alias", "=", alias).executeTakeFirst();
      return Number(r.numDeletedRows) > 0;
    },
  };
}
