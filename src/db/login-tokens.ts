/**
 * @module The `login_tokens` table: short-lived, single-use tokens for `m.login.token` (hashes only).
 */
import type { Kysely } from "kysely";
import type { Database } from "./schema.js";

export interface LoginTokensStore {
  insert(tokenHash: string, userId: string, expiryTs: number): Promise<void>;
  /** Deletes the token and returns its user if it existed and had not expired; one statement, so single use holds. */
  consume(tokenHash: string, now: number): Promise<string | null>;
  deleteForUser(userId: string): Promise<void>;
  /** Deletes at most `limit` tokens that `consume` would refuse as expired at `now`; says how many. */
  purgeExpired(now: number, limit: number): Promise<number>;
}

/** A login token is good up to and including its `expiry_ts`; `purgeExpired` deletes by the same `<`. */
function expired(expiryTs: number, now: number): boolean {
  return expiryTs < now;
}

export function loginTokensStore(db: Kysely<Database>): LoginTokensStore {
  return {
    async insert(tokenHash, userId, expiryTs) {
      await db
        .insertInto("login_tokens")
        .values({ token_hash: tokenHash, user_id: userId, expiry_ts: expiryTs })
        .execute();
    },
    async consume(tokenHash, now) {
      const row = await db
        .deleteFrom("login_tokens")
        .where("token_hash", "=", tokenHash)
        .returning(["user_id", "expiry_ts"])
        .executeTakeFirst();
      if (!row || expired(Number(row.expiry_ts), now)) return null;
      return row.user_id;
    },
    async deleteForUser(userId) {
      await db.deleteFrom("login_tokens").where("user_id", "=", userId).execute();
    },
    async purgeExpired(now, limit) {
      const r = await db
        .deleteFrom("login_tokens")
        .where(
          "token_hash",
          "in",
          db.selectFrom("login_tokens").select("token_hash").where("expiry_ts", "<", now).limit(limit),
        )
        .executeTakeFirst();
      return Number(r.numDeletedRows);
    },
  };
}
