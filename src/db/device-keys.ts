/**
 * @module The `device_keys` table: each device's identity keys as the device uploaded them (deleted with the
 * device, by foreign-key cascade).
 */
import type { Kysely } from "kysely";
import type { Database } from "./schema.js";

export interface DeviceKeysStore {
  get(userId: string, deviceId: string): Promise<Record<string, unknown> | null>;
  /** Creates or replaces the keys of the device. */
  set(userId: string, deviceId: string, keys: Record<string, unknown>): Promise<void>;
  /** Every device of the user that has keys, by device ID. */
  listForUser(userId: string): Promise<Map<string, Record<string, unknown>>>;
}

export function deviceKeysStore(db: Kysely<Database>): DeviceKeysStore {
  return {
    async get(userId, deviceId) {
      const row = await db
        .selectFrom("device_keys")
        .select("key_json")
        .where("user_id", "=", userId)
        .where("device_id", "=", deviceId)
        .executeTakeFirst();
      return row ? (JSON.parse(row.key_json) as Record<string, unknown>) : null;
    },
    async set(userId, deviceId, keys) {
      const json = JSON.stringify(keys);
      await db
        .insertInto("device_keys")
        .values({ user_id: userId, device_id: deviceId, key_json: json })
        .onConflict((oc) => oc.columns(["user_id", "device_id"]).doUpdateSet({ key_json: json }))
        .execute();
    },
    async listForUser(userId) {
      const rows = await db
        .selectFrom("device_keys")
        .select(["device_id", "key_json"])
        .where("user_id", "=", userId)
        .orderBy("device_id")
        .execute();
      return new Map(rows.map((r) => [r.device_id, JSON.parse(r.key_json) as Record<string, unknown>]));
    },
  };
}
