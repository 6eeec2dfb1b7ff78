/**
 * @module The `to_device_messages` table: each device's queue of to-device messages, oldest first by (`stream_id`,
 * `seq`); and `to_device_counts`, a bound on each queue's length: every insert adds to it, acknowledgements leave it
 * (so they stay one statement), and `recount` sets it exact when it passes the cap. How sync delivers and
 * acknowledges the messages is src/sync/to-device.ts.
 */
import type { Kysely } from "kysely";
import { chunks } from "./current-state.js";
import type { Database } from "./schema.js";

export interface NewToDeviceMessage {
  userId: string;
  deviceId: string;
  seq: number;
  sender: string;
  type: string;
  /** The content as JSON text, already checked. */
  content: string;
}

export interface PendingToDeviceMessage {
  streamId: number;
  seq: number;
  sender: string;
  type: string;
  content: Record<string, unknown>;
  /** The position of the last sync response that left it out for the limit, or null. */
  withheldIn: number | null;
}

/** A place in a device's queue. */
export interface QueueKey {
  streamId: number;
  seq: number;
}

export interface QueueBound {
  userId: string;
  deviceId: string;
  /** At least the queue's length. */
  bound: number;
}

export interface ToDeviceMessagesStore {
  /** Stores the messages of one send, all at `streamId`; returns the new bound of each queue they joined. */
  insert(streamId: number, messages: readonly NewToDeviceMessage[]): Promise<QueueBound[]>;
  /** The device's oldest `limit` messages of positions up to `upTo`. */
  pending(userId: string, deviceId: string, upTo: number, limit: number): Promise<PendingToDeviceMessage[]>;
  /** Marks the messages of positions up to `upTo` after `after` as left out of the response at `upTo`. */
  withhold(userId: string, deviceId: string, after: QueueKey, upTo: number): Promise<void>;
  /**
   * Deletes what the response at `since` carried: the messages of positions up to `since` that it did not leave
   * out (one statement).
   */
  acknowledge(userId: string, deviceId: string, since: number): Promise<void>;
  /**
   * Counts the device's queue, deletes its oldest messages beyond `keep` when it holds more than `max`, and sets
   * its bound to what is left; returns how many it deleted. Scans the queue: call only when the bound passes `max`.
   */
  recount(userId: string, deviceId: string, max: number, keep: number): Promise<number>;
  /** The device IDs each of `userIds` has now (the `devices` table), for addressing a send. */
  devicesOf(userIds: readonly string[]): Promise<Map<string, string[]>>;
}

export function toDeviceMessagesStore(db: Kysely<Database>): ToDeviceMessagesStore {
  const queue = (userId: string, deviceId: string) =>
    db.selectFrom("to_device_messages").where("user_id", "=", userId).where("device_id", "=", deviceId);
  return {
    async insert(streamId, messages) {
      // 8 parameters a row: 500 rows stay far below either database's limit on parameters per statement.
      for (const chunk of chunks(messages, 500)) {
        await db
          .insertInto("to_device_messages")
          .values(
            chunk.map((m) => ({
              user_id: m.userId,
              device_id: m.deviceId,
              stream_id: streamId,
              seq: m.seq,
              sender: m.sender,
              type: m.type,
              content: m.content,
              withheld_in: null,
            })),
          )
          .execute();
      }
      const added = new Map<string, QueueBound>();
      for (const m of messages) {
        const key = JSON.stringify([m.userId, m.deviceId]);
        const seen = added.get(key);
        if (seen) seen.bound++;
        else added.set(key, { userId: m.userId, deviceId: m.deviceId, bound: 1 });
      }
      const bounds: QueueBound[] = [];
      for (const chunk of chunks([...added.values()], 500)) {
        const rows = await db
          .insertInto("to_device_counts")
          .values(chunk.map((q) => ({ user_id: q.userId, device_id: q.deviceId, pending: q.bound })))
          .onConflict((oc) =>
            oc
              .columns(["user_id", "device_id"])
              .doUpdateSet((eb) => ({ pending: eb("to_device_counts.pending", "+", eb.ref("excluded.pending")) })),
          )
          .returning(["user_id", "device_id", "pending"])
          .execute();
        for (const r of rows) bounds.push({ userId: r.user_id, deviceId: r.device_id, bound: Number(r.pending) });
      }
      return bounds;
    },
    async pending(userId, deviceId, upTo, limit) {
      const rows = await queue(userId, deviceId)
        .select(["stream_id", "seq", "sender", "type", "content", "withheld_in"])
        .where("stream_id", "<=", upTo)
        .orderBy("stream_id")
        .orderBy("seq")
        .limit(limit)
        .execute();
      return rows.map((r) => ({
        streamId: Number(r.stream_id),
        seq: r.seq,
        sender: r.sender,
        type: r.type,
        content: JSON.parse(r.content) as Record<string, unknown>,
        withheldIn: r.withheld_in === null ? null : Number(r.withheld_in),
      }));
    },
    async withhold(userId, deviceId, after, upTo) {
      await db
        .updateTable("to_device_messages")
        .set({ withheld_in: upTo })
        .where("user_id", "=", userId)
        .where("device_id", "=", deviceId)
        .where("stream_id", "<=", upTo)
        .where((eb) =>
          eb.or([
            eb("stream_id", ">", after.streamId),
            eb.and([eb("stream_id", "=", after.streamId), eb("seq", ">", after.seq)]),
          ]),
        )
        .execute();
    },
    async acknowledge(userId, deviceId, since) {
      await db
        .deleteFrom("to_device_messages")
        .where("user_id", "=", userId)
        .where("device_id", "=", deviceId)
        .where("stream_id", "<=", since)
        .where((eb) => eb.or([eb("withheld_in", "is", null), eb("withheld_in", "<", since)]))
        .execute();
    },
    async recount(userId, deviceId, max, keep) {
      const counted = await queue(userId, deviceId)
        .select((eb) => eb.fn.countAll<number | string>().as("n"))
        .executeTakeFirstOrThrow();
      let length = Number(counted.n);
      let gone = 0;
      if (length > max) {
        // The newest message beyond the first `keep`: it and everything older go.
        const edge = await queue(userId, deviceId)
          .select(["stream_id", "seq"])
          .orderBy("stream_id", "desc")
          .orderBy("seq", "desc")
          .offset(keep)
          .limit(1)
          .executeTakeFirstOrThrow();
        const r = await db
          .deleteFrom("to_device_messages")
          .where("user_id", "=", userId)
          .where("device_id", "=", deviceId)
          .where((eb) =>
            eb.or([
              eb("stream_id", "<", edge.stream_id),
              eb.and([eb("stream_id", "=", edge.stream_id), eb("seq", "<=", edge.seq)]),
            ]),
          )
          .executeTakeFirst();
        gone = Number(r.numDeletedRows);
        length -= gone;
      }
      await db
        .updateTable("to_device_counts")
        .set({ pending: length })
        .where("user_id", "=", userId)
        .where("device_id", "=", deviceId)
        .execute();
      return gone;
    },
    async devicesOf(userIds) {
      const byUser = new Map<string, string[]>();
      for (const chunk of chunks(userIds, 500)) {
        const rows = await db
          .selectFrom("devices")
          .select(["user_id", "device_id"])
          .where("user_id", "in", chunk)
          .orderBy("user_id")
          .orderBy("device_id")
          .execute();
        for (const r of rows) {
          const list = byUser.get(r.user_id);
          if (list) list.push(r.device_id);
          else byUser.set(r.user_id, [r.device_id]);
        }
      }
      return byUser;
    },
  };
}
