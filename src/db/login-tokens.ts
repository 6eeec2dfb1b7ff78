/**
 * @module The `login_tokens` table: short-lived, single-use tokens for `m.login.token` (hashes only).
 */
import type { Kysely } from "kysely";
import type { Database } from "./schema.js";

/** The identity-provider session an SSO login token came from, for back-channel logout. */
export interface AuthProviderSession {
  authProviderId: string;
  subject: string;
  sessionId: string | null;
  /** What the provider's `extra_attributes` templates gave: added to the login's answer, not kept with the device. */
  extraAttributes?: Record<string, string>;
}

export interface LoginTokensStore {
  insert(tokenHash: string, userId: string, expiryTs: number, sso?: AuthProviderSession | null): Promise<void>;
  /** Deletes the token and returns its user if it existed and had not expired; one statement, so single use holds. */
  consume(tokenHash: string, now: number): Promise<{ userId: string; sso: AuthProviderSession | null } | null>;
  /** Remembers which provider session made a device (`device_auth_providers`). */
  addDeviceSession(userId: string, deviceId: string, sso: AuthProviderSession): Promise<void>;
  /** The devices a provider's session (by `sid`, else every session of the subject) made. */
  devicesOfSession(
    authProviderId: string,
    subject: string | null,
    sessionId: string | null,
  ): Promise<{ userId: string; deviceId: string }[]>;
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
    async insert(tokenHash, userId, expiryTs, sso) {
      await db
        .insertInto("login_tokens")
        .values({
          token_hash: tokenHash,
          user_id: userId,
          expiry_ts: expiryTs,
          auth_provider_id: sso?.authProviderId ?? null,
          auth_provider_subject: sso?.subject ?? null,
          auth_provider_session_id: sso?.sessionId ?? null,
          extra_attributes:
            sso?.extraAttributes && Object.keys(sso.extraAttributes).length > 0
              ? JSON.stringify(sso.extraAttributes)
              : null,
        })
        .execute();
    },
    async addDeviceSession(userId, deviceId, sso) {
      await db
        .insertInto("device_auth_providers")
        .values({
          user_id: userId,
          device_id: deviceId,
          auth_provider_id: sso.authProviderId,
          auth_provider_subject: sso.subject,
          auth_provider_session_id: sso.sessionId,
        })
        .execute();
    },
    async devicesOfSession(authProviderId, subject, sessionId) {
      let q = db
        .selectFrom("device_auth_providers")
        .select(["user_id", "device_id"])
        .where("auth_provider_id", "=", authProviderId);
      if (subject !== null) q = q.where("auth_provider_subject", "=", subject);
      if (sessionId !== null) q = q.where("auth_provider_session_id", "=", sessionId);
      const rows = await q.execute();
      return rows.map((r) => ({ userId: r.user_id, deviceId: r.device_id }));
    },
    async consume(tokenHash, now) {
      const row = await db
        .deleteFrom("login_tokens")
        .where("token_hash", "=", tokenHash)
        .returning([
          "user_id",
          "expiry_ts",
          "auth_provider_id",
          "auth_provider_subject",
          "auth_provider_session_id",
          "extra_attributes",
        ])
        .executeTakeFirst();
      if (!row || expired(Number(row.expiry_ts), now)) return null;
      const sso =
        row.auth_provider_id !== null && row.auth_provider_subject !== null
          ? {
              authProviderId: row.auth_provider_id,
              subject: row.auth_provider_subject,
              sessionId: row.auth_provider_session_id,
              ...(row.extra_attributes === null
                ? {}
                : { extraAttributes: JSON.parse(row.extra_attributes) as Record<string, string> }),
            }
          : null;
      return { userId: row.user_id, sso };
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
