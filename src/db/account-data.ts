/**
 * @module The `account_data` table: a user's global account data, one JSON object per type, each stamped with the
 * stream position of its last write so `/sync` can send only what changed.
 */
import type { Kysely } from "kysely";
import type { Database } from "./schema.js";

export interface AccountDataEntry {
  type: string;
  content: Record<string, unknown>;
  streamId: number;
}

export interface AccountDataStore {
  /** Creates or replaces the content of `type`. */
  put(userId: string, type: string, content: Record<string, unknown>, streamId: number): Promise<void>;
  get(userId: string, type: string): Promise<Record<string, unknown> | null>;
  listForUser(userId: string): Promise<AccountDataEntry[]>;
  /** Entries written at a stream position in (`after`, `upTo`], oldest first. */
  changedBetween(userId: string, after: number, upTo: number): Promise<AccountDataEntry[]>;
}

export function accountDataStore(db: Kysely<Database>): AccountDataStore {
  return {
    async put(userId, type, content, streamId) {
      const json = JSON.stringify(content);
      await db
        .insertInto("account_data")
        .values({ user_id: userId, type, content: json, stream_id: streamId })
        .onConflict((oc) => oc.columns(["user_id", "type"]).doUpdateSet({ content: json, stream_id: streamId }))
        .execute();
    },
    async get(userId, type) {
      const row = await db
        .selectFrom("account_data")
        .select("content")
        .where("user_id", "=", userId)
        .where("type", "=", type)
        .executeTakeFirst();
      return row ? (JSON.parse(row.content) as Record<string, unknown>) : null;
    },
    async listForUser(userId) {
      const rows = await db
        .selectFrom("account_data")
        .select(["type", "content", "stream_id"])
        .where("user_id", "=", userId)
        .orderBy("stream_id")
        .execute();
      return rows.map(toEntry);
    },
    async changedBetween(userId, after, upTo) {
      const rows = await db
        .selectFrom("account_data")
        .select(["type", "content", "stream_id"])
        .where("user_id", "=", userId)
        .where("stream_id", ">", after)
        .where("stream_id", "<=", upTo)
        .orderBy("stream_id")
        .execute();
      return rows.map(toEntry);
    },
  };
}

function toEntry(row: { type: string; content: string; stream_id: number }): AccountDataEntry {
  return {
    type: row.type,
    content: JSON.parse(row.content) as Record<string, unknown>,
    streamId: Number(row.stream_id),
  };
}
