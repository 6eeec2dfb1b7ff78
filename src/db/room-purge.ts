/**
 * @module Removing every row a room has, for the admin API's purge: its events and their search index, state, memberships, transaction
 * IDs, aliases, room account data and the room itself. A table that gains rows per room must be added here, or a purged room would
 * leave them behind. Run it inside a transaction, so a purge lands whole or not at all.
 */
import type { Kysely } from "kysely";
import { eventSearchStore } from "./event-search.js";
import type { Database } from "./schema.js";

export interface RoomPurgeStore {
  /** Deletes the room's rows; returns how many events went. */
  purge(roomId: string): Promise<{ events: number }>;
}

export function roomPurgeStore(db: Kysely<Database>): RoomPurgeStore {
  return {
    async purge(roomId) {
      await db
        .deleteFrom("event_txns")
        .where("event_id", "in", (eb) => eb.selectFrom("events").select("event_id").where("room_id", "=", roomId))
        .execute();
      for (const table of [
        "room_state",
        "current_state",
        "room_memberships",
        "room_aliases",
        "room_account_data",
        "event_push_actions",
      ] as const) {
        await db.deleteFrom(table).where("room_id", "=", roomId).execute();
      }
      await eventSearchStore(db).removeRoom(roomId);
      const events = await db.deleteFrom("events").where("room_id", "=", roomId).executeTakeFirst();
      await db.deleteFrom("rooms").where("room_id", "=", roomId).execute();
      return { events: Number(events.numDeletedRows) };
    },
  };
}
