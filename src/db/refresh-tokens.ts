/**
 * @module The `refresh_tokens` table (hashes only). A refresh token stays usable until the access token it begot
 * has been used once, so a client whose `/refresh` response was lost can retry (Synapse's rule).
 */
import type { Kysely } from "kysely";
import type { Database } from "./schema.js";

export interface RefreshTokenRecord {
  tokenHash: string;
  userId: string;
  deviceId: string;
  nextTokenHash: string | null;
  expiryTs: number | null;
  ultimateSessionExpiryTs: number | null;
  createdTs: number;
}

export interface RefreshTokensStore {
  insert(record: RefreshTokenRecord): Promise<void>;
  getByHash(tokenHash: string): Promise<RefreshTokenRecord | null>;
  setNext(tokenHash: string, nextTokenHash: string): Promise<void>;
  deleteByHash(tokenHash: string): Promise<void>;
  /** Removes the token that was refreshed into `nextTokenHash`: a chain keeps only its last two tokens. */
  deleteByNext(nextTokenHash: string): Promise<void>;
  /** Every refresh token of the user, except `keepHash`. */
  deleteForUser(userId: string, keepHash?: string | null): Promise<void>;
  /**
   * Deletes at most `limit` spent tokens: refreshed into a successor that is gone, has been refreshed itself, or
   * whose access token has been used. `refresh` (src/accounts/login.ts) refuses exactly these as "refresh token
   * isn't valid anymore" (Synapse's rule); they can never be used again. Says how many went.
   */
  purgeSpent(limit: number): Promise<number>;
}

export function refreshTokensStore(db: Kysely<Database>): RefreshTokensStore {
  return {
    async insert(r) {
      await db
        .insertInto("refresh_tokens")
        .values({
          token_hash: r.tokenHash,
          user_id: r.userId,
          device_id: r.deviceId,
          next_token_hash: r.nextTokenHash,
          expiry_ts: r.expiryTs,
          ultimate_session_expiry_ts: r.ultimateSessionExpiryTs,
          created_ts: r.createdTs,
        })
        .execute();
    },
    async getByHash(tokenHash) {
      const row = await db
        .selectFrom("refresh_tokens")
        .selectAll()
        .where("token_hash", "=", tokenHash)
        .executeTakeFirst();
      if (!row) return null;
      return {
        tokenHash: row.token_hash,
        userId: row.user_id,
        deviceId: row.device_id,
        nextTokenHash: row.next_token_hash,
        expiryTs: row.expiry_ts === null ? null : Number(row.expiry_ts),
        ultimateSessionExpiryTs:
          row.ultimate_session_expiry_ts === null ? null : Number(row.ultimate_session_expiry_ts),
        createdTs: Number(row.created_ts),
      };
    },
    async setNext(tokenHash, nextTokenHash) {
      await db
        .updateTable("refresh_tokens")
        .set({ next_token_hash: nextTokenHash })
        .where("token_hash", "=", tokenHash)
        .execute();
    },
    async deleteByNext(nextTokenHash) {
      await db.deleteFrom("refresh_tokens").where("next_token_hash", "=", nextTokenHash).execute();
    },
    async deleteByHash(tokenHash) {
      await db.deleteFrom("refresh_tokens").where("token_hash", "=", tokenHash).execute();
    },
    async deleteForUser(userId, keepHash) {
      let q = db.deleteFrom("refresh_tokens").where("user_id", "=", userId);
      if (keepHash) q = q.where("token_hash", "!=", keepHash);
      await q.execute();
    },
    async purgeSpent(limit) {
      const spent = db
        .selectFrom("refresh_tokens as r")
        .leftJoin("refresh_tokens as s", "s.token_hash", "r.next_token_hash")
        .select("r.token_hash")
        .where("r.next_token_hash", "is not", null)
        .where((eb) =>
          eb.or([
            eb("s.token_hash", "is", null),
            eb("s.next_token_hash", "is not", null),
            eb.exists(
              eb
                .selectFrom("access_tokens as a")
                .select("a.token_hash")
                .whereRef("a.refresh_token_hash", "=", "r.next_token_hash")
                .where("a.used", "=", 1),
            ),
          ]),
        )
        .limit(limit);
      const r = await db.deleteFrom("refresh_tokens").where("token_hash", "in", spent).executeTakeFirst();
      return Number(r.numDeletedRows);
    },
  };
}
