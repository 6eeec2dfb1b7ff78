/**
 * @module The `user_experimental_features` table: the experimental features an admin turned on or off for a user.
 */
import type { Kysely } from "kysely";
import type { Database } from "./schema.js";

export interface ExperimentalFeaturesStore {
  /** The features set for the user, each with whether it is on; features never set are absent. */
  forUser(userId: string): Promise<Map<string, boolean>>;
  /** Sets each feature of `features` for the user, leaving the others as they are. */
  set(userId: string, features: ReadonlyMap<string, boolean>): Promise<void>;
}

export function experimentalFeaturesStore(db: Kysely<Database>): ExperimentalFeaturesStore {
  return {
    async forUser(userId) {
      const rows = await db
        .selectFrom("user_experimental_features")
        .select(["feature", "enabled"])
        .where("user_id", "=", userId)
        .execute();
      return new Map(rows.map((r) => [r.feature, r.enabled === 1]));
    },
    async set(userId, features) {
      const rows = [...features].map(([feature, on]) => ({ user_id: userId, feature, enabled: on ? 1 : 0 }));
      if (rows.length === 0) return;
      await db
        .insertInto("user_experimental_features")
        .values(rows)
        .onConflict((oc) =>
          oc.columns(["user_id", "feature"]).doUpdateSet((eb) => ({ enabled: eb.ref("excluded.enabled") })),
        )
        .execute();
    },
  };
}
