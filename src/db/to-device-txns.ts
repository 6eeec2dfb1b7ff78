/**
 * @module The `to_device_txns` table: the transaction IDs each device used for `PUT /sendToDevice`, so a retried
 * request sends nothing twice (spec "Transaction identifiers": scoped to the device and the endpoint).
 */
import type { Kysely } from "kysely";
import { deleteOlderThan } from "./expire-by-age.js";
import type { Database } from "./schema.js";

export interface ToDeviceTxnsStore {
  /** Records the transaction ID; false when the device had already used it. */
  claim(userId: string, deviceId: string, txnId: string, now: number): Promise<boolean>;
  /** Deletes about `limit` of the IDs recorded before `before`, oldest first; answers how many went. */
  purgeOlderThan(before: number, limit: number): Promise<number>;
}

export function toDeviceTxnsStore(db: Kysely<Database>): ToDeviceTxnsStore {
  return {
    async claim(userId, deviceId, txnId, now) {
      const r = await db
        .insertInto("to_device_txns")
        .values({ user_id: userId, device_id: deviceId, txn_id: txnId, created_ts: now })
        .onConflict((oc) => oc.columns(["user_id", "device_id", "txn_id"]).doNothing())
        .executeTakeFirst();
      return Number(r.numInsertedOrUpdatedRows ?? 0n) > 0;
    },
    purgeOlderThan: (before, limit) => deleteOlderThan(db, "to_device_txns", before, limit),
  };
}
