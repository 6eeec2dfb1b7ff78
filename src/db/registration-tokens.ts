/**
 * @module The `registration_tokens` table. Uses are reserved (`pending`) when a sign-up passes the token stage and
 * turned into `completed` when the account is made; each step is one conditional UPDATE, so a token with N uses is
 * never used more than N times whatever the concurrency, on either database.
 */
import { sql, type Kysely, type Selectable } from "kysely";
import type { Database } from "./schema.js";

export interface RegistrationToken {
  token: string;
  usesAllowed: number | null;
  pending: number;
  completed: number;
  expiryTime: number | null;
  createdTs: number;
  /** Gatehouse: the only localpart that may use the token, or null for anyone. */
  boundUsername: string | null;
  /** Gatehouse: the address the invite was sent to, attached to the account made with it, or null. */
  boundEmail: string | null;
}

/** A new token: unbound unless the binding fields are given. */
export type NewRegistrationToken = Omit<RegistrationToken, "pending" | "completed" | "boundUsername" | "boundEmail"> &
  Partial<Pick<RegistrationToken, "boundUsername" | "boundEmail">>;

/** The fields `PUT /_synapse/admin/v1/registration_tokens/<token>` may change; an absent field is left alone. */
export interface RegistrationTokenChanges {
  usesAllowed?: number | null;
  expiryTime?: number | null;
}

export interface RegistrationTokensStore {
  insert(token: NewRegistrationToken): Promise<void>;
  /** Inserts the token unless one of that name exists (one statement, no error); says whether it did. */
  insertIfAbsent(token: NewRegistrationToken): Promise<boolean>;
  /**
   * Every token, oldest first (then by name). `valid`: `true` only tokens a sign-up could use now (the rule of
   * `reserve`), `false` only the others, `null` all.
   */
  list(valid: boolean | null, now: number): Promise<RegistrationToken[]>;
  /** Changes the given fields in one UPDATE; says whether the token exists. Counters are never touched. */
  update(token: string, changes: RegistrationTokenChanges): Promise<boolean>;
  /** Says whether there was such a token. */
  delete(token: string): Promise<boolean>;
  get(token: string): Promise<RegistrationToken | null>;
  /** True when the token exists, has not expired and has a use left (counting reservations). */
  isValid(token: string, now: number): Promise<boolean>;
  /** Reserves one use if the token is valid; says whether it did. */
  reserve(token: string, now: number): Promise<boolean>;
  /** Turns a reservation into a completed use. */
  complete(token: string): Promise<void>;
  /** Gives back `uses` (default 1) reservations that will never complete (their UIA sessions expired). */
  release(token: string, uses?: number): Promise<void>;
}

type Row = Selectable<Database["registration_tokens"]>;

function fromRow(row: Row): RegistrationToken {
  return {
    token: row.token,
    usesAllowed: row.uses_allowed === null ? null : Number(row.uses_allowed),
    pending: Number(row.pending),
    completed: Number(row.completed),
    expiryTime: row.expiry_time === null ? null : Number(row.expiry_time),
    createdTs: Number(row.created_ts),
    boundUsername: row.bound_username,
    boundEmail: row.bound_email,
  };
}

function toRow(t: NewRegistrationToken) {
  return {
    token: t.token,
    uses_allowed: t.usesAllowed,
    expiry_time: t.expiryTime,
    created_ts: t.createdTs,
    bound_username: t.boundUsername ?? null,
    bound_email: t.boundEmail ?? null,
  };
}

export function registrationTokensStore(db: Kysely<Database>): RegistrationTokensStore {
  return {
    async insert(t) {
      await db.insertInto("registration_tokens").values(toRow(t)).execute();
    },
    async get(token) {
      const row = await db.selectFrom("registration_tokens").selectAll().where("token", "=", token).executeTakeFirst();
      return row ? fromRow(row) : null;
    },
    async insertIfAbsent(t) {
      const row = await db
        .insertInto("registration_tokens")
        .values(toRow(t))
        .onConflict((oc) => oc.column("token").doNothing())
        .returning("token")
        .executeTakeFirst();
      return row !== undefined;
    },
    async list(valid, now) {
      let q = db.selectFrom("registration_tokens").selectAll();
      if (valid === true) {
        q = q
          .where((eb) =>
            eb.or([eb("uses_allowed", "is", null), eb(sql`pending + completed`, "<", eb.ref("uses_allowed"))]),
          )
          .where((eb) => eb.or([eb("expiry_time", "is", null), eb("expiry_time", ">", now)]));
      } else if (valid === false) {
        q = q.where((eb) =>
          eb.or([
            eb.and([eb("uses_allowed", "is not", null), eb(sql`pending + completed`, ">=", eb.ref("uses_allowed"))]),
            eb.and([eb("expiry_time", "is not", null), eb("expiry_time", "<=", now)]),
          ]),
        );
      }
      const rows = await q.orderBy("created_ts", "asc").orderBy("token", "asc").execute();
      return rows.map(fromRow);
    },
    async update(token, changes) {
      const set: { uses_allowed?: number | null; expiry_time?: number | null } = {};
      if (changes.usesAllowed !== undefined) set.uses_allowed = changes.usesAllowed;
      if (changes.expiryTime !== undefined) set.expiry_time = changes.expiryTime;
      if (Object.keys(set).length === 0) {
        const row = await db
          .selectFrom("registration_tokens")
          .select("token")
          .where("token", "=", token)
          .executeTakeFirst();
        return row !== undefined;
      }
      const r = await db.updateTable("registration_tokens").set(set).where("token", "=", token).executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },
    async delete(token) {
      const r = await db.deleteFrom("registration_tokens").where("token", "=", token).executeTakeFirst();
      return Number(r.numDeletedRows) === 1;
    },
    async isValid(token, now) {
      const row = await db
        .selectFrom("registration_tokens")
        .select("token")
        .where("token", "=", token)
        .where((eb) =>
          eb.or([eb("uses_allowed", "is", null), eb(sql`pending + completed`, "<", eb.ref("uses_allowed"))]),
        )
        .where((eb) => eb.or([eb("expiry_time", "is", null), eb("expiry_time", ">", now)]))
        .executeTakeFirst();
      return row !== undefined;
    },
    async reserve(token, now) {
      const r = await db
        .updateTable("registration_tokens")
        .set({ pending: sql`pending + 1` })
        .where("token", "=", token)
        .where((eb) =>
          eb.or([eb("uses_allowed", "is", null), eb(sql`pending + completed`, "<", eb.ref("uses_allowed"))]),
        )
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
    async release(token, uses = 1) {
      await db
        .updateTable("registration_tokens")
        .set({ pending: sql`CASE WHEN pending > ${uses} THEN pending - ${uses} ELSE 0 END` })
        .where("token", "=", token)
        .execute();
    },
  };
}
