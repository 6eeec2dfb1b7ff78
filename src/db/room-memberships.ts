/**
 * @module The `room_memberships` table: each user's current membership of each room they have one in, indexed by
 * user for "my rooms" and by room for "who is here".
 */
import type { Kysely } from "kysely";
import { chunks } from "./current-state.js";
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
  /** `members` of each of `roomIds`, in one read. */
  membersOfRooms(
    roomIds: readonly string[],
    memberships: readonly Membership[],
  ): Promise<Map<string, MembershipRecord[]>>;
  count(roomId: string, membership: Membership): Promise<number>;
  /** Joined members per room, for each of `roomIds` that has any. */
  joinedCounts(roomIds: readonly string[]): Promise<Map<string, number>>;
  /** Which of `userIds` are joined to a room `userId` is joined to (`userId` itself left out). */
  sharingARoomWith(userId: string, userIds: readonly string[]): Promise<Set<string>>;
  /** Which of `userIds` are joined or invited to a room `userId` is joined or invited to (`userId` left out). */
  meetingInARoom(userId: string, userIds: readonly string[]): Promise<Set<string>>;
  /** Everyone joined to a room `userId` is joined to (`userId` itself left out): whom their device changes concern. */
  joinedCoMembers(userId: string): Promise<string[]>;
  /** The rooms each of `userIds` is joined to, as (user, room) pairs. */
  joinedRoomsOf(userIds: readonly string[]): Promise<{ userId: string; roomId: string }[]>;
  setForgotten(roomId: string, userId: string): Promise<void>;
}

export function roomMembershipsStore(db: Kysely<Database>): RoomMembershipsStore {
  /** Users other than `userId` in a room where both have one of `memberships`. */
  const coMembers = (userId: string, memberships: readonly Membership[]) =>
    db
      .selectFrom("room_memberships as mine")
      .innerJoin("room_memberships as other", "other.room_id", "mine.room_id")
      .select("other.user_id")
      .distinct()
      .where("mine.user_id", "=", userId)
      .where("mine.membership", "in", memberships)
      .where("other.membership", "in", memberships)
      .where("other.user_id", "!=", userId);
  const coMembersAmong = async (userId: string, userIds: readonly string[], memberships: readonly Membership[]) => {
    const out = new Set<string>();
    for (const chunk of chunks(userIds, 500)) {
      for (const r of await coMembers(userId, memberships).where("other.user_id", "in", chunk).execute()) {
        out.add(r.user_id);
      }
    }
    return out;
  };
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
    async membersOfRooms(roomIds, memberships) {
      const out = new Map<string, MembershipRecord[]>(roomIds.map((id) => [id, []]));
      if (memberships.length === 0) return out;
      for (const chunk of chunks(roomIds, 500)) {
        const rows = await db
          .selectFrom("room_memberships")
          .selectAll()
          .where("room_id", "in", chunk)
          .where("membership", "in", [...memberships])
          .orderBy("stream_ordering")
          .execute();
        for (const row of rows) out.get(row.room_id)?.push(toRecord(row));
      }
      return out;
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
    async joinedCounts(roomIds) {
      const out = new Map<string, number>();
      for (const chunk of chunks(roomIds, 500)) {
        const rows = await db
          .selectFrom("room_memberships")
          .select((eb) => ["room_id", eb.fn.countAll<number>().as("n")])
          .where("room_id", "in", chunk)
          .where("membership", "=", "join")
          .groupBy("room_id")
          .execute();
        for (const r of rows) out.set(r.room_id, Number(r.n));
      }
      return out;
    },
    async sharingARoomWith(userId, userIds) {
      return coMembersAmong(userId, userIds, ["join"]);
    },
    async meetingInARoom(userId, userIds) {
      return coMembersAmong(userId, userIds, ["join", "invite"]);
    },
    async joinedCoMembers(userId) {
      return (await coMembers(userId, ["join"]).execute()).map((r) => r.user_id);
    },
    async joinedRoomsOf(userIds) {
      const out: { userId: string; roomId: string }[] = [];
      for (const chunk of chunks(userIds, 500)) {
        const rows = await db
          .selectFrom("room_memberships")
          .select(["user_id", "room_id"])
          .where("user_id", "in", chunk)
          .where("membership", "=", "join")
          .execute();
        for (const r of rows) out.push({ userId: r.user_id, roomId: r.room_id });
      }
      return out;
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
