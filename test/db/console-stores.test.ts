/**
 * The stores the console added, on SQLite and PostgreSQL: registration tokens with their bindings (migration 0006),
 * and the user counts of the dashboard.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Db } from "../../src/db/database.js";
import type { Stores } from "../../src/db/stores.js";
import { openAndMigrate } from "../../src/server.js";
import { createTestDatabase, forEachDatabase } from "../helpers/databases.js";

forEachDatabase((kind) => {
  let db: Db;
  let stores: Stores;
  beforeEach(async () => {
    ({ db, stores } = await openAndMigrate({ database: (await createTestDatabase(kind)).config }));
  });
  afterEach(() => db.close());

  describe("registration tokens", () => {
    it("keep a binding, and a token inserted without one is unbound", async () => {
      const base = { usesAllowed: 1, expiryTime: null, createdTs: 1 };
      expect(
        await stores.registrationTokens.insertIfAbsent({
          ...base,
          token: "bound",
          boundUsername: "noor",
          boundEmail: "noor@example.net",
        }),
      ).toBe(true);
      await stores.registrationTokens.insert({ ...base, token: "free" });
      expect(await stores.registrationTokens.get("bound")).toMatchObject({
        boundUsername: "noor",
        boundEmail: "noor@example.net",
      });
      expect(await stores.registrationTokens.get("free")).toMatchObject({ boundUsername: null, boundEmail: null });
      // Changing the counters or the limits leaves the binding alone.
      expect(await stores.registrationTokens.reserve("bound", 2)).toBe(true);
      expect(await stores.registrationTokens.update("bound", { usesAllowed: 5 })).toBe(true);
      expect((await stores.registrationTokens.list(null, 2)).map((t) => [t.token, t.boundUsername])).toEqual([
        ["bound", "noor"],
        ["free", null],
      ]);
    });
  });

  describe("user counts", () => {
    it("are all zero on an empty server", async () => {
      expect(await stores.userCounts.count()).toEqual({
        total: 0,
        active: 0,
        admins: 0,
        deactivated: 0,
        locked: 0,
        guests: 0,
      });
    });

    it("count each account once per state, deactivation outranking the rest", async () => {
      const add = (name: string, o: { admin?: boolean; isGuest?: boolean } = {}) =>
        stores.users.insert({
          userId: `@${name}:x`,
          passwordHash: null,
          creationTs: 1,
          admin: o.admin ?? false,
          userType: null,
          displayname: null,
          ...(o.isGuest ? { isGuest: true } : {}),
        });
      await add("plain");
      await add("admin", { admin: true });
      await add("locked");
      await add("gone-admin", { admin: true });
      await add("guest", { isGuest: true });
      await stores.users.setLocked("@locked:x", true);
      await stores.users.setDeactivated("@gone-admin:x", true);
      expect(await stores.userCounts.count()).toEqual({
        total: 5,
        active: 2,
        admins: 1,
        deactivated: 1,
        locked: 1,
        guests: 1,
      });
    });
  });
});
