/**
 * @module The `receipts` table: the latest receipt per (room, user, type, thread), stamped with the stream position
 * of its write. `thread_id` is '' for an unthreaded receipt; the API speaks of null.
 */
import type { Kysely } from "kysely";
import { chunks } from "./current-state.js";
import type { Database } from "./schema.js";

export interface Receipt {
  roomId: string;
  userId: string;
  type: string;
  /** null: unthreaded; `main` or a thread root's event ID otherwise. */
  threadId: string | null;
  eventId: string;
  /** The stream position of the event the receipt points at. */
  eventOrdering: number;
  ts: number;
  streamId: number;
}

export interface ReceiptsStore {
  put(r: Receipt): Promise<void>;
  get(roomId: string, userId: string, type: string, threadId: string | null): Promise<Receipt | null>;
  /** Every receipt in these rooms written at or before `upTo`. */
  inRooms(roomIds: readonly string[], upTo: number): Promise<Receipt[]>;
  /** Receipts written at a position in (`after`, `upTo`] in the rooms `userId` is joined to. */
  changedInJoinedRooms(userId: string, after: number, upTo: number): Promise<Receipt[]>;
  /**
   * The highest event position the user's `m.read` and `m.read.private` receipts point at in the room: with
   * `threadId` null, the unthreaded and `main` receipts; else that thread's. Null when there are none.
   */
  latestReadOrdering(roomId: string, userId: string, threadId: string | null): Promise<number | null>;
  /** `latestReadOrdering(roomId, userId, null)` of each of `roomIds` that has one, in one statement per 500 rooms. */
  latestReadOrderingInRooms(roomIds: readonly string[], userId: string): Promise<Map<string, number>>;
}

const READ_TYPES = ["m.read", "m.read.private"];

export function receiptsStore(db: Kysely<Database>): ReceiptsStore {
  return {
    async put(r) {
      const values = {
        event_id: r.eventId,
        event_ordering: r.eventOrdering,
        ts: r.ts,
        stream_id: r.streamId,
      };
      await db
        .insertInto("receipts")
        .values({
          room_id: r.roomId,
          user_id: r.userId,
          receipt_type: r.type,
          thread_id: r.threadId ?? "",
          ...values,
        })
        .onConflict((oc) => oc.columns(["room_id", "user_id", "receipt_type", "thread_id"]).doUpdateSet(values))
        .execute();
    },
    async get(roomId, userId, type, threadId) {
      const row = await db
        .selectFrom("receipts")
        .selectAll()
        .where("room_id", "=", roomId)
        .where("user_id", "=", userId)
        .where("receipt_type", "=", type)
        .where("thread_id", "=", threadId ?? "")
        .executeTakeFirst();
      return row ? toReceipt(row) : null;
    },
    async inRooms(roomIds, upTo) {
      if (roomIds.length === 0) return [];
      const rows = await db
        .selectFrom("receipts")
        .selectAll()
        .where("room_id", "in", [...roomIds])
        .where("stream_id", "<=", upTo)
        .orderBy("stream_id")
        .execute();
      return rows.map(toReceipt);
    },
    async changedInJoinedRooms(userId, after, upTo) {
      const rows = await db
        .selectFrom("receipts as r")
        .innerJoin("room_memberships as m", (j) =>
          j.onRef("m.room_id", "=", "r.room_id").on("m.user_id", "=", userId).on("m.membership", "=", "join"),
        )
        .selectAll("r")
        .where("r.stream_id", ">", after)
        .where("r.stream_id", "<=", upTo)
        .orderBy("r.stream_id")
        .execute();
      return rows.map(toReceipt);
    },
    async latestReadOrderingInRooms(roomIds, userId) {
      const out = new Map<string, number>();
      for (const chunk of chunks(roomIds, 500)) {
        const rows = await db
          .selectFrom("receipts")
          .select((eb) => ["room_id", eb.fn.max("event_ordering").as("ordering")])
          .where("room_id", "in", chunk)
          .where("user_id", "=", userId)
          .where("receipt_type", "in", READ_TYPES)
          .where("thread_id", "in", ["", "main"])
          .groupBy("room_id")
          .execute();
        for (const r of rows) {
          // MAX over no rows is NULL, whatever kysely's type says.
          const ordering = r.ordering as number | string | null;
          if (ordering !== null) out.set(r.room_id, Number(ordering));
        }
      }
      return out;
    },
    async latestReadOrdering(roomId, userId, threadId) {
      const row = await db
        .selectFrom("receipts")
        .select((eb) => eb.fn.max("event_ordering").as("ordering"))
        .where("room_id", "=", roomId)
        .where("user_id", "=", userId)
        .where("receipt_type", "in", READ_TYPES)
        .where("thread_id", "in", threadId === null ? ["", "main"] : [threadId])
        .executeTakeFirst();
      // MAX over no rows is NULL, whatever kysely's type says.
      const ordering = row?.ordering as number | string | null | undefined;
      return ordering === null || ordering === undefined ? null : Number(ordering);
    },
  };
}

function toReceipt(row: {
  room_id: string;
  user_id: string;
  receipt_type: string;
  thread_id: string;
  event_id: string;
  event_ordering: number;
  ts: number;
  stream_id: number;
}): Receipt {
  return {
    roomId: row.room_id,
    userId: row.user_id,
    type: row.receipt_type,
    threadId: row.thread_id === "" ? null : row.thread_id,
    eventId: row.event_id,
    eventOrdering: Number(row.event_ordering),
    ts: Number(row.ts),
    streamId: Number(row.stream_id),
  };
}
