/**
 * @module The `one_time_keys` table: a device's one-time keys and its fallback keys (`fallback` = 1, at most one
 * per algorithm), each as the device uploaded it (a string or a signed key object).
 *
 * A claim takes a one-time key with a single `DELETE … RETURNING`, so two claimers can never receive the same key:
 * if both pick the same row, the database lets only one delete it, and the other looks again.
 */
import type { Kysely } from "kysely";
import type { Database } from "./schema.js";

export interface StoredKey {
  algorithm: string;
  keyId: string;
  key: unknown;
}

export interface OneTimeKeysStore {
  /** The one-time keys (not fallback keys) of the device with these `algorithm:key_id` names that exist already. */
  existing(userId: string, deviceId: string, keys: { algorithm: string; keyId: string }[]): Promise<StoredKey[]>;
  /** Adds one-time keys; a key ID the device already has is left as it is. */
  insert(userId: string, deviceId: string, keys: StoredKey[], now: number): Promise<void>;
  /** Unclaimed one-time keys per algorithm (fallback keys not counted). */
  counts(userId: string, deviceId: string): Promise<Record<string, number>>;
  /** Takes (deletes and returns) the oldest one-time key of the algorithm, or null when there is none. */
  claim(userId: string, deviceId: string, algorithm: string): Promise<StoredKey | null>;
  /**
   * Makes `key` the device's fallback key for its algorithm, replacing any other. Re-uploading the current fallback
   * key unchanged keeps its "used" mark.
   */
  setFallback(userId: string, deviceId: string, key: StoredKey, now: number): Promise<void>;
  /** Returns the fallback key of the algorithm (which stays) and marks it used, or null when there is none. */
  claimFallback(userId: string, deviceId: string, algorithm: string): Promise<StoredKey | null>;
  /** Algorithms whose fallback key has not been handed out yet. */
  unusedFallbackAlgorithms(userId: string, deviceId: string): Promise<string[]>;
  /** `counts` and `unusedFallbackAlgorithms` in one statement, as every `/sync` response asks both. */
  countsForSync(
    userId: string,
    deviceId: string,
  ): Promise<{ counts: Record<string, number>; unusedFallback: string[] }>;
}

/** Attempts of a claim that lost every race before concluding that the device has no key left. */
const CLAIM_ATTEMPTS = 10;

