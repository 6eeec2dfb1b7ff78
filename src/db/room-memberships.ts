/**
 * @module The `room_memberships` table: each user's current membership of each room they have one in, indexed by
 * user for "my rooms" and by room for "who is here".
 */
import type { Kysely } from "kysely";
import type { Database } from "./schema.js";

export type Membership = "join" | "invite" | "leave" | "ban" | "knock";

export interface MembershipRecord {
  roomId: string;
  userId: string;
  membership: Membership;
  eventId: string;
  streamOrdering: number;
  forgotten: boolean;
}

export interface RoomMembershipsStore {
  /** Records a new membership event; a new membership is never forgotten. */
  put(roomId: string, userId: string, membership: Membership, eventId: string, streamOrdering: number): Promise<void>;
  get(roomId: string, userId: string): Promise<MembershipRecord | null>;
  roomsOfUser(userId: string, memberships: readonly Membership[]): Promise<MembershipRecord[]>;
  members(roomId: string, memberships: readonly Membership[]): Promise<MembershipRecord[]>;
  count(roomId: string, membership: Membership): Promise<number>;
  setForgotten(roomId: string, userId: string): Promise<void>;
}

export function roomMembershipsStore(db: Kysely<Database>): RoomMembershipsStore {
  return {
    async put(roomId, userId, membership, eventId, streamOrdering) {
      await db
        .insertInto("room_memberships")
        .values({ room_id: roomId, user_id: userId, membership, event_id: eventId, stream_ordering: streamOrdering })
        .onConflict((oc) =>
          oc
            .columns(["room_id", "user_id"])
            .doUpdateSet({ membership, event_id: eventId, stream_ordering: streamOrdering, forgotten: 0 }),
        )
        .execute();
    },
    async get(roomId, userId) {
      const row = await db
        .selectFrom("room_memberships")
        .selectAll()
        .where("room_id", "=", roomId)
        .where("user_id", "=", userId)
        .executeTakeFirst();
      return row ? toRecord(row) : null;
    },
    async roomsOfUser(userId, memberships) {
      if (memberships.length === 0) return [];
      const rows = await db
        .selectFrom("room_memberships")
        .selectAll()
        .where("user_id", "=", userId)
        .where("membership", "in", [...memberships])
        .orderBy("stream_ordering")
        .execute();
      return rows.map(toRecord);
    },
    async members(roomId, memberships) {
      if (memberships.length === 0) return [];
      const rows = await db
        .selectFrom("room_memberships")
        .selectAll()
        .where("room_id", "=", roomId)
        .where("membership", "in", [...memberships])
        .orderBy("stream_ordering")
        .execute();
      return rows.map(toRecord);
    },
    async count(roomId, membership) {
      const row = await db
        .selectFrom("room_memberships")
        .select((eb) => eb.fn.countAll<number>().as("n"))
        .where("room_id", "=", roomId)
        .where("membership", "=", membership)
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },
    async setForgotten(roomId, userId) {
      await db
        .updateTable("room_memberships")
        .set({ forgotten: 1 })
        .where("room_id", "=", roomId)
        .where("user_id", "=", userId)
        .execute();
    },
  };
}

function toRecord(r: {
  room_id: string;
  user_id: string;
  membership: string;
  event_id: string;
  stream_ordering: number;
  forgotten: number;
}): MembershipRecord {
  return {
    roomId: r.room_id,
    userId: r.user_id,
    membership: r.membership as Membership,
    eventId: r.event_id,
    streamOrdering: Number(r.stream_ordering),
    forgotten: Number(r.forgotten) === 1,
  };
}
