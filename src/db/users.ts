/**
 * @module The `users` table: one row per account, local part lower-cased at registration.
 */
import {
  PostgresAdapter,
  sql,
  type Kysely,
  type RawBuilder,
  type Insertable,
  type SelectQueryBuilder,
  type Updateable,
} from "kysely";
import type { Database, UserRow, UsersTable } from "./schema.js";
import type { UserSortColumn } from "./user-sort-columns.js";

export interface User {
  userId: string;
  passwordHash: string | null;
  /** Seconds, as Synapse stores it. */
  creationTs: number;
  admin: boolean;
  isGuest: boolean;
  userType: string | null;
  deactivated: boolean;
  locked: boolean;
  suspended: boolean;
  shadowBanned: boolean;
  approved: boolean;
  displayname: string | null;
  avatarUrl: string | null;
  /** Deactivated with `erase` (GDPR erasure); cleared when the account is reactivated. */
  erased: boolean;
  /** The terms (`user_consent`) version accepted, null if none, and when (ms). */
  consentVersion: string | null;
  consentTs: number | null;
  /** The terms version a server notice asking for consent was last sent for. */
  consentServerNoticeSent: string | null;
}

export interface NewUser {
  userId: string;
  passwordHash: string | null;
  creationTs: number;
  admin: boolean;
  userType: string | null;
  displayname: string | null;
  isGuest?: boolean;
}

export interface UsersStore {
  /** Inserts the account; a duplicate (case-insensitively) throws a unique violation. */
  insert(user: NewUser): Promise<void>;
  get(userId: string): Promise<User | null>;
  /** Every account whose ID equals `userId` ignoring case (Synapse's `lower(name) = lower(?)`). */
  getCaseInsensitive(userId: string): Promise<User[]>;
  setPasswordHash(userId: string, hash: string | null): Promise<void>;
  setDeactivated(userId: string, deactivated: boolean): Promise<void>;
  /** Sets the fields given (null clears one); fields left out are unchanged. False when no such user. */
  setProfile(userId: string, profile: { displayname?: string | null; avatarUrl?: string | null }): Promise<boolean>;
  count(): Promise<number>;
  /** The flag setters below return false when there is no such user. */
  setAdmin(userId: string, admin: boolean): Promise<boolean>;
  setLocked(userId: string, locked: boolean): Promise<boolean>;
  setSuspended(userId: string, suspended: boolean): Promise<boolean>;
  setShadowBanned(userId: string, shadowBanned: boolean): Promise<boolean>;
  setErased(userId: string, erased: boolean): Promise<boolean>;
  setUserType(userId: string, userType: string | null): Promise<boolean>;
  /** Records `version` as accepted at `ts` (ms). False when no such user. */
  setConsentVersion(userId: string, version: string, ts: number): Promise<boolean>;
  /** Sets the notice's version unless it is already that: true for the one caller that changed it. */
  claimConsentServerNotice(userId: string, version: string): Promise<boolean>;
  /**
   * One page of the admin user list and the number of accounts the filters match. The name search is a `LIKE`
   * that trigram indexes serve (migration 0005: `pg_trgm` on PostgreSQL, FTS5 on SQLite).
   */
  list(query: UserListQuery): Promise<{ users: ListedUser[]; total: number }>;
  /** Inserts every account in one statement (callers keep it to about a thousand rows); duplicates as `insert`. */
  insertMany(users: NewUser[]): Promise<void>;
  /** The accounts whose IDs equal any of `userIds` ignoring case, found through the `lower(name)` index at once. */
  getManyCaseInsensitive(userIds: string[]): Promise<User[]>;
  /**
   * The user directory's candidates: accounts neither deactivated, locked nor support users whose localpart or
   * display name holds every one of `terms` (lower-case) as a substring, through migration 0005's indexes; at most
   * `max`, and without `exclude`. The caller narrows substrings to word prefixes.
   */
  directoryCandidates(terms: readonly string[], max: number, exclude: string | null): Promise<DirectoryUser[]>;
}

export interface DirectoryUser {
  userId: string;
  displayName: string | null;
  avatarUrl: string | null;
}

export { USER_SORT_COLUMNS, type UserSortColumn } from "./user-sort-columns.js";

/** The sort columns that may hold null (the others are NOT NULL in the schema). */
const NULLABLE_SORT_COLUMNS: ReadonlySet<UserSortColumn> = new Set([
  "displayname",
  "user_type",
  "avatar_url",
  "last_seen_ts",
]);

