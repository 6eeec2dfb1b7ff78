/**
 * @module The `device_signatures` table: signatures of a user's devices by the user's self-signing key, added to
 * the device's keys in `/keys/query`. Deleted with the device's keys (foreign-key cascade), so a device ID used
 * again never inherits a signature of other keys.
 */
import type { Kysely } from "kysely";
import type { Database } from "./schema.js";

export interface DeviceSignature {
  deviceId: string;
  keyId: string;
  signature: string;
}

export interface DeviceSignaturesStore {
  /** Adds signatures of `userId`'s devices; one already stored under the same key ID is kept. */
  add(userId: string, signatures: DeviceSignature[]): Promise<void>;
  /** Every signature of the user's devices. */
  forUser(userId: string): Promise<DeviceSignature[]>;
}

export function deviceSignaturesStore(db: Kysely<Database>): DeviceSignaturesStore {
  return {
    async add(userId, signatures) {
      if (signatures.length === 0) return;
      await db
        .insertInto("device_signatures")
        .values(
          signatures.map((s) => ({ user_id: userId, device_id: s.deviceId, key_id: s.keyId, signature: s.signature })),
        )
        .onConflict((oc) => oc.columns(["user_id", "device_id", "key_id"]).doNothing())
        .execute();
    },
    async forUser(userId) {
      const rows = await db
        .selectFrom("device_signatures")
        .select(["device_id", "key_id", "signature"])
        .where("user_id", "=", userId)
        .execute();
      return rows.map((r) => ({ deviceId: r.device_id, keyId: r.key_id, signature: r.signature }));
    },
  };
}
