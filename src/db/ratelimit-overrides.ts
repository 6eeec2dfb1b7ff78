/**
 * @module The `ratelimit_override` table: the message limit an admin set for one user in place of `rc_message`.
 */
import type { Kysely } from "kysely";
import type { Database } from "./schema.js";

export interface RatelimitOverride {
  messagesPerSecond: number;
  burstCount: number;
}

export interface RatelimitOverridesStore {
  get(userId: string): Promise<RatelimitOverride | null>;
  /** Sets the user's override, replacing any before it. */
  set(userId: string, override: RatelimitOverride): Promise<void>;
  /** False when the user had none. */
  delete(userId: string): Promise<boolean>;
}

export function ratelimitOverridesStore(db: Kysely<Database>): RatelimitOverridesStore {
  return {
    async get(userId) {
      const row = await db
        .selectFrom("ratelimit_override")
        .select(["messages_per_second", "burst_count"])
        .where("user_id", "=", userId)
        .executeTakeFirst();
      return row ? { messagesPerSecond: Number(row.messages_per_second), burstCount: Number(row.burst_count) } : null;
    },
    async set(userId, o) {
      const values = { messages_per_second: o.messagesPerSecond, burst_count: o.burstCount };
      await db
        .insertInto("ratelimit_override")
        .values({ user_id: userId, ...values })
        .onConflict((oc) => oc.column("user_id").doUpdateSet(values))
        .execute();
    },
    async delete(userId) {
      const r = await db.deleteFrom("ratelimit_override").where("user_id", "=", userId).executeTakeFirst();
      return Number(r.numDeletedRows) > 0;
    },
  };
}
