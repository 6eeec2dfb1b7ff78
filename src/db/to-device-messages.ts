/**
 * @module The `to_device_messages` table: each device's queue of to-device messages, oldest first by (`stream_id`,
 * `seq`), and `to_device_counts`, the length of each queue, which every insert and delete here keeps (a send checks the
 * cap per device by it instead of counting the queue). How sync delivers and acknowledges them is
 * src/sync/to-device.ts.
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
  /** The position of the first sync response that carried it, or null. */
  deliveredIn: number | null;
}

/** A place in a device's queue: the messages at or before it. */
export interface QueueKey {
  streamId: number;
  seq: number;
}

export interface QueueLength {
  userId: string;
  deviceId: string;
  pending: number;
}

export interface ToDeviceMessagesStore {
  /** Stores the messages of one send, all at `streamId`; returns the new length of each queue they joined. */
  insert(streamId: number, messages: readonly NewToDeviceMessage[]): Promise<QueueLength[]>;
  /** The device's oldest `limit` messages of positions up to `upTo`. */
  pending(userId: string, deviceId: string, upTo: number, limit: number): Promise<PendingToDeviceMessage[]>;
  /** Stamps the not yet delivered messages up to `through` as carried by the response at `position`. */
  markDelivered(userId: string, deviceId: string, through: QueueKey, position: number): Promise<void>;
  /** Deletes the messages a response at or before `since` carried (call in a transaction: it writes two tables). */
  acknowledge(userId: string, deviceId: string, since: number): Promise<void>;
  /** Keeps only the device's newest `keep` messages; returns how many older ones it deleted (in a transaction). */
  trim(userId: string, deviceId: string, keep: number): Promise<number>;
  /** The device IDs each of `userIds` has now (the `devices` table), for addressing a send. */
  devicesOf(userIds: readonly string[]): Promise<Map<string, string[]>>;
}

export function toDeviceMessagesStore(db: Kysely<Database>): ToDeviceMessagesStore {
  const queue = (userId: string, deviceId: string) =>
    db.selectFrom("to_device_messages").where("user_id", "=", userId).where("device_id", "=", deviceId);
  const shorten = async (userId: string, deviceId: string, by: number) => {
    if (by === 0) return;
    await db
      .updateTable("to_device_counts")
      .set((eb) => ({ pending: eb("pending", "-", by) }))
      .where("user_id", "=", userId)
      .where("device_id", "=", deviceId)
      .execute();
  };
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
              delivered_in: null,
            })),
          )
          .execute();
      }
      const added = new Map<string, QueueLength>();
      for (const m of messages) {
        const key = JSON.stringify([m.userId, m.deviceId]);
        const seen = added.get(key);
        if (seen) seen.pending++;
        else added.set(key, { userId: m.userId, deviceId: m.deviceId, pending: 1 });
      }
      const lengths: QueueLength[] = [];
      for (const chunk of chunks([...added.values()], 500)) {
        const rows = await db
          .insertInto("to_device_counts")
          .values(chunk.map((q) => ({ user_id: q.userId, device_id: q.deviceId, pending: q.pending })))
          .onConflict((oc) =>
            oc
              .columns(["user_id", "device_id"])
              .doUpdateSet((eb) => ({ pending: eb("to_device_counts.pending", "+", eb.ref("excluded.pending")) })),
          )
          .returning(["user_id", "device_id", "pending"])
          .execute();
        for (const r of rows) lengths.push({ userId: r.user_id, deviceId: r.device_id, pending: Number(r.pending) });
      }
      return lengths;
    },
    async pending(userId, deviceId, upTo, limit) {
      const rows = await queue(userId, deviceId)
        .select(["stream_id", "seq", "sender", "type", "content", "delivered_in"])
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
        deliveredIn: r.delivered_in === null ? null : Number(r.delivered_in),
      }));
    },
    async markDelivered(userId, deviceId, through, position) {
      await db
        .updateTable("to_device_messages")
        .set({ delivered_in: position })
        .where("user_id", "=", userId)
        .where("device_id", "=", deviceId)
        .where("delivered_in", "is", null)
        .where((eb) =>
          eb.or([
            eb("stream_id", "<", through.streamId),
            eb.and([eb("stream_id", "=", through.streamId), eb("seq", "<=", through.seq)]),
          ]),
        )
        .execute();
    },
    async acknowledge(userId, deviceId, since) {
      const r = await db
        .deleteFrom("to_device_messages")
        .where("user_id", "=", userId)
        .where("device_id", "=", deviceId)
        .where("delivered_in", "<=", since)
        .executeTakeFirst();
      await shorten(userId, deviceId, Number(r.numDeletedRows));
    },
    async trim(userId, deviceId, keep) {
      // The newest message beyond the first `keep`: it and everything older go.
      const edge = await queue(userId, deviceId)
        .select(["stream_id", "seq"])
        .orderBy("stream_id", "desc")
        .orderBy("seq", "desc")
        .offset(keep)
        .limit(1)
        .executeTakeFirst();
      if (!edge) return 0;
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
      const gone = Number(r.numDeletedRows);
      await shorten(userId, deviceId, gone);
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
