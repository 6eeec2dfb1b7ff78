/**
 * @module The `cross_signing_keys` table: each user's master, self-signing and user-signing key as uploaded (one of
 * each), and the window an admin opened in which the master key may be replaced without UIA.
 */
import type { Kysely } from "kysely";
import type { Database } from "./schema.js";

export type CrossSigningKeyType = "master" | "self_signing" | "user_signing";

export type CrossSigningKeys = Partial<Record<CrossSigningKeyType, Record<string, unknown>>>;

export interface CrossSigningKeysStore {
  get(userId: string, type: CrossSigningKeyType): Promise<Record<string, unknown> | null>;
  /** Every key of each of `userIds` that has any, by user. */
  forUsers(userIds: string[]): Promise<Map<string, CrossSigningKeys>>;
  /** Creates or replaces the user's key of that type; a new master key closes any no-UIA window. */
  set(userId: string, type: CrossSigningKeyType, key: Record<string, unknown>): Promise<void>;
  /** Until when the master key may be replaced without UIA (null: no window); undefined when there is none. */
  replaceableUntil(userId: string): Promise<number | null | undefined>;
  /** Opens the no-UIA window until `until`; false when the user has no master key. */
  allowReplacementUntil(userId: string, until: number): Promise<boolean>;
}

export function crossSigningKeysStore(db: Kysely<Database>): CrossSigningKeysStore {
  return {
    async get(userId, type) {
      const row = await db
        .selectFrom("cross_signing_keys")
        .select("key_json")
        .where("user_id", "=", userId)
        .where("key_type", "=", type)
        .executeTakeFirst();
      return row ? (JSON.parse(row.key_json) as Record<string, unknown>) : null;
    },
    async forUsers(userIds) {
      const out = new Map<string, CrossSigningKeys>();
      if (userIds.length === 0) return out;
      const rows = await db
        .selectFrom("cross_signing_keys")
        .select(["user_id", "key_type", "key_json"])
        .where("user_id", "in", userIds)
        .execute();
      for (const r of rows) {
        const keys = out.get(r.user_id) ?? {};
        keys[r.key_type as CrossSigningKeyType] = JSON.parse(r.key_json) as Record<string, unknown>;
        out.set(r.user_id, keys);
      }
      return out;
    },
    async set(userId, type, key) {
      const json = JSON.stringify(key);
      await db
        .insertInto("cross_signing_keys")
        .values({ user_id: userId, key_type: type, key_json: json, updatable_without_uia_before_ms: null })
        .onConflict((oc) =>
          oc.columns(["user_id", "key_type"]).doUpdateSet({ key_json: json, updatable_without_uia_before_ms: null }),
        )
        .execute();
    },
    async replaceableUntil(userId) {
      const row = await db
        .selectFrom("cross_signing_keys")
        .select("updatable_without_uia_before_ms")
        .where("user_id", "=", userId)
        .where("key_type", "=", "master")
        .executeTakeFirst();
      if (!row) return undefined;
      const until = row.updatable_without_uia_before_ms;
      return until === null ? null : Number(until);
    },
    async allowReplacementUntil(userId, until) {
      const r = await db
        .updateTable("cross_signing_keys")
        .set({ updatable_without_uia_before_ms: until })
        .where("user_id", "=", userId)
        .where("key_type", "=", "master")
        .executeTakeFirst();
      return Number(r.numUpdatedRows) > 0;
    },
  };
}