/** Filters of the admin user list. A `boolean | null` flag filter keeps rows whose flag equals it; null keeps all. */
export interface UserListQuery {
  from: number;
  limit: number;
  /** Case-insensitive substring of the localpart (of the whole ID when it holds a `:`), or of the display name. */
  name: string | null;
  /** Case-insensitive substring of the user ID; ignored when `name` is given (Synapse's rule). */
  userIdContains: string | null;
  isGuest: boolean | null;
  deactivated: boolean | null;
  locked: boolean | null;
  suspended: boolean | null;
  admin: boolean | null;
  /** Only these user types ("" is the ordinary user, whose type is null); null: any. */
  userTypes: string[] | null;
  /** None of these user types ("" excludes ordinary users). */
  notUserTypes: string[];
  orderBy: UserSortColumn;
  direction: "f" | "b";
}

export interface ListedUser extends User {
  /** Milliseconds: the latest `last_seen_ts` of the user's devices, or null. */
  lastSeenTs: number | null;
}

/** `LIKE` wildcards in user input match themselves. */
function likeEscape(s: string): string {
  return s.replace(/[\\%_]/g, "\\$&");
}

/**
 * The accounts whose localpart (as the `name` search reads it: between the `@` and the last `:`) or display name
 * holds `term`, through the SQLite trigram table of migration 0005. Only candidates, beside the exact `LIKE`: the
 * SQLite index folds case more widely than SQLite's ASCII-only `lower()`, and the localpart span keeps a term that
 * is also part of the server name from matching every account. A term under three characters has no trigram and
 * is left to the `LIKE` alone (a scan).
 */
function trigramCandidates(term: string): RawBuilder<boolean> | null {
  if ([...term].length < 3) return null;
  const query = `{localpart displayname} : "${term.replaceAll('"', '""')}"`;
  return sql<boolean>`users.name in (select k.name from user_search_keys k where k.id in
    (select rowid from user_search where user_search match ${query}))`;
}

