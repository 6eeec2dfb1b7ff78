/**
 * @module The `registration_nonces` table: shared-secret registration nonces, in the database so that a nonce
 * fetched from one Gatehouse process can be used on another (Synapse keeps them in one process's memory).
 */
import type { Kysely } from "kysely";
import type { Database } from "./schema.js";

export interface RegistrationNoncesStore {
  insert(nonce: string, now: number): Promise<void>;
  /**
   * Deletes the nonce if it was created at or after `notBefore`, and says whether it did. One DELETE is the whole
   * check, so two processes racing for the same nonce cannot both win.
   */
  consume(nonce: string, notBefore: number): Promise<boolean>;
  /** Deletes nonces created before `cutoff` (at most `limit`, when given); says how many. */
  purgeOlderThan(cutoff: number, limit?: number): Promise<number>;
}

export function registrationNoncesStore(db: Kysely<Database>): RegistrationNoncesStore {
  return {
    async insert(nonce, now) {
      await db.insertInto("registration_nonces").values({ nonce, created_ts: now }).execute();
    },
    async consume(nonce, notBefore) {
      const r = await db
        .deleteFrom("registration_nonces")
        .where("nonce", "=", nonce)
        .where("created_ts", ">=", notBefore)
        .executeTakeFirst();
      return Number(r.numDeletedRows) === 1;
    },
    async purgeOlderThan(cutoff, limit) {
      const old = db.selectFrom("registration_nonces").select("nonce").where("created_ts", "<", cutoff);
      const r = await db
        .deleteFrom("registration_nonces")
        .where("nonce", "in", limit === undefined ? old : old.limit(limit))
        .executeTakeFirst();
      return Number(r.numDeletedRows);
    },
  };
}
