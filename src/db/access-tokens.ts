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
}

export interface AccessTokensStore {
  insert(record: AccessTokenRecord): Promise<void>;
  getByHash(tokenHash: string): Promise<AccessTokenRecord | null>;
  deleteByHash(tokenHash: string): Promise<boolean>;
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
      };
    },
    async deleteByHash(tokenHash) {
      const r = await db.deleteFrom("access_tokens").where("token_hash", "=", tokenHash).executeTakeFirst();
      return Number(r.numDeletedRows) > 0;
    },
  };
}