export function usersStore(db: Kysely<Database>): UsersStore {
  const sqlite = !(db.getExecutor().adapter instanceof PostgresAdapter);
  return {
    async insert(user) {
      await db.insertInto("users").values(newUserRow(user)).execute();
    },
    async get(userId) {
      const row = await db.selectFrom("users").selectAll().where("name", "=", userId).executeTakeFirst();
      return row ? toUser(row) : null;
    },
    async getCaseInsensitive(userId) {
      const rows = await db
        .selectFrom("users")
        .selectAll()
        .where(sql<string>`lower(name)`, "=", userId.toLowerCase())
        .execute();
      return rows.map(toUser);
    },
    async setPasswordHash(userId, hash) {
      await db.updateTable("users").set({ password_hash: hash }).where("name", "=", userId).execute();
    },
    async setDeactivated(userId, deactivated) {
      await db
        .updateTable("users")
        .set({ deactivated: deactivated ? 1 : 0 })
        .where("name", "=", userId)
        .execute();
    },
    async setProfile(userId, profile) {
      const set: { displayname?: string | null; avatar_url?: string | null } = {};
      if (profile.displayname !== undefined) set.displayname = profile.displayname;
      if (profile.avatarUrl !== undefined) set.avatar_url = profile.avatarUrl;
      if (Object.keys(set).length === 0) {
        const row = await db.selectFrom("users").select("name").where("name", "=", userId).executeTakeFirst();
        return row !== undefined;
      }
      const r = await db.updateTable("users").set(set).where("name", "=", userId).executeTakeFirst();
      return Number(r.numUpdatedRows) > 0;
    },
    async setAdmin(userId, admin) {
      return setFlag(db, userId, { admin: admin ? 1 : 0 });
    },
    async setLocked(userId, locked) {
      return setFlag(db, userId, { locked: locked ? 1 : 0 });
    },
    async setSuspended(userId, suspended) {
      return setFlag(db, userId, { suspended: suspended ? 1 : 0 });
    },
    async setShadowBanned(userId, shadowBanned) {
      return setFlag(db, userId, { shadow_banned: shadowBanned ? 1 : 0 });
    },
    async setErased(userId, erased) {
      return setFlag(db, userId, { erased: erased ? 1 : 0 });
    },
    async setUserType(userId, userType) {
      return setFlag(db, userId, { user_type: userType });
    },
    async setConsentVersion(userId, version, ts) {
      return setFlag(db, userId, { consent_version: version, consent_ts: ts });
    },
    async claimConsentServerNotice(userId, version) {
      const r = await db
        .updateTable("users")
        .set({ consent_server_notice_sent: version })
        .where("name", "=", userId)
        .where((eb) =>
          eb.or([eb("consent_server_notice_sent", "is", null), eb("consent_server_notice_sent", "!=", version)]),
        )
        .executeTakeFirst();
      return Number(r.numUpdatedRows) > 0;
    },
    async directoryCandidates(terms, max, exclude) {
      let qb = db
        .selectFrom("users")
        .select(["name", "displayname", "avatar_url"])
        .where("deactivated", "=", 0)
        .where("locked", "=", 0)
        .where((eb) => eb.or([eb("user_type", "is", null), eb("user_type", "!=", "support")]));
      if (exclude !== null) qb = qb.where("name", "!=", exclude);
      for (const term of terms) {
        const pattern = `%${likeEscape(term)}%`;
        if (!sqlite) {
          qb = qb.where(
            sql<boolean>`(users.search_localpart like ${pattern} escape '\\' or users.search_displayname like ${pattern} escape '\\')`,
          );
          continue;
        }
        // SQLite's lower() folds ASCII only; the trigram table folds the rest, and serves the search when it can.
        const candidates = trigramCandidates(term);
        qb = candidates
          ? qb.where(candidates)
          : qb.where(
              sql<boolean>`(lower(users.name) like ${`@${pattern}:%`} escape '\\' or lower(users.displayname) like ${pattern} escape '\\')`,
            );
      }
      const rows = await qb.limit(max).execute();
      return rows.map((r) => ({ userId: r.name, displayName: r.displayname, avatarUrl: r.avatar_url }));
    },
    async list(q) {
      const filtered = <T extends SelectQueryBuilder<Database, "users", object>>(qb: T): T => {
        let r = qb;
        if (q.name !== null && q.name !== "") {
          const term = q.name.toLowerCase();
          const escaped = likeEscape(term);
          const idPattern = q.name.includes(":") ? `%${escaped}%` : `@%${escaped}%:%`;
          if (!sqlite && !q.name.includes(":")) {
            // Migration 0005's stored columns hold exactly what `@%term%:%` and the display name's `LIKE` test (the
            // ID between `@` and its last `:`, and the display name, lower-cased), so they alone decide, trigram
            // indexed or not, without recomputing anything per row.
            const pattern = `%${escaped}%`;
            r = r.where(
              sql<boolean>`(users.search_localpart like ${pattern} escape '\\' or users.search_displayname like ${pattern} escape '\\')`,
            ) as T;
          } else {
            r = r.where(
              sql<boolean>`(lower(users.name) like ${idPattern} escape '\\' or lower(users.displayname) like ${`%${escaped}%`} escape '\\')`,
            ) as T;
            // With a ':' the term is matched against the whole ID, server name included, which the index leaves out.
            const candidates = sqlite && !q.name.includes(":") && trigramCandidates(term);
            if (candidates) r = r.where(candidates) as T;
          }
        } else if (q.userIdContains !== null && q.userIdContains !== "") {
          const pattern = `%${likeEscape(q.userIdContains.toLowerCase())}%`;
          r = r.where(sql<boolean>`lower(users.name) like ${pattern} escape '\\'`) as T;
        }
        const flags: [keyof UsersTable, boolean | null][] = [
          ["is_guest", q.isGuest],
          ["deactivated", q.deactivated],
          ["locked", q.locked],
          ["suspended", q.suspended],
          ["admin", q.admin],
        ];
        for (const [column, value] of flags) {
          if (value !== null) r = r.where(sql.ref(`users.${column}`), "=", value ? 1 : 0) as T;
        }
        if (q.userTypes !== null) {
          const named = q.userTypes.filter((t) => t !== "");
          const ordinary = q.userTypes.includes("");
          r = r.where((eb) =>
            eb.or([
              ...(named.length > 0 ? [eb("users.user_type", "in", named)] : []),
              ...(ordinary ? [eb("users.user_type", "is", null)] : []),
              ...(named.length === 0 && !ordinary ? [sql<boolean>`1 = 0`] : []),
            ]),
          ) as T;
        }
        const notNamed = q.notUserTypes.filter((t) => t !== "");
        if (notNamed.length > 0) {
          // A null type is not "in" any list, so ordinary users stay unless "" is excluded too.
          r = r.where((eb) =>
            eb.or([eb("users.user_type", "is", null), eb("users.user_type", "not in", notNamed)]),
          ) as T;
        }
        if (q.notUserTypes.includes("")) r = r.where("users.user_type", "is not", null) as T;
        return r;
      };

      const countTotal = async () => {
        const countRow = await filtered(db.selectFrom("users"))
          .select((eb) => eb.fn.countAll<number | string>().as("n"))
          .executeTakeFirstOrThrow();
        return Number(countRow.n);
      };
      const dir = q.direction === "f" ? "asc" : "desc";
      // Nulls sort as the smallest value on both databases (PostgreSQL's default is the opposite). Only where a
      // column can hold them: on PostgreSQL a `nulls` clause the index was not built with turns a walk of the index
      // (name, creation_ts) into a sort of every matching row, half a second over a million accounts.
      // A search keeps the clause on every column, so that the order cannot come from an index: ordered like the
      // primary key, PostgreSQL may walk all accounts in name order testing each one, hoping to fill the page early
      // (a full scan for a rare term), instead of letting the trigram index find the few matches and sorting them.
      const searching = (q.name ?? "") !== "" || (q.userIdContains ?? "") !== "";
      const nullsClause = searching || NULLABLE_SORT_COLUMNS.has(q.orderBy);
      const nulls = !nullsClause ? "" : q.direction === "f" ? "nulls first" : "nulls last";
      const column = q.orderBy === "last_seen_ts" ? "last_seen_ts" : `users.${q.orderBy}`;
      const page = () =>
        filtered(db.selectFrom("users"))
          .selectAll("users")
          .select((eb) =>
            eb
              .selectFrom("devices")
              .select((e) => e.fn.max("devices.last_seen_ts").as("m"))
              .whereRef("devices.user_id", "=", "users.name")
              .as("last_seen_ts"),
          )
          .orderBy(sql.raw(`${column} ${dir} ${nulls}`))
          .orderBy("users.name", "asc")
          .limit(q.limit)
          .offset(q.from)
          .execute();
      // PostgreSQL runs the count and the page on two connections at once (for a term with many matches each costs
      // tens of milliseconds); SQLite has one connection, and skips the page when the count says it is empty.
      let total: number;
      let rows: Awaited<ReturnType<typeof page>> = [];
      if (sqlite) {
        total = await countTotal();
        if (q.limit > 0 && q.from < total) rows = await page();
      } else {
        [total, rows] = await Promise.all([countTotal(), q.limit > 0 ? page() : []]);
      }
      if (q.limit === 0 || q.from >= total) return { users: [], total };
      return {
        total,
        users: rows.map((row) => ({
          ...toUser(row),
          lastSeenTs: row.last_seen_ts === null ? null : Number(row.last_seen_ts),
        })),
      };
    },
    async count() {
      const row = await db
        .selectFrom("users")
        .select((eb) => eb.fn.countAll<number>().as("n"))
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },
    async insertMany(users) {
      if (users.length === 0) return;
      await db.insertInto("users").values(users.map(newUserRow)).execute();
    },
    async getManyCaseInsensitive(userIds) {
      if (userIds.length === 0) return [];
      const lowered = [...new Set(userIds.map((u) => u.toLowerCase()))];
      if (sqlite) {
        const rows = await db
          .selectFrom("users")
          .selectAll()
          .where(sql<string>`lower(name)`, "in", lowered)
          .execute();
        return rows.map(toUser);
      }
      // One index probe per name: PostgreSQL would answer `lower(name) = any(…)` from the trigram index instead of
      // the unique one, which takes seconds for a thousand names; a lateral lookup of one row can only use the latter.
      const { rows } = await sql<UserRow>`select u.* from unnest(${lowered}::text[]) as k(n)
        cross join lateral (select * from users where lower(name) = k.n limit 1) as u`.execute(db);
      return rows.map(toUser);
    },
  };
}

