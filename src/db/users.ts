/**
 * @module The `users` table: one row per account, local part lower-cased at registration.
 */
import { sql, type Kysely, type SelectQueryBuilder, type Updateable } from "kysely";
import type { Database, UserRow, UsersTable } from "./schema.js";

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
  /**
   * One page of the admin user list and the number of accounts the filters match. The name search is a plain
   * `LIKE` here; it is the one place to change when an index (trigram, full text) takes over.
   */
  list(query: UserListQuery): Promise<{ users: ListedUser[]; total: number }>;
}

/** The columns the admin user list may be sorted by (Synapse's `order_by` values). */
export const USER_SORT_COLUMNS = [
  "name",
  "displayname",
  "is_guest",
  "admin",
  "deactivated",
  "user_type",
  "avatar_url",
  "shadow_banned",
  "creation_ts",
  "last_seen_ts",
  "locked",
] as const;
export type UserSortColumn = (typeof USER_SORT_COLUMNS)[number];

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

export function usersStore(db: Kysely<Database>): UsersStore {
  return {
    async insert(user) {
      await db
        .insertInto("users")
        .values({
          name: user.userId,
          password_hash: user.passwordHash,
          creation_ts: user.creationTs,
          admin: user.admin ? 1 : 0,
          is_guest: user.isGuest ? 1 : 0,
          user_type: user.userType,
          displayname: user.displayname,
          avatar_url: null,
        })
        .execute();
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
    async list(q) {
      const filtered = <T extends SelectQueryBuilder<Database, "users", object>>(qb: T): T => {
        let r = qb;
        if (q.name !== null && q.name !== "") {
          const term = likeEscape(q.name.toLowerCase());
          const idPattern = q.name.includes(":") ? `%${term}%` : `@%${term}%:%`;
          r = r.where(
            sql<boolean>`(lower(users.name) like ${idPattern} escape '\\' or lower(users.displayname) like ${`%${term}%`} escape '\\')`,
          ) as T;
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

      const countRow = await filtered(db.selectFrom("users"))
        .select((eb) => eb.fn.countAll<number | string>().as("n"))
        .executeTakeFirstOrThrow();
      const total = Number(countRow.n);
      if (q.limit === 0 || q.from >= total) return { users: [], total };

      const dir = q.direction === "f" ? "asc" : "desc";
      // Nulls sort as the smallest value on both databases (PostgreSQL's default is the opposite).
      const nulls = q.direction === "f" ? "nulls first" : "nulls last";
      const column = q.orderBy === "last_seen_ts" ? "last_seen_ts" : `users.${q.orderBy}`;
      const rows = await filtered(db.selectFrom("users"))
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
  };
}
