/**
 * @module The `device_list_changes` table: "this user's devices changed at stream position N" (a device added or
 * deleted, or its keys replaced), which `/sync` and `/keys/changes` report as `device_lists.changed`.
 */
import type { Kysely } from "kysely";
import type { Database } from "./schema.js";

export interface DeviceListChangesStore {
  insert(streamId: number, userId: string, deviceIds: string[]): Promise<void>;
  /** Of `userIds`, those with a change at a stream position in (`after`, `upTo`]. */
  usersChangedBetween(userIds: string[], after: number, upTo: number): Promise<string[]>;
  /** Every user with a change at a stream position in (`after`, `upTo`], read by position (index on `stream_id`). */
  changedBetween(after: number, upTo: number): Promise<string[]>;
}

export function deviceListChangesStore(db: Kysely<Database>): DeviceListChangesStore {
  return {
    async insert(streamId, userId, deviceIds) {
      if (deviceIds.length === 0) return;
      await db
        .insertInto("device_list_changes")
        .values(deviceIds.map((deviceId) => ({ stream_id: streamId, user_id: userId, device_id: deviceId })))
        .execute();
    },
    async usersChangedBetween(userIds, after, upTo) {
      if (userIds.length === 0) return [];
      const rows = await db
        .selectFrom("device_list_changes")
        .select("user_id")
        .distinct()
        .where("user_id", "in", userIds)
        .where("stream_id", ">", after)
        .where("stream_id", "<=", upTo)
        .orderBy("user_id")
        .execute();
      return rows.map((r) => r.user_id);
    },
    async changedBetween(after, upTo) {
      const rows = await db
        .selectFrom("device_list_changes")
        .select("user_id")
        .distinct()
        .where("stream_id", ">", after)
        .where("stream_id", "<=", upTo)
        .orderBy("user_id")
        .execute();
      return rows.map((r) => r.user_id);
    },
  };
}
