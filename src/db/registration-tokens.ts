/**
 * @module The `registration_tokens` table. Uses are reserved (`pending`) when a sign-up passes the token stage and
 * turned into `completed` when the account is made; each step is one conditional UPDATE, so a token with N uses is
 * never used more than N times whatever the concurrency, on either database.
 */
import { sql, type Kysely } from "kysely";
import type { Database } from "./schema.js";

export interface RegistrationToken {
  token: string;
  usesAllowed: number | null;
  pending: number;
  completed: number;
  expiryTime: number | null;
  createdTs: number;
}

export interface RegistrationTokensStore {
  insert(token: Omit<RegistrationToken, "pending" | "completed">): Promise<void>;
  get(token: string): Promise<RegistrationToken | null>;
  /** True when the token exists, has not expired and has a use left (counting reservations). */
  isValid(token: string, now: number): Promise<boolean>;
  /** Reserves one use if the token is valid; says whether it did. */
  reserve(token: string, now: number): Promise<boolean>;
  /** Turns a reservation into a completed use. */
  complete(token: string): Promise<void>;
  /** Gives back a reservation that will never complete (its UIA session expired). */
  release(token: string): Promise<void>;
}

export function registrationTokensStore(db: Kysely<Database>): RegistrationTokensStore {
  return {
    async insert(t) {
      await db
        .insertInto("registration_tokens")
        .values({ token: t.token, uses_allowed: t.usesAllowed, expiry_time: t.expiryTime, created_ts: t.createdTs })
        .execute();
    },
    async get(token) {
      const row = await db.selectFrom("registration_tokens").selectAll().where("token", "=", token).executeTakeFirst();
      if (!row) return null;
      return {
        token: row.token,
        usesAllowed: row.uses_allowed === null ? null : Number(row.uses_allowed),
        pending: Number(row.pending),
        completed: Number(row.completed),
        expiryTime: row.expiry_time === null ? null : Number(row.expiry_time),
        createdTs: Number(row.created_ts),
      };
    },
    async isValid(token, now) {
      const row = await db
        .selectFrom("registration_tokens")
        .select("token")
        .where("token", "=", token)
        .where((eb) => eb.or([eb("uses_allowed", "is", null), eb(sql`pending + completed`, "<", eb.ref("uses_allowed"))]))
        .where((eb) => eb.or([eb("expiry_time", "is", null), eb("expiry_time", ">", now)]))
        .executeTakeFirst();
      return row !== undefined;
    },
    async reserve(token, now) {
      const r = await db
        .updateTable("registration_tokens")
        .set({ pending: sql`pending + 1` })
        .where("token", "=", token)
        .where((eb) => eb.or([eb("uses_allowed", "is", null), eb(sql`pending + completed`, "<", eb.ref("uses_allowed"))]))
        .where((eb) => eb.or([eb("expiry_time", "is", null), eb("expiry_time", ">", now)]))
        .executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },
    async complete(token) {
      await db
        .updateTable("registration_tokens")
        .set({ pending: sql`CASE WHEN pending > 0 THEN pending - 1 ELSE 0 END`, completed: sql`completed + 1` })
        .where("token", "=", token)
        .execute();
    },
    async release(token) {
      await db
        .updateTable("registration_tokens")
        .set({ pending: sql`CASE WHEN pending > 0 THEN pending - 1 ELSE 0 END` })
        .where("token", "=", token)
        .execute();
    },
  };
}
