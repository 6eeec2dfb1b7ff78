/**
 * @module The `devices` table: a user's logged-in sessions, each owning its access tokens.
 */
import type { Kysely } from "kysely";
import type { Database, DeviceRow } from "./schema.js";

export interface Device {
  userId: string;
  deviceId: string;
  displayName: string | null;
  createdTs: number;
  lastSeenTs: number | null;
  lastSeenIp: string | null;
  lastSeenUserAgent: string | null;
}

export interface DevicesStore {
  /** Creates the device, or leaves an existing one as it is (Synapse reuses a known `device_id`). */
  ensure(userId: string, deviceId: string, displayName: string | null, now: number): Promise<void>;
  get(userId: string, deviceId: string): Promise<Device | null>;
  listForUser(userId: string): Promise<Device[]>;
  setDisplayName(userId: string, deviceId: string, displayName: string | null): Promise<boolean>;
  /** Deletes the device and everything that belongs to it (tokens, refresh tokens, to-device queue, its count and transaction
   * IDs, the provider session that made it; keys cascade). The one way a device is removed: logout, device
   * deletion, password change, deactivation and back-channel logout all call it. */
  delete(userId: string, deviceId: string): Promise<boolean>;
  /** Records where and when the device was last used (callers throttle: this is not written per request). */
  setLastSeen(
    userId: string,
    deviceId: string,
    seen: { ts: number; ip: string; userAgent: string | null },
  ): Promise<void>;
}

export function devicesStore(db: Kysely<Database>): DevicesStore {
  return {
    async ensure(userId, deviceId, displayName, now) {
      await db
        .insertInto("devices")
        .values({ user_id: userId, device_id: deviceId, display_name: displayName, created_ts: now })
        .onConflict((oc) => oc.columns(["user_id", "device_id"]).doNothing())
        .execute();
    },
    async get(userId, deviceId) {
      const row = await db
        .selectFrom("devices")
        .selectAll()
        .where("user_id", "=", userId)
        .where("device_id", "=", deviceId)
        .executeTakeFirst();
      return row ? toDevice(row) : null;
    },
    async setDisplayName(userId, deviceId, displayName) {
      const r = await db
        .updateTable("devices")
        .set({ display_name: displayName })
        .where("user_id", "=", userId)
        .where("device_id", "=", deviceId)
        .executeTakeFirst();
      return Number(r.numUpdatedRows) > 0;
    },
    async delete(userId, deviceId) {
      await db.deleteFrom("access_tokens").where("user_id", "=", userId).where("device_id", "=", deviceId).execute();
      await db.deleteFrom("refresh_tokens").where("user_id", "=", userId).where("device_id", "=", deviceId).execute();
      // A deleted device's queue can never be read: it goes with the device, in the caller's transaction.
      await db
        .deleteFrom("to_device_messages")
        .where("user_id", "=", userId)
        .where("device_id", "=", deviceId)
        .execute();
      await db.deleteFrom("to_device_counts").where("user_id", "=", userId).where("device_id", "=", deviceId).execute();
      await db.deleteFrom("to_device_txns").where("user_id", "=", userId).where("device_id", "=", deviceId).execute();
      // Which provider session made the device: left behind, a device later made with the same ID (clients name
      // theirs) would be ended by that session's back-channel logout.
      await db
        .deleteFrom("device_auth_providers")
        .where("user_id", "=", userId)
        .where("device_id", "=", deviceId)
        .execute();
      const r = await db
        .deleteFrom("devices")
        .where("user_id", "=", userId)
        .where("device_id", "=", deviceId)
        .executeTakeFirst();
      return Number(r.numDeletedRows) > 0;
    },
    async setLastSeen(userId, deviceId, seen) {
      await db
        .updateTable("devices")
        .set({ last_seen_ts: seen.ts, last_seen_ip: seen.ip, last_seen_user_agent: seen.userAgent })
        .where("user_id", "=", userId)
        .where("device_id", "=", deviceId)
        .execute();
    },
    async listForUser(userId) {
      const rows = await db
        .selectFrom("devices")
        .selectAll()
        .where("user_id", "=", userId)
        .orderBy("device_id")
        .execute();
      return rows.map(toDevice);
    },
  };
}

function toDevice(row: DeviceRow): Device {
  return {
    userId: row.user_id,
    deviceId: row.device_id,
    displayName: row.display_name,
    createdTs: Number(row.created_ts),
    lastSeenTs: row.last_seen_ts === null ? null : Number(row.last_seen_ts),
    lastSeenIp: row.last_seen_ip,
    lastSeenUserAgent: row.last_seen_user_agent,
  };
}
