/**
 * @module The `user_filters` table: the sync filters a user uploaded, by the ID the server gave each.
 */
import type { Kysely } from "kysely";
import type { Database } from "./schema.js";

export interface UserFiltersStore {
  insert(userId: string, filterId: string, filter: Record<string, unknown>): Promise<void>;
  get(userId: string, filterId: string): Promise<Record<string, unknown> | null>;
}

export function userFiltersStore(db: Kysely<Database>): UserFiltersStore {
  return {
    async insert(userId, filterId, filter) {
      await db
        .insertInto("user_filters")
        .values({ user_id: userId, filter_id: filterId, filter_json: JSON.stringify(filter) })
        .execute();
    },
    async get(userId, filterId) {
      const row = await db
        .selectFrom("user_filters")
        .select("filter_json")
        .where("user_id", "=", userId)
        .where("filter_id", "=", filterId)
        .executeTakeFirst();
      return row ? (JSON.parse(row.filter_json) as Record<string, unknown>) : null;
    },
  };
}
