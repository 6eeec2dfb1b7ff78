/**
 * @module The `room_key_backup_keys` table: the Megolm sessions in a user's backup, one per room and session, each
 * with the metadata the "keep the better key" rule compares and the client's encrypted `session_data`.
 */
import type { Kysely } from "kysely";
import type { Database } from "./schema.js";

export interface BackedUpKey {
  roomId: string;
  sessionId: string;
  firstMessageIndex: number;
  forwardedCount: number;
  isVerified: boolean;
  sessionData: unknown;
}

/** Which keys of a backup: all, one room's, or one session's. */
export interface KeySelection {
  roomId?: string;
  sessionId?: string;
}

export interface RoomKeyBackupKeysStore {
  list(userId: string, version: number, which: KeySelection): Promise<BackedUpKey[]>;
  /** The stored keys of the sessions named, of one room. */
  ofSessions(userId: string, version: number, roomId: string, sessionIds: string[]): Promise<BackedUpKey[]>;
  /** Adds a key or replaces the stored one of its session. */
  put(userId: string, version: number, key: BackedUpKey): Promise<void>;
  delete(userId: string, version: number, which: KeySelection): Promise<void>;
  count(userId: string, version: number): Promise<number>;
}

type Row = {
  room_id: string;
  session_id: string;
  first_message_index: number | string;
  forwarded_count: number | string;
  is_verified: number;
  session_data: string;
};

const keyOf = (r: Row): BackedUpKey => ({
  roomId: r.room_id,
  sessionId: r.session_id,
  firstMessageIndex: Number(r.first_message_index),
  forwardedCount: Number(r.forwarded_count),
  isVerified: Number(r.is_verified) === 1,
  sessionData: JSON.parse(r.session_data) as unknown,
});

const COLUMNS = [
  "room_id",
  "session_id",
  "first_message_index",
  "forwarded_count",
  "is_verified",
  "session_data",
] as const;

export function roomKeyBackupKeysStore(db: Kysely<Database>): RoomKeyBackupKeysStore {
  return {
    async list(userId, version, which) {
      let q = db
        .selectFrom("room_key_backup_keys")
        .select(COLUMNS)
        .where("user_id", "=", userId)
        .where("version", "=", version);
      if (which.roomId !== undefined) q = q.where("room_id", "=", which.roomId);
      if (which.sessionId !== undefined) q = q.where("session_id", "=", which.sessionId);
      return (await q.orderBy("room_id").orderBy("session_id").execute()).map(keyOf);
    },
    async ofSessions(userId, version, roomId, sessionIds) {
      if (sessionIds.length === 0) return [];
      const rows = await db
        .selectFrom("room_key_backup_keys")
        .select(COLUMNS)
        .where("user_id", "=", userId)
        .where("version", "=", version)
        .where("room_id", "=", roomId)
        .where("session_id", "in", sessionIds)
        .execute();
      return rows.map(keyOf);
    },
    async put(userId, version, k) {
      const values = {
        first_message_index: k.firstMessageIndex,
        forwarded_count: k.forwardedCount,
        is_verified: k.isVerified ? 1 : 0,
        session_data: JSON.stringify(k.sessionData),
      };
      await db
        .insertInto("room_key_backup_keys")
        .values({ user_id: userId, version, room_id: k.roomId, session_id: k.sessionId, ...values })
        .onConflict((oc) => oc.columns(["user_id", "version", "room_id", "session_id"]).doUpdateSet(values))
        .execute();
    },
    async delete(userId, version, which) {
      let q = db.deleteFrom("room_key_backup_keys").where("user_id", "=", userId).where("version", "=", version);
      if (which.roomId !== undefined) q = q.where("room_id", "=", which.roomId);
      if (which.sessionId !== undefined) q = q.where("session_id", "=", which.sessionId);
      await q.execute();
    },
    async count(userId, version) {
      const row = await db
        .selectFrom("room_key_backup_keys")
        .select((eb) => eb.fn.countAll<number | string>().as("n"))
        .where("user_id", "=", userId)
        .where("version", "=", version)
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },
  };
}
