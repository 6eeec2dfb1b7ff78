/**
 * @module The `device_initial_syncs` table: the position an initial sync of a device returned, kept until the
 * device's first incremental sync from exactly that position takes it (src/sync/first-sync.ts).
 */
import type { Kysely } from "kysely";
import type { Database } from "./schema.js";

export interface DeviceInitialSyncsStore {
  record(userId: string, deviceId: string, position: number): Promise<void>;
  /** Deletes the row if it holds `position`; true when it did (this sync is the device's first incremental one). */
  take(userId: string, deviceId: string, position: number): Promise<boolean>;
}

export function deviceInitialSyncsStore(db: Kysely<Database>): DeviceInitialSyncsStore {
  return {
    async record(userId, deviceId, position) {
      await db
        .insertInto("device_initial_syncs")
        .values({ user_id: userId, device_id: deviceId, position })
        .onConflict((oc) => oc.columns(["user_id", "device_id"]).doUpdateSet({ position }))
        .execute();
    },
    async take(userId, deviceId, position) {
      const r = await db
        .deleteFrom("device_initial_syncs")
        .where("user_id", "=", userId)
        .where("device_id", "=", deviceId)
        .where("position", "=", position)
        .executeTakeFirst();
      return Number(r.numDeletedRows) > 0;
    },
  };
}
