/**
 * @module The `to_device_messages` table: each device's queue of to-device messages, oldest first by (`stream_id`,
 * `seq`). How sync delivers and acknowledges them is src/sync/to-device.ts.
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

export interface ToDeviceMessagesStore {
  /** Stores the messages of one send, all at `streamId`. */
  insert(streamId: number, messages: readonly NewToDeviceMessage[]): Promise<void>;
  /** The device's oldest `limit` messages of positions up to `upTo`. */
  pending(userId: string, deviceId: string, upTo: number, limit: number): Promise<PendingToDeviceMessage[]>;
  /** Stamps the not yet delivered messages up to `through` as carried by the response at `position`. */
  markDelivered(userId: string, deviceId: string, through: QueueKey, position: number): Promise<void>;
  /** Deletes the messages a response at or before `since` carried. */
  acknowledge(userId: string, deviceId: string, since: number): Promise<void>;
  /** Keeps only the device's newest `keep` messages; returns how many older ones it deleted. */
  trim(userId: string, deviceId: string, keep: number): Promise<number>;
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
              delivered_in: null,
            })),
          )
          .execute();
      }
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
      await db
        .deleteFrom("to_device_messages")
        .where("user_id", "=", userId)
        .where("device_id", "=", deviceId)
        .where("delivered_in", "<=", since)
        .execute();
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
      return Number(r.numDeletedRows);
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
