/**
 * @module The `captcha_used_challenges` table: the signature of every CAPTCHA challenge already redeemed, until
 * the challenge expires (after that the signature check refuses it anyway).
 */
import type { Kysely } from "kysely";
import type { Database } from "./schema.js";

export interface CaptchaUsedChallengesStore {
  /**
   * Records the challenge as used and says whether this call did: false when it was already recorded. The primary
   * key is the whole check, so two processes redeeming the same solution at once cannot both win.
   */
  redeem(signature: string, expiresTs: number): Promise<boolean>;
  /** Deletes records of challenges expired before `cutoff` (at most `limit`, when given); says how many. */
  purgeExpired(cutoff: number, limit?: number): Promise<number>;
}

export function captchaUsedChallengesStore(db: Kysely<Database>): CaptchaUsedChallengesStore {
  return {
    async redeem(signature, expiresTs) {
      // ON CONFLICT rather than catching the violation: on PostgreSQL a failed insert would abort a transaction.
      const r = await db
        .insertInto("captcha_used_challenges")
        .values({ signature, expires_ts: expiresTs })
        .onConflict((oc) => oc.column("signature").doNothing())
        .executeTakeFirst();
      return Number(r.numInsertedOrUpdatedRows ?? 0) === 1;
    },
    async purgeExpired(cutoff, limit) {
      const old = db.selectFrom("captcha_used_challenges").select("signature").where("expires_ts", "<", cutoff);
      const r = await db
        .deleteFrom("captcha_used_challenges")
        .where("signature", "in", limit === undefined ? old : old.limit(limit))
        .executeTakeFirst();
      return Number(r.numDeletedRows);
    },
  };
}
