/**
 * @module What the room admin API lists about rooms, read across `rooms`, `current_state`, `events` and
 * `room_memberships` in a fixed number of statements however many rooms there are: each room's version, creator and
 * directory flag, the content of the state events its summary shows, its count of current state events and its
 * joined members (all, and those whose ID ends in this server's name).
 */
import { sql, type Kysely } from "kysely";
import type { Database } from "./schema.js";

/** The state events (all with state key "") a room summary reads. */
export const SUMMARY_STATE_TYPES = [
  "m.room.create",
  "m.room.name",
  "m.room.topic",
  "m.room.avatar",
  "m.room.canonical_alias",
  "m.room.encryption",
  "m.room.join_rules",
  "m.room.guest_access",
  "m.room.history_visibility",
] as const;

export interface RoomStats {
  roomId: string;
  roomVersion: string;
  creator: string;
  isPublic: boolean;
  /** Content of each summary state event the room has, by type. */
  state: Map<string, Record<string, unknown>>;
  stateEvents: number;
  joinedMembers: number;
  joinedLocalMembers: number;
}

export interface RoomStatsStore {
  /** Every room's stats, or those of `roomIds`; `serverName` decides which members are local. */
  summaries(serverName: string, roomIds?: readonly string[]): Promise<RoomStats[]>;
  /** How many devices the room's joined local users have (`joined_local_devices`). */
  joinedLocalDevices(roomId: string, serverName: string): Promise<number>;
}

export function roomStatsStore(db: Kysely<Database>): RoomStatsStore {
  const isLocal = (serverName: string) => {
    const suffix = `:${serverName}`;
    return sql<boolean>`substr(user_id, length(user_id) - ${suffix.length - 1}) = ${suffix}`;
  };
  return {
    async summaries(serverName, roomIds) {
      if (roomIds?.length === 0) return [];
      let rooms = db.selectFrom("rooms").selectAll();
      if (roomIds) rooms = rooms.where("room_id", "in", [...roomIds]);
      const roomRows = await rooms.execute();
      if (roomRows.length === 0) return [];

      let stateQuery = db
        .selectFrom("current_state as cs")
        .innerJoin("events as e", "e.event_id", "cs.event_id")
        .select(["cs.room_id", "cs.type", "e.json"])
        .where("cs.state_key", "=", "")
        .where("cs.type", "in", [...SUMMARY_STATE_TYPES]);
      if (roomIds) stateQuery = stateQuery.where("cs.room_id", "in", [...roomIds]);

      let countQuery = db
        .selectFrom("current_state")
        .select(["room_id", (eb) => eb.fn.countAll<number>().as("n")])
        .groupBy("room_id");
      if (roomIds) countQuery = countQuery.where("room_id", "in", [...roomIds]);

      let memberQuery = db
        .selectFrom("room_memberships")
        .select([
          "room_id",
          (eb) => eb.fn.countAll<number>().as("n"),
          sql<number>`sum(case when ${isLocal(serverName)} then 1 else 0 end)`.as("local"),
        ])
        .where("membership", "=", "join")
        .groupBy("room_id");
      if (roomIds) memberQuery = memberQuery.where("room_id", "in", [...roomIds]);

      const [stateRows, countRows, memberRows] = await Promise.all([
        stateQuery.execute(),
        countQuery.execute(),
        memberQuery.execute(),
      ]);
      const state = new Map<string, Map<string, Record<string, unknown>>>();
      for (const r of stateRows) {
        const pdu = JSON.parse(r.json) as { content?: Record<string, unknown> };
        let m = state.get(r.room_id);
        if (!m) state.set(r.room_id, (m = new Map<string, Record<string, unknown>>()));
        m.set(r.type, pdu.content ?? {});
      }
      const counts = new Map(countRows.map((r) => [r.room_id, Number(r.n)]));
      const members = new Map(memberRows.map((r) => [r.room_id, { all: Number(r.n), local: Number(r.local) }]));
      return roomRows.map((r) => ({
        roomId: r.room_id,
        roomVersion: r.room_version,
        creator: r.creator,
        isPublic: Number(r.is_public) === 1,
        state: state.get(r.room_id) ?? new Map<string, Record<string, unknown>>(),
        stateEvents: counts.get(r.room_id) ?? 0,
        joinedMembers: members.get(r.room_id)?.all ?? 0,
        joinedLocalMembers: members.get(r.room_id)?.local ?? 0,
      }));
    },
    async joinedLocalDevices(roomId, serverName) {
      const row = await db
        .selectFrom("devices")
        .select((eb) => eb.fn.countAll<number>().as("n"))
        .where("user_id", "in", (eb) =>
          eb
            .selectFrom("room_memberships")
            .select("user_id")
            .where("room_id", "=", roomId)
            .where("membership", "=", "join")
            .where(isLocal(serverName)),
        )
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },
  };
}
