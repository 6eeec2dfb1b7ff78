/**
 * @module The `room_state` table: every state event of every room by (type, state key) and position, so the state
 * of a room at any position can be read: per key, the latest row at or before it.
 */
import type { Kysely } from "kysely";
import { chunks } from "./current-state.js";
import type { Database } from "./schema.js";

export interface StateEntry {
  type: string;
  stateKey: string;
  eventId: string;
  streamOrdering: number;
}

export interface RoomStateStore {
  insert(roomId: string, entry: StateEntry): Promise<void>;
  /** The room's state at `position` (after the event there, if any), one entry per key. */
  at(roomId: string, position: number): Promise<StateEntry[]>;
  /** The entries for `keys` at `position`. */
  keysAt(roomId: string, keys: readonly (readonly [string, string])[], position: number): Promise<StateEntry[]>;
  /** State events of the room in (`after`, `upTo`], oldest first. */
  between(roomId: string, after: number, upTo: number): Promise<StateEntry[]>;
  /** Every event ever stored under one key, oldest first (a user's membership history, the visibility's). */
  history(roomId: string, type: string, stateKey: string): Promise<StateEntry[]>;
  /** `history` of one key in each of `roomIds`, in one read. */
  historyInRooms(roomIds: readonly string[], type: string, stateKey: string): Promise<Map<string, StateEntry[]>>;
  /** `userId`'s membership events in any room in (`after`, `upTo`], oldest first. */
  membershipsOfUserBetween(userId: string, after: number, upTo: number): Promise<(StateEntry & { roomId: string })[]>;
}

export function roomStateStore(db: Kysely<Database>): RoomStateStore {
  const latestPerKey = (roomId: string, position: number) =>
    db
      .selectFrom("room_state as s")
      .select(["s.type", "s.state_key", "s.event_id", "s.stream_ordering"])
      .where("s.room_id", "=", roomId)
      .where("s.stream_ordering", "=", (eb) =>
        eb
          .selectFrom("room_state as t")
          .select((e) => e.fn.max("t.stream_ordering").as("m"))
          .whereRef("t.room_id", "=", "s.room_id")
          .whereRef("t.type", "=", "s.type")
          .whereRef("t.state_key", "=", "s.state_key")
          .where("t.stream_ordering", "<=", position),
      );
  return {
    async insert(roomId, e) {
      await db
        .insertInto("room_state")
        .values({
          room_id: roomId,
          type: e.type,
          state_key: e.stateKey,
          stream_ordering: e.streamOrdering,
          event_id: e.eventId,
        })
        .execute();
    },
    async at(roomId, position) {
      return (await latestPerKey(roomId, position).execute()).map(toEntry);
    },
    async keysAt(roomId, keys, position) {
      if (keys.length === 0) return [];
      const rows = await latestPerKey(roomId, position)
        .where((eb) => eb.or(keys.map(([t, k]) => eb.and([eb("s.type", "=", t), eb("s.state_key", "=", k)]))))
        .execute();
      return rows.map(toEntry);
    },
    async between(roomId, after, upTo) {
      const rows = await db
        .selectFrom("room_state")
        .select(["type", "state_key", "event_id", "stream_ordering"])
        .where("room_id", "=", roomId)
        .where("stream_ordering", ">", after)
        .where("stream_ordering", "<=", upTo)
        .orderBy("stream_ordering")
        .execute();
      return rows.map(toEntry);
    },
    async history(roomId, type, stateKey) {
      const rows = await db
        .selectFrom("room_state")
        .select(["type", "state_key", "event_id", "stream_ordering"])
        .where("room_id", "=", roomId)
        .where("type", "=", type)
        .where("state_key", "=", stateKey)
        .orderBy("stream_ordering")
        .execute();
      return rows.map(toEntry);
    },
    async historyInRooms(roomIds, type, stateKey) {
      const out = new Map<string, StateEntry[]>(roomIds.map((id) => [id, []]));
      for (const chunk of chunks(roomIds, 500)) {
        const rows = await db
          .selectFrom("room_state")
          .select(["room_id", "type", "state_key", "event_id", "stream_ordering"])
          .where("room_id", "in", chunk)
          .where("type", "=", type)
          .where("state_key", "=", stateKey)
          .orderBy("stream_ordering")
          .execute();
        for (const row of rows) out.get(row.room_id)?.push(toEntry(row));
      }
      return out;
    },
    async membershipsOfUserBetween(userId, after, upTo) {
      const rows = await db
        .selectFrom("room_state")
        .select(["room_id", "type", "state_key", "event_id", "stream_ordering"])
        .where("type", "=", "m.room.member")
        .where("state_key", "=", userId)
        .where("stream_ordering", ">", after)
        .where("stream_ordering", "<=", upTo)
        .orderBy("stream_ordering")
        .execute();
      return rows.map((r) => ({ ...toEntry(r), roomId: r.room_id }));
    },
  };
}

function toEntry(r: { type: string; state_key: string; event_id: string; stream_ordering: number }): StateEntry {
  return { type: r.type, stateKey: r.state_key, eventId: r.event_id, streamOrdering: Number(r.stream_ordering) };
}
