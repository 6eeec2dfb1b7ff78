/**
 * @module The `threepid_validation_session` and `threepid_validation_token` tables: addresses being validated and
 * the tokens mailed for them (migration 0028). A token is found by its hash and deleted by the same statement that
 * spends it, so two clicks racing on one link cannot both succeed.
 */
import type { Kysely } from "kysely";
import type { Database } from "./schema.js";

export type ValidationPurpose = "register" | "add" | "reset";

export interface ValidationSession {
  sessionId: string;
  medium: string;
  address: string;
  clientSecret: string;
  purpose: ValidationPurpose;
  lastSendAttempt: number;
  validatedAt: number | null;
  createdTs: number;
}

export interface SpentToken {
  sessionId: string;
  nextLink: string | null;
  expiresTs: number;
}

export interface ThreepidValidationStore {
  find(
    clientSecret: string,
    medium: string,
    address: string,
    purpose: ValidationPurpose,
  ): Promise<ValidationSession | null>;
  get(sessionId: string): Promise<ValidationSession | null>;
  create(session: ValidationSession): Promise<void>;
  setLastSendAttempt(sessionId: string, sendAttempt: number): Promise<void>;
  addToken(sessionId: string, tokenHash: string, nextLink: string | null, expiresTs: number): Promise<void>;
  /** Deletes the token and returns what it was, or null when there is no such token (never was, or spent). */
  spendToken(tokenHash: string): Promise<SpentToken | null>;
  /** Reads a token without spending it (the password-reset confirmation page). */
  peekToken(tokenHash: string): Promise<SpentToken | null>;
  markValidated(sessionId: string, at: number): Promise<void>;
  delete(sessionId: string): Promise<void>;
  /** Deletes sessions created before `cutoff` (their tokens with them); at most `limit`; says how many. */
  purgeOlderThan(cutoff: number, limit?: number): Promise<number>;
}

function fromRow(r: Database["threepid_validation_session"]): ValidationSession {
  return {
    sessionId: r.session_id,
    medium: r.medium,
    address: r.address,
    clientSecret: r.client_secret,
    purpose: r.purpose as ValidationPurpose,
    lastSendAttempt: Number(r.last_send_attempt),
    validatedAt: r.validated_at === null ? null : Number(r.validated_at),
    createdTs: Number(r.created_ts),
  };
}

export function threepidValidationStore(db: Kysely<Database>): ThreepidValidationStore {
  const tokenRow = (r: { session_id: string; next_link: string | null; expires_ts: number } | undefined) =>
    r ? { sessionId: r.session_id, nextLink: r.next_link, expiresTs: Number(r.expires_ts) } : null;
  return {
    async find(clientSecret, medium, address, purpose) {
      const r = await db
        .selectFrom("threepid_validation_session")
        .selectAll()
        .where("client_secret", "=", clientSecret)
        .where("medium", "=", medium)
        .where("address", "=", address)
        .where("purpose", "=", purpose)
        .executeTakeFirst();
      return r ? fromRow(r) : null;
    },
    async get(sessionId) {
      const r = await db
        .selectFrom("threepid_validation_session")
        .selectAll()
        .where("session_id", "=", sessionId)
        .executeTakeFirst();
      return r ? fromRow(r) : null;
    },
    async create(s) {
      await db
        .insertInto("threepid_validation_session")
        .values({
          session_id: s.sessionId,
          medium: s.medium,
          address: s.address,
          client_secret: s.clientSecret,
          purpose: s.purpose,
          last_send_attempt: s.lastSendAttempt,
          validated_at: s.validatedAt,
          created_ts: s.createdTs,
        })
        .execute();
    },
    async setLastSendAttempt(sessionId, sendAttempt) {
      await db
        .updateTable("threepid_validation_session")
        .set({ last_send_attempt: sendAttempt })
        .where("session_id", "=", sessionId)
        .execute();
    },
    async addToken(sessionId, tokenHash, nextLink, expiresTs) {
      await db
        .insertInto("threepid_validation_token")
        .values({ token_hash: tokenHash, session_id: sessionId, next_link: nextLink, expires_ts: expiresTs })
        .execute();
    },
    async spendToken(tokenHash) {
      const r = await db
        .deleteFrom("threepid_validation_token")
        .where("token_hash", "=", tokenHash)
        .returning(["session_id", "next_link", "expires_ts"])
        .executeTakeFirst();
      return tokenRow(r);
    },
    async peekToken(tokenHash) {
      const r = await db
        .selectFrom("threepid_validation_token")
        .select(["session_id", "next_link", "expires_ts"])
        .where("token_hash", "=", tokenHash)
        .executeTakeFirst();
      return tokenRow(r);
    },
    async markValidated(sessionId, at) {
      await db
        .updateTable("threepid_validation_session")
        .set({ validated_at: at })
        .where("session_id", "=", sessionId)
        .where("validated_at", "is", null)
        .execute();
    },
    async delete(sessionId) {
      await db.deleteFrom("threepid_validation_token").where("session_id", "=", sessionId).execute();
      await db.deleteFrom("threepid_validation_session").where("session_id", "=", sessionId).execute();
    },
    async purgeOlderThan(cutoff, limit) {
      const old = db
        .selectFrom("threepid_validation_session")
        .select("session_id")
        .where("created_ts", "<", cutoff)
        .limit(limit ?? 1_000_000);
      const ids = (await old.execute()).map((r) => r.session_id);
      if (ids.length === 0) return 0;
      await db.deleteFrom("threepid_validation_token").where("session_id", "in", ids).execute();
      const r = await db.deleteFrom("threepid_validation_session").where("session_id", "in", ids).executeTakeFirst();
      return Number(r.numDeletedRows);
    },
  };
}
