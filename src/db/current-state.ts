/**
 * @module The `current_state` table: each room's state now, one event per (type, state key).
 */
import type { Kysely } from "kysely";
import type { StateEntry } from "./room-state.js";
import type { Database } from "./schema.js";

export interface CurrentStateStore {
  put(roomId: string, entry: StateEntry): Promise<void>;
  /** The current entries for `keys` (absent keys are left out). */
  get(roomId: string, keys: readonly (readonly [string, string])[]): Promise<StateEntry[]>;
  all(roomId: string): Promise<StateEntry[]>;
  /** The whole current state of each of `roomIds`. */
  allForRooms(roomIds: readonly string[]): Promise<Map<string, StateEntry[]>>;
  /** The current entries for `keys` in each of `roomIds`: one indexed query for many rooms. */
  getForRooms(
    roomIds: readonly string[],
    keys: readonly (readonly [string, string])[],
  ): Promise<(StateEntry & { roomId: string })[]>;
  ofType(roomId: string, type: string): Promise<StateEntry[]>;
}

const COLUMNS = ["type", "state_key", "event_id", "stream_ordering"] as const;

export function currentStateStore(db: Kysely<Database>): CurrentStateStore {
  return {
    async put(roomId, e) {
      await db
        .insertInto("current_state")
        .values({
          room_id: roomId,
          type: e.type,
          state_key: e.stateKey,
          event_id: e.eventId,
          stream_ordering: e.streamOrdering,
        })
        .onConflict((oc) =>
          oc
            .columns(["room_id", "type", "state_key"])
            .doUpdateSet({ event_id: e.eventId, stream_ordering: e.streamOrdering }),
        )
        .execute();
    },
    async get(roomId, keys) {
      if (keys.length === 0) return [];
      const rows = await db
        .selectFrom("current_state")
        .select(COLUMNS)
        .where("room_id", "=", roomId)
        .where((eb) => eb.or(keys.map(([t, k]) => eb.and([eb("type", "=", t), eb("state_key", "=", k)]))))
        .execute();
      return rows.map(toEntry);
    },
    async allForRooms(roomIds) {
      const out = new Map<string, StateEntry[]>(roomIds.map((id) => [id, []]));
      for (const chunk of chunks(roomIds, 500)) {
        const rows = await db
          .selectFrom("current_state")
          .select([...COLUMNS, "room_id"])
          .where("room_id", "in", chunk)
          .execute();
        for (const r of rows) out.get(r.room_id)?.push(toEntry(r));
      }
      return out;
    },
    async getForRooms(roomIds, keys) {
      if (roomIds.length === 0 || keys.length === 0) return [];
      const out: (StateEntry & { roomId: string })[] = [];
      for (const chunk of chunks(roomIds, 500)) {
        const rows = await db
          .selectFrom("current_state")
          .select([...COLUMNS, "room_id"])
          .where("room_id", "in", chunk)
          .where((eb) => eb.or(keys.map(([t, k]) => eb.and([eb("type", "=", t), eb("state_key", "=", k)]))))
          .execute();
        for (const r of rows) out.push({ ...toEntry(r), roomId: r.room_id });
      }
      return out;
    },
    async all(roomId) {
      const rows = await db
        .selectFrom("current_state")
        .select(COLUMNS)
        .where("room_id", "=", roomId)
        .orderBy("stream_ordering")
        .execute();
      return rows.map(toEntry);
    },
    async ofType(roomId, type) {
      const rows = await db
        .selectFrom("current_state")
        .select(COLUMNS)
        .where("room_id", "=", roomId)
        .where("type", "=", type)
        .orderBy("stream_ordering")
        .execute();
      return rows.map(toEntry);
    },
  };
}

function toEntry(r: { type: string; state_key: string; event_id: string; stream_ordering: number }): StateEntry {
  return { type: r.type, stateKey: r.state_key, eventId: r.event_id, streamOrdering: Number(r.stream_ordering) };
}

/** Splits a list for `IN (...)`, whose bound parameters SQLite limits. */
export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