function newUserRow(user: NewUser): Insertable<UsersTable> {
  return {
    name: user.userId,
    password_hash: user.passwordHash,
    creation_ts: user.creationTs,
    admin: user.admin ? 1 : 0,
    is_guest: user.isGuest ? 1 : 0,
    user_type: user.userType,
    displayname: user.displayname,
    avatar_url: null,
  };
}

async function setFlag(db: Kysely<Database>, userId: string, set: Updateable<UsersTable>): Promise<boolean> {
  const r = await db.updateTable("users").set(set).where("name", "=", userId).executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

function toUser(row: UserRow): User {
  return {
    userId: row.name,
    passwordHash: row.password_hash,
    creationTs: Number(row.creation_ts),
    admin: row.admin === 1,
    isGuest: row.is_guest === 1,
    userType: row.user_type,
    deactivated: row.deactivated === 1,
    locked: row.locked === 1,
    suspended: row.suspended === 1,
    shadowBanned: row.shadow_banned === 1,
    approved: row.approved === 1,
    displayname: row.displayname,
    avatarUrl: row.avatar_url,
    erased: row.erased === 1,
    consentVersion: row.consent_version,
    consentTs: row.consent_ts === null ? null : Number(row.consent_ts),
    consentServerNoticeSent: row.consent_server_notice_sent,
  };
}
