/**
 * @module The `event_txns` table: which event a device's transaction ID made, so a retried send returns the same
 * event (spec "Transaction identifiers": scoped to the device and the endpoint, `send` or `redact`) and that
 * device's sync can echo the ID back.
 */
import type { Kysely } from "kysely";
import { deleteOlderThan } from "./expire-by-age.js";
import { reusedQuery } from "./reused-query.js";
import type { Database } from "./schema.js";

/** The endpoints whose transaction IDs are kept: `PUT …/send/…` and `PUT …/redact/…`. */
export type TxnEndpoint = "send" | "redact";

export interface EventTxnsStore {
  get(userId: string, deviceId: string, endpoint: TxnEndpoint, txnId: string): Promise<string | null>;
  insert(
    userId: string,
    deviceId: string,
    endpoint: TxnEndpoint,
    txnId: string,
    eventId: string,
    now: number,
  ): Promise<void>;
  /** The transaction IDs this device used for any of `eventIds`, by event ID. */
  forEvents(userId: string, deviceId: string, eventIds: readonly string[]): Promise<Map<string, string>>;
  /** Deletes about `limit` of the IDs recorded before `before`, oldest first; answers how many went. */
  purgeOlderThan(before: number, limit: number): Promise<number>;
}

const txnsOf = reusedQuery(
  "eventTxns.forEvents",
  (db, _: null, v: { eventIds: string[]; userId: string; deviceId: string }) =>
    db
      .selectFrom("event_txns")
      .select(["event_id", "txn_id"])
      .where("event_id", "in", v.eventIds)
      .where("user_id", "=", v.userId)
      .where("device_id", "=", v.deviceId),
);

export function eventTxnsStore(db: Kysely<Database>): EventTxnsStore {
  return {
    async get(userId, deviceId, endpoint, txnId) {
      const row = await db
        .selectFrom("event_txns")
        .select("event_id")
        .where("user_id", "=", userId)
        .where("device_id", "=", deviceId)
        .where("endpoint", "=", endpoint)
        .where("txn_id", "=", txnId)
        .executeTakeFirst();
      return row?.event_id ?? null;
    },
    async insert(userId, deviceId, endpoint, txnId, eventId, now) {
      await db
        .insertInto("event_txns")
        .values({ user_id: userId, device_id: deviceId, endpoint, txn_id: txnId, event_id: eventId, created_ts: now })
        .execute();
    },
    async forEvents(userId, deviceId, eventIds) {
      if (eventIds.length === 0) return new Map();
      const rows = await txnsOf(db, null, { eventIds: [...eventIds], userId, deviceId });
      return new Map(rows.map((r) => [r.event_id, r.txn_id]));
    },
    purgeOlderThan: (before, limit) => deleteOlderThan(db, "event_txns", before, limit),
  };
}