export function oneTimeKeysStore(db: Kysely<Database>): OneTimeKeysStore {
  const deviceKeys = (userId: string, deviceId: string, algorithm: string, fallback: 0 | 1) =>
    db
      .selectFrom("one_time_keys")
      .where("user_id", "=", userId)
      .where("device_id", "=", deviceId)
      .where("algorithm", "=", algorithm)
      .where("fallback", "=", fallback);

  return {
    async existing(userId, deviceId, keys) {
      const found: StoredKey[] = [];
      const byAlgorithm = new Map<string, string[]>();
      for (const k of keys) byAlgorithm.set(k.algorithm, [...(byAlgorithm.get(k.algorithm) ?? []), k.keyId]);
      for (const [algorithm, ids] of byAlgorithm) {
        for (let i = 0; i < ids.length; i += 500) {
          const rows = await deviceKeys(userId, deviceId, algorithm, 0)
            .select(["key_id", "key_json"])
            .where("key_id", "in", ids.slice(i, i + 500))
            .execute();
          for (const r of rows) found.push({ algorithm, keyId: r.key_id, key: JSON.parse(r.key_json) });
        }
      }
      return found;
    },
    async insert(userId, deviceId, keys, now) {
      for (let i = 0; i < keys.length; i += 200) {
        await db
          .insertInto("one_time_keys")
          .values(
            keys.slice(i, i + 200).map((k) => ({
              user_id: userId,
              device_id: deviceId,
              algorithm: k.algorithm,
              key_id: k.keyId,
              key_json: JSON.stringify(k.key),
              fallback: 0,
              used: 0,
              ts_added_ms: now,
            })),
          )
          .onConflict((oc) => oc.columns(["user_id", "device_id", "algorithm", "key_id"]).doNothing())
          .execute();
      }
    },
    async counts(userId, deviceId) {
      const rows = await db
        .selectFrom("one_time_keys")
        .select((eb) => ["algorithm", eb.fn.countAll<number | string>().as("n")])
        .where("user_id", "=", userId)
        .where("device_id", "=", deviceId)
        .where("fallback", "=", 0)
        .groupBy("algorithm")
        .execute();
      return Object.fromEntries(rows.map((r) => [r.algorithm, Number(r.n)]));
    },
    async claim(userId, deviceId, algorithm) {
      for (let attempt = 0; attempt < CLAIM_ATTEMPTS; attempt++) {
        const oldest = deviceKeys(userId, deviceId, algorithm, 0)
          .select("key_id")
          .orderBy("ts_added_ms")
          .orderBy("key_id")
          .limit(1);
        const row = await db
          .deleteFrom("one_time_keys")
          .where("user_id", "=", userId)
          .where("device_id", "=", deviceId)
          .where("algorithm", "=", algorithm)
          .where("fallback", "=", 0)
          .where("key_id", "=", oldest)
          .returning(["key_id", "key_json"])
          .executeTakeFirst();
        if (row) return { algorithm, keyId: row.key_id, key: JSON.parse(row.key_json) };
        // Nothing deleted: either there is no key, or a concurrent claim took the one we picked.
        const left = await deviceKeys(userId, deviceId, algorithm, 0).select("key_id").limit(1).executeTakeFirst();
        if (!left) return null;
      }
      return null;
    },
    async setFallback(userId, deviceId, key, now) {
      const json = JSON.stringify(key.key);
      const current = await deviceKeys(userId, deviceId, key.algorithm, 1).select(["key_id", "key_json"]).execute();
      if (current.length === 1 && current[0]!.key_id === key.keyId && current[0]!.key_json === json) return;
      await db
        .deleteFrom("one_time_keys")
        .where("user_id", "=", userId)
        .where("device_id", "=", deviceId)
        .where("algorithm", "=", key.algorithm)
        .where("fallback", "=", 1)
        .execute();
      await db
        .insertInto("one_time_keys")
        .values({
          user_id: userId,
          device_id: deviceId,
          algorithm: key.algorithm,
          key_id: key.keyId,
          key_json: json,
          fallback: 1,
          used: 0,
          ts_added_ms: now,
        })
        .onConflict((oc) =>
          oc
            .columns(["user_id", "device_id", "algorithm", "key_id"])
            .doUpdateSet({ key_json: json, fallback: 1, used: 0, ts_added_ms: now }),
        )
        .execute();
    },
    async claimFallback(userId, deviceId, algorithm) {
      const row = await db
        .updateTable("one_time_keys")
        .set({ used: 1 })
        .where("user_id", "=", userId)
        .where("device_id", "=", deviceId)
        .where("algorithm", "=", algorithm)
        .where("fallback", "=", 1)
        .returning(["key_id", "key_json"])
        .executeTakeFirst();
      return row ? { algorithm, keyId: row.key_id, key: JSON.parse(row.key_json) } : null;
    },
    async countsForSync(userId, deviceId) {
      const rows = await db
        .selectFrom("one_time_keys")
        .select((eb) => ["algorithm", "fallback", eb.fn.countAll<number | string>().as("n")])
        .where("user_id", "=", userId)
        .where("device_id", "=", deviceId)
        .where((eb) => eb.or([eb("fallback", "=", 0), eb("used", "=", 0)]))
        .groupBy(["algorithm", "fallback"])
        .orderBy("algorithm")
        .execute();
      return {
        counts: Object.fromEntries(rows.filter((r) => Number(r.fallback) === 0).map((r) => [r.algorithm, Number(r.n)])),
        unusedFallback: rows.filter((r) => Number(r.fallback) === 1).map((r) => r.algorithm),
      };
    },
    async unusedFallbackAlgorithms(userId, deviceId) {
      const rows = await db
        .selectFrom("one_time_keys")
        .select("algorithm")
        .distinct()
        .where("user_id", "=", userId)
        .where("device_id", "=", deviceId)
        .where("fallback", "=", 1)
        .where("used", "=", 0)
        .orderBy("algorithm")
        .execute();
      return rows.map((r) => r.algorithm);
    },
  };
}
