/**
 * @module The `room_deletions` table: each admin room deletion, its status (`scheduled`, `active`, `complete`,
 * `failed`), its parameters and its result, as `delete_status` reports them.
 */
import type { Kysely } from "kysely";
import type { Database } from "./schema.js";

export type DeletionStatus = "scheduled" | "active" | "complete" | "failed";

export interface DeletionRecord {
  deleteId: string;
  roomId: string;
  requester: string;
  status: DeletionStatus;
  error: string | null;
  params: Record<string, unknown>;
  result: Record<string, unknown>;
  createdTs: number;
  updatedTs: number;
}

export interface RoomDeletionsStore {
  insert(d: DeletionRecord): Promise<void>;
  update(
    deleteId: string,
    change: { status: DeletionStatus; error?: string | null; result?: Record<string, unknown> },
    now: number,
  ): Promise<void>;
  get(deleteId: string): Promise<DeletionRecord | null>;
  /** The room's deletions, oldest first. */
  forRoom(roomId: string): Promise<DeletionRecord[]>;
}

type Row = {
  delete_id: string;
  room_id: string;
  requester: string;
  status: string;
  error: string | null;
  params: string;
  result: string;
  created_ts: number;
  updated_ts: number;
};

export function roomDeletionsStore(db: Kysely<Database>): RoomDeletionsStore {
  return {
    async insert(d) {
      await db
        .insertInto("room_deletions")
        .values({
          delete_id: d.deleteId,
          room_id: d.roomId,
          requester: d.requester,
          status: d.status,
          error: d.error,
          params: JSON.stringify(d.params),
          result: JSON.stringify(d.result),
          created_ts: d.createdTs,
          updated_ts: d.updatedTs,
        })
        .execute();
    },
    async update(deleteId, change, now) {
      await db
        .updateTable("room_deletions")
        .set({
          status: change.status,
          updated_ts: now,
          ...(change.error !== undefined ? { error: change.error } : {}),
          ...(change.result !== undefined ? { result: JSON.stringify(change.result) } : {}),
        })
        .where("delete_id", "=", deleteId)
        .execute();
    },
    async get(deleteId) {
      const row = await db
        .selectFrom("room_deletions")
        .selectAll()
        .where("delete_id", "=", deleteId)
        .executeTakeFirst();
      return row ? toRecord(row) : null;
    },
    async forRoom(roomId) {
      const rows = await db
        .selectFrom("room_deletions")
        .selectAll()
        .where("room_id", "=", roomId)
        .orderBy("created_ts")
        .orderBy("delete_id")
        .execute();
      return rows.map(toRecord);
    },
  };
}

function toRecord(r: Row): DeletionRecord {
  return {
    deleteId: r.delete_id,
    roomId: r.room_id,
    requester: r.requester,
    status: r.status as DeletionStatus,
    error: r.error,
    params: JSON.parse(r.params) as Record<string, unknown>,
    result: JSON.parse(r.result) as Record<string, unknown>,
    createdTs: Number(r.created_ts),
    updatedTs: Number(r.updated_ts),
  };
}
