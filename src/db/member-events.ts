/**
 * @module A user's member events across rooms, read from `events`, for the admin API's per-user counts (invites
 * sent, rooms ever joined). The membership is read from each event's content, not matched in its JSON text, whose
 * `unsigned.prev_content` holds the membership it replaced.
 */
import type { Kysely } from "kysely";
import type { Database } from "./schema.js";

export interface MemberEventSummary {
  roomId: string;
  sender: string;
  stateKey: string;
  membership: unknown;
}

export interface MemberEventsStore {
  /** Member events `userId` sent (about anyone) at or after `fromTs`. */
  sentBy(userId: string, fromTs: number): Promise<MemberEventSummary[]>;
  /** Member events about `userId` at or after `fromTs`. */
  about(userId: string, fromTs: number): Promise<MemberEventSummary[]>;
}

export function memberEventsStore(db: Kysely<Database>): MemberEventsStore {
  const read = async (column: "sender" | "state_key", userId: string, fromTs: number) => {
    const rows = await db
      .selectFrom("events")
      .select(["room_id", "sender", "state_key", "json"])
      .where("type", "=", "m.room.member")
      .where(column, "=", userId)
      .where("origin_server_ts", ">=", fromTs)
      .orderBy("stream_ordering")
      .execute();
    return rows.map((r) => ({
      roomId: r.room_id,
      sender: r.sender,
      stateKey: r.state_key ?? "",
      membership: (JSON.parse(r.json) as { content?: { membership?: unknown } }).content?.membership,
    }));
  };
  return {
    sentBy: (userId, fromTs) => read("sender", userId, fromTs),
    about: (userId, fromTs) => read("state_key", userId, fromTs),
  };
}
