/**
 * The stores behind `/sync` and the key endpoints, on SQLite and PostgreSQL: one-time key claims under real
 * concurrency (PostgreSQL's pool runs them on separate connections), fallback keys, account data and device-list
 * positions.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Db } from "../../src/db/database.js";
import type { Stores } from "../../src/db/stores.js";
import { openAndMigrate } from "../../src/server.js";
import { createTestDatabase, forEachDatabase } from "../helpers/databases.js";

const U = "@keys:x";
const D = "DEVICE";

forEachDatabase((kind) => {
  let db: Db;
  let stores: Stores;

  beforeEach(async () => {
    ({ db, stores } = await openAndMigrate({ database: (await createTestDatabase(kind)).config }));
    await stores.users.insert({
      userId: U,
      passwordHash: null,
      creationTs: 1,
      admin: false,
      userType: null,
      displayname: null,
    });
    await stores.devices.ensure(U, D, null, 1);
  });
  afterEach(async () => {
    await db.close();
  });

  describe("one_time_keys", () => {
    it("hands every key out exactly once to concurrent claimers", async () => {
      const keys = Array.from({ length: 40 }, (_, i) => ({
        algorithm: "signed_curve25519",
        keyId: `K${i}`,
        key: { key: `k${i}` },
      }));
      await stores.oneTimeKeys.insert(U, D, keys, 1000);
      const claims = await Promise.all(
        Array.from({ length: 60 }, () => stores.oneTimeKeys.claim(U, D, "signed_curve25519")),
      );
      const got = claims.flatMap((c) => (c ? [c.keyId] : []));
      expect(got).toHaveLength(40);
      expect(new Set(got).size).toBe(40);
      expect(await stores.oneTimeKeys.counts(U, D)).toEqual({});
    });

    it("a claim that loses the race for a key takes the next one (not nothing)", async () => {
      await stores.oneTimeKeys.insert(U, D, [{ algorithm: "a", keyId: "K1", key: "one" }], 1000);
      await stores.oneTimeKeys.insert(U, D, [{ algorithm: "a", keyId: "K2", key: "two" }], 2000);
      let second: Promise<unknown> = Promise.resolve(null);
      const first = await stores.transaction(async (t) => {
        const mine = await t.oneTimeKeys.claim(U, D, "a");
        // Another claim starts while this one's delete is uncommitted: on PostgreSQL it picks the same oldest key,
        // waits on its row lock, finds it gone at commit, and must look again.
        second = stores.oneTimeKeys.claim(U, D, "a");
        await new Promise((r) => setTimeout(r, 150));
        return mine;
      });
      expect(first).toEqual({ algorithm: "a", keyId: "K1", key: "one" });
      expect(await second).toEqual({ algorithm: "a", keyId: "K2", key: "two" });
    });

    it("claims the oldest upload first and returns the key as stored", async () => {
      await stores.oneTimeKeys.insert(U, D, [{ algorithm: "a", keyId: "Z", key: "old" }], 1000);
      await stores.oneTimeKeys.insert(U, D, [{ algorithm: "a", keyId: "A", key: "new" }], 2000);
      expect(await stores.oneTimeKeys.claim(U, D, "a")).toEqual({ algorithm: "a", keyId: "Z", key: "old" });
      expect(await stores.oneTimeKeys.claim(U, D, "a")).toEqual({ algorithm: "a", keyId: "A", key: "new" });
      expect(await stores.oneTimeKeys.claim(U, D, "a")).toBeNull();
    });

    it("keeps one fallback key per algorithm, apart from the one-time keys", async () => {
      await stores.oneTimeKeys.insert(U, D, [{ algorithm: "a", keyId: "1", key: "otk" }], 1);
      await stores.oneTimeKeys.setFallback(
        U,
        D,
        { algorithm: "a", keyId: "F1", key: { key: "f1", fallback: true } },
        1,
      );
      await stores.oneTimeKeys.setFallback(
        U,
        D,
        { algorithm: "a", keyId: "F2", key: { key: "f2", fallback: true } },
        2,
      );
      expect(await stores.oneTimeKeys.counts(U, D)).toEqual({ a: 1 });
      expect(await stores.oneTimeKeys.unusedFallbackAlgorithms(U, D)).toEqual(["a"]);
      await stores.oneTimeKeys.insert(U, D, [{ algorithm: "b", keyId: "2", key: "otk" }], 1);
      await stores.oneTimeKeys.insert(U, D, [{ algorithm: "b", keyId: "3", key: "otk" }], 1);
      expect(await stores.oneTimeKeys.countsForSync(U, D)).toEqual({ counts: { a: 1, b: 2 }, unusedFallback: ["a"] });
      await stores.oneTimeKeys.claim(U, D, "b");
      await stores.oneTimeKeys.claim(U, D, "b");
      expect(await stores.oneTimeKeys.claimFallback(U, D, "a")).toEqual({
        algorithm: "a",
        keyId: "F2",
        key: { key: "f2", fallback: true },
      });
      expect(await stores.oneTimeKeys.unusedFallbackAlgorithms(U, D)).toEqual([]);
      expect(await stores.oneTimeKeys.countsForSync(U, D)).toEqual({ counts: { a: 1 }, unusedFallback: [] });
      // The same key again keeps its "used" mark; a different one is fresh.
      await stores.oneTimeKeys.setFallback(
        U,
        D,
        { algorithm: "a", keyId: "F2", key: { key: "f2", fallback: true } },
        3,
      );
      expect(await stores.oneTimeKeys.unusedFallbackAlgorithms(U, D)).toEqual([]);
      await stores.oneTimeKeys.setFallback(
        U,
        D,
        { algorithm: "a", keyId: "F3", key: { key: "f3", fallback: true } },
        4,
      );
      expect(await stores.oneTimeKeys.unusedFallbackAlgorithms(U, D)).toEqual(["a"]);
      expect(await stores.oneTimeKeys.claim(U, D, "a")).toEqual({ algorithm: "a", keyId: "1", key: "otk" });
    });

    it("goes with the device", async () => {
      await stores.oneTimeKeys.insert(U, D, [{ algorithm: "a", keyId: "1", key: "otk" }], 1);
      await stores.deviceKeys.set(U, D, { user_id: U, device_id: D });
      await stores.devices.delete(U, D);
      expect(await stores.oneTimeKeys.counts(U, D)).toEqual({});
      expect(await stores.deviceKeys.get(U, D)).toBeNull();
    });
  });

  describe("account_data and device_list_changes", () => {
    it("reports entries by stream position", async () => {
      await stores.accountData.put(U, "t1", { a: 1 }, 5);
      await stores.accountData.put(U, "t2", { b: 2 }, 7);
      await stores.accountData.put(U, "t1", { a: 3 }, 9);
      expect(await stores.accountData.get(U, "t1")).toEqual({ a: 3 });
      expect((await stores.accountData.listForUser(U)).map((e) => [e.type, e.streamId])).toEqual([
        ["t2", 7],
        ["t1", 9],
      ]);
      expect((await stores.accountData.changedBetween(U, 7, 9)).map((e) => e.type)).toEqual(["t1"]);
      expect(await stores.accountData.changedBetween(U, 9, 20)).toEqual([]);
    });

    it("finds the users whose devices changed in a range", async () => {
      await stores.deviceListChanges.insert(3, U, ["A", "B"]);
      await stores.deviceListChanges.insert(6, "@other:x", ["C"]);
      expect(await stores.deviceListChanges.usersChangedBetween([U, "@other:x"], 0, 10)).toEqual(
        ["@other:x", U].sort(),
      );
      expect(await stores.deviceListChanges.usersChangedBetween([U], 3, 10)).toEqual([]);
      expect(await stores.deviceListChanges.usersChangedBetween([U], 2, 3)).toEqual([U]);
    });
  });
});
