/**
 * @module The `access_tokens` table. Rows are keyed by the token's SHA-256, so a copy of the database yields no
 * usable token.
 */
import type { Kysely } from "kysely";
import type { Database } from "./schema.js";

export interface AccessTokenRecord {
  tokenHash: string;
  userId: string;
  deviceId: string | null;
  createdTs: number;
  validUntilMs: number | null;
  puppetsUserId: string | null;
  /** The refresh token this access token was issued with, if any. */
  refreshTokenHash?: string | null;
  /** Set the first time the token is used; a refreshed pair's old refresh token dies then. */
  used?: boolean;
}

export interface AccessTokensStore {
  insert(record: AccessTokenRecord): Promise<void>;
  getByHash(tokenHash: string): Promise<AccessTokenRecord | null>;
  deleteByHash(tokenHash: string): Promise<boolean>;
  markUsed(tokenHash: string): Promise<void>;
  /** Every token of the user, except `keepHash`; returns how many went. */
  deleteForUser(userId: string, keepHash?: string | null): Promise<number>;
  deleteForDevice(userId: string, deviceId: string): Promise<void>;
  deleteByRefreshHash(refreshTokenHash: string): Promise<void>;
  /** Whether an access token issued with this refresh token has been used. */
  usedWithRefreshToken(refreshTokenHash: string): Promise<boolean>;
  /**
   * Deletes at most `limit` tokens that expired before `now` (`authenticate`'s rule: `valid_until_ms < now`) and
   * that no client will present again to resume its session: a token with no device (an admin's `login_as`), or
   * one issued with a refresh token that is gone (refreshed past, so its client holds newer tokens). Any other
   * expired token stays with its device, so its client keeps hearing `soft_logout: true` and logs back in to the
   * same device with its keys, as on Synapse. Says how many went.
   */
  purgeUnresumable(now: number, limit: number): Promise<number>;
}

export function accessTokensStore(db: Kysely<Database>): AccessTokensStore {
  return {
    async insert(t) {
      await db
        .insertInto("access_tokens")
        .values({
          token_hash: t.tokenHash,
          user_id: t.userId,
          device_id: t.deviceId,
          created_ts: t.createdTs,
          valid_until_ms: t.validUntilMs,
          puppets_user_id: t.puppetsUserId,
          last_validated: null,
          refresh_token_hash: t.refreshTokenHash ?? null,
        })
        .execute();
    },
    async getByHash(tokenHash) {
      const row = await db
        .selectFrom("access_tokens")
        .selectAll()
        .where("token_hash", "=", tokenHash)
        .executeTakeFirst();
      if (!row) return null;
      return {
        tokenHash: row.token_hash,
        userId: row.user_id,
        deviceId: row.device_id,
        createdTs: Number(row.created_ts),
        validUntilMs: row.valid_until_ms === null ? null : Number(row.valid_until_ms),
        puppetsUserId: row.puppets_user_id,
        refreshTokenHash: row.refresh_token_hash,
        used: row.used === 1,
      };
    },
    async markUsed(tokenHash) {
      await db.updateTable("access_tokens").set({ used: 1 }).where("token_hash", "=", tokenHash).execute();
    },
    async deleteForUser(userId, keepHash) {
      let q = db.deleteFrom("access_tokens").where("user_id", "=", userId);
      if (keepHash) q = q.where("token_hash", "!=", keepHash);
      const r = await q.executeTakeFirst();
      return Number(r.numDeletedRows);
    },
    async deleteByRefreshHash(refreshTokenHash) {
      await db.deleteFrom("access_tokens").where("refresh_token_hash", "=", refreshTokenHash).execute();
    },
    async usedWithRefreshToken(refreshTokenHash) {
      const row = await db
        .selectFrom("access_tokens")
        .select("token_hash")
        .where("refresh_token_hash", "=", refreshTokenHash)
        .where("used", "=", 1)
        .executeTakeFirst();
      return row !== undefined;
    },
    async deleteForDevice(userId, deviceId) {
      await db.deleteFrom("access_tokens").where("user_id", "=", userId).where("device_id", "=", deviceId).execute();
    },
    async deleteByHash(tokenHash) {
      const r = await db.deleteFrom("access_tokens").where("token_hash", "=", tokenHash).executeTakeFirst();
      return Number(r.numDeletedRows) > 0;
    },
    async purgeUnresumable(now, limit) {
      const unresumable = db
        .selectFrom("access_tokens as a")
        .select("a.token_hash")
        .where("a.valid_until_ms", "<", now)
        .where((eb) =>
          eb.or([
            eb("a.device_id", "is", null),
            eb.and([
              eb("a.refresh_token_hash", "is not", null),
              eb.not(
                eb.exists(
                  eb
                    .selectFrom("refresh_tokens as r")
                    .select("r.token_hash")
                    .whereRef("r.token_hash", "=", "a.refresh_token_hash"),
                ),
              ),
            ]),
          ]),
        )
        .limit(limit);
      const r = await db.deleteFrom("access_tokens").where("token_hash", "in", unresumable).executeTakeFirst();
      return Number(r.numDeletedRows);
    },
  };
}
