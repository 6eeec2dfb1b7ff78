/**
 * @module Counts over the `users` table for the console's dashboard: one pass, one statement, so the figures agree
 * with each other (a sign-up between two COUNTs could otherwise make active + deactivated differ from the total).
 * It reads the `users_state` index (migration 0006) rather than the rows: still a full scan, of a narrow index.
 */
import { sql, type Kysely } from "kysely";
import type { Database } from "./schema.js";

export interface UserCounts {
  /** Every account, guests and deactivated ones included. */
  total: number;
  /** Not deactivated, not locked, not a guest: the accounts that can be used by a person now. */
  active: number;
  /** Admins that are not deactivated. */
  admins: number;
  deactivated: number;
  /** Locked and not deactivated. */
  locked: number;
  /** Guests that are not deactivated. */
  guests: number;
}

export interface UserCountsStore {
  count(): Promise<UserCounts>;
}

export function userCountsStore(db: Kysely<Database>): UserCountsStore {
  return {
    async count() {
      // SUM over smallints is bigint on PostgreSQL and may arrive as a string: Number() settles both databases.
      const row = await db
        .selectFrom("users")
        .select([
          sql<number>`count(*)`.as("total"),
          sql<number | null>`sum(case when deactivated = 0 and locked = 0 and is_guest = 0 then 1 else 0 end)`.as(
            "active",
          ),
          sql<number | null>`sum(case when deactivated = 0 and admin = 1 then 1 else 0 end)`.as("admins"),
          sql<number | null>`sum(case when deactivated = 1 then 1 else 0 end)`.as("deactivated"),
          sql<number | null>`sum(case when deactivated = 0 and locked = 1 then 1 else 0 end)`.as("locked"),
          sql<number | null>`sum(case when deactivated = 0 and is_guest = 1 then 1 else 0 end)`.as("guests"),
        ])
        .executeTakeFirstOrThrow();
      return {
        total: Number(row.total),
        active: Number(row.active ?? 0),
        admins: Number(row.admins ?? 0),
        deactivated: Number(row.deactivated ?? 0),
        locked: Number(row.locked ?? 0),
        guests: Number(row.guests ?? 0),
      };
    },
  };
}
