/**
 * @module The `room_key_backup_versions` table: a user's server-side key backups. A deleted backup keeps its row
 * (marked `deleted`), so its version number is never handed out again.
 */
import { sql, type Kysely } from "kysely";
import type { Database } from "./schema.js";

export interface BackupVersion {
  version: number;
  algorithm: string;
  authData: unknown;
  etag: number;
}

export interface RoomKeyBackupVersionsStore {
  create(userId: string, version: number, algorithm: string, authData: unknown): Promise<void>;
  /** The backup `version` (null: the newest) unless deleted. */
  get(userId: string, version: number | null): Promise<BackupVersion | null>;
  /**
   * `get` that also takes the row's write lock until the transaction ends (on PostgreSQL; SQLite runs one write
   * transaction at a time anyway), so two uploads to one backup compare and write one after the other.
   */
  lock(userId: string, version: number): Promise<BackupVersion | null>;
  setEtag(userId: string, version: number, etag: number): Promise<void>;
  setAuthData(userId: string, version: number, authData: unknown): Promise<void>;
  /** Marks the backup deleted; false when there was no such backup (or it was deleted already). */
  markDeleted(userId: string, version: number): Promise<boolean>;
  /** Every backup of the user and the keys in them (deactivation). */
  deleteForUser(userId: string): Promise<void>;
}

type Row = { version: number | string; algorithm: string; auth_data: string; etag: number | string };

const versionOf = (r: Row): BackupVersion => ({
  version: Number(r.version),
  algorithm: r.algorithm,
  authData: JSON.parse(r.auth_data) as unknown,
  etag: Number(r.etag),
});

export function roomKeyBackupVersionsStore(db: Kysely<Database>): RoomKeyBackupVersionsStore {
  return {
    async create(userId, version, algorithm, authData) {
      await db
        .insertInto("room_key_backup_versions")
        .values({ user_id: userId, version, algorithm, auth_data: JSON.stringify(authData) })
        .execute();
    },
    async get(userId, version) {
      let q = db
        .selectFrom("room_key_backup_versions")
        .select(["version", "algorithm", "auth_data", "etag"])
        .where("user_id", "=", userId)
        .where("deleted", "=", 0);
      q = version === null ? q.orderBy("version", "desc").limit(1) : q.where("version", "=", version);
      const row = await q.executeTakeFirst();
      return row ? versionOf(row) : null;
    },
    async lock(userId, version) {
      const row = await db
        .updateTable("room_key_backup_versions")
        .set({ etag: sql`etag` })
        .where("user_id", "=", userId)
        .where("version", "=", version)
        .where("deleted", "=", 0)
        .returning(["version", "algorithm", "auth_data", "etag"])
        .executeTakeFirst();
      return row ? versionOf(row) : null;
    },
    async setEtag(userId, version, etag) {
      await db
        .updateTable("room_key_backup_versions")
        .set({ etag })
        .where("user_id", "=", userId)
        .where("version", "=", version)
        .execute();
    },
    async setAuthData(userId, version, authData) {
      await db
        .updateTable("room_key_backup_versions")
        .set({ auth_data: JSON.stringify(authData) })
        .where("user_id", "=", userId)
        .where("version", "=", version)
        .execute();
    },
    async markDeleted(userId, version) {
      const r = await db
        .updateTable("room_key_backup_versions")
        .set({ deleted: 1 })
        .where("user_id", "=", userId)
        .where("version", "=", version)
        .where("deleted", "=", 0)
        .executeTakeFirst();
      return Number(r.numUpdatedRows) > 0;
    },
    async deleteForUser(userId) {
      await db.deleteFrom("room_key_backup_keys").where("user_id", "=", userId).execute();
      await db.deleteFrom("room_key_backup_versions").where("user_id", "=", userId).execute();
    },
  };
}
