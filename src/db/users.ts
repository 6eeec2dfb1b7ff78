/**
 * @module The `users` table: one row per account, local part lower-cased at registration.
 */
import { sql, type Kysely } from "kysely";
import type { Database, UserRow } from "./schema.js";

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
    async count() {
      const row = await db
        .selectFrom("users")
        .select((eb) => eb.fn.countAll<number>().as("n"))
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },
  };
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
  };
}
