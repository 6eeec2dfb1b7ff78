/**
 * The storage layer's contract, checked on SQLite and PostgreSQL alike: every store in src/db, the migrations,
 * the case-insensitive uniqueness of user IDs, transactions, and PostgreSQL's int8 arriving as JS numbers.
 */
import { readdirSync } from "node:fs";
import { sql } from "kysely";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isUniqueViolation, migrate, openDatabase, type Db } from "../../src/db/database.js";
import type { Stores } from "../../src/db/stores.js";
import type { NewUser } from "../../src/db/users.js";
import { openAndMigrate } from "../../src/server.js";
import { createTestDatabase, forEachDatabase, type TestDatabase } from "../helpers/databases.js";

/** Every migration in src/db/migrations, in the order they apply (other work may add some). */
const ALL_MIGRATIONS = readdirSync(new URL("../../src/db/migrations/", import.meta.url))
  .filter((f) => /^\d{4}_.*\.ts$/.test(f))
  .map((f) => f.replace(/\.ts$/, ""))
  .sort();

/** A millisecond timestamp past 2^31 and 2^32, so a 32-bit or string round trip would show. */
const BIG_TS = 1_731_000_000_123;

function newUser(userId: string, overrides: Partial<NewUser> = {}): NewUser {
  return {
    userId,
    passwordHash: null,
    creationTs: 1_731_000_000,
    admin: false,
    userType: null,
    displayname: null,
    ...overrides,
  };
}

/** Runs `p`, expects it to reject, and returns what it rejected with. */
async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error("expected the promise to reject, but it resolved");
}

async function rowCounts(db: Db): Promise<{ users: number; devices: number; tokens: number }> {
  const count = async (table: "users" | "devices" | "access_tokens") => {
    const row = await db.kysely
      .selectFrom(table)
      .select((eb) => eb.fn.countAll<number | string | bigint>().as("n"))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  };
  return { users: await count("users"), devices: await count("devices"), tokens: await count("access_tokens") };
}

forEachDatabase((kind) => {
  let testDb: TestDatabase;
  let db: Db;
  let stores: Stores;

  beforeEach(async () => {
    testDb = await createTestDatabase(kind);
    ({ db, stores } = await openAndMigrate({ database: testDb.config }));
  });
  afterEach(async () => {
    await db.close();
  });

  describe("migrations", () => {
    it("reports the initial migration on a fresh database and nothing when run again", async () => {
      const fresh = openDatabase((await createTestDatabase(kind, { empty: true })).config);
      try {
        expect(ALL_MIGRATIONS[0]).toBe("0001_initial");
        expect(await migrate(fresh)).toEqual(ALL_MIGRATIONS);
        expect(await migrate(fresh)).toEqual([]);
      } finally {
        await fresh.close();
      }
    });

    it("is idempotent: migrating again keeps the schema and the data", async () => {
      await stores.users.insert(newUser("@keep:x"));
      expect(await migrate(db)).toEqual([]);
      expect(await migrate(db)).toEqual([]);
      expect(await stores.users.count()).toBe(1);
      expect((await stores.users.get("@keep:x"))?.userId).toBe("@keep:x");
    });

    it("opens an already-migrated database from a second connection without error", async () => {
      await stores.users.insert(newUser("@first:x"));
      const second = await openAndMigrate({ database: testDb.config });
      try {
        expect(await second.stores.users.count()).toBe(1);
      } finally {
        await second.db.close();
      }
    });

    it("0030 drops the device_auth_providers rows whose device is gone, keeping the others", async () => {
      const old = openDatabase((await createTestDatabase(kind, { empty: true })).config);
      try {
        await migrate(old, "0028_email");
        await sql`insert into users (name, creation_ts, admin) values ('@a:x', 1, 0)`.execute(old.kysely);
        await sql`insert into devices (user_id, device_id, created_ts) values ('@a:x', 'LIVE', 1)`.execute(old.kysely);
        for (const device of ["LIVE", "GONE"]) {
          await sql`insert into device_auth_providers (user_id, device_id, auth_provider_id, auth_provider_subject)
            values ('@a:x', ${device}, 'oidc-idp', 's')`.execute(old.kysely);
        }
        expect(await migrate(old)).toContain("0030_device_auth_provider_cleanup");
        const { rows } = await sql<{ device_id: string }>`select device_id from device_auth_providers`.execute(
          old.kysely,
        );
        expect(rows.map((r) => r.device_id)).toEqual(["LIVE"]);
      } finally {
        await old.close();
      }
    });

    if (kind === "postgres") {
      it("survives two processes migrating the same fresh database at once", async () => {
        const config = (await createTestDatabase(kind, { empty: true })).config;
        const a = openDatabase(config);
        const b = openDatabase(config);
        try {
          const results = await Promise.all([migrate(a), migrate(b)]);
          // Each migration applied exactly once, by one of the two.
          expect(results.flat().sort()).toEqual(ALL_MIGRATIONS);
        } finally {
          await a.close();
          await b.close();
        }
      });
    }
  });

  describe("users", () => {
    it("round-trips every field and applies the schema defaults", async () => {
      await stores.users.insert(
        newUser("@alice:x", {
          passwordHash: "$2b$04$hash",
          creationTs: 1_731_000_001,
          admin: true,
          userType: "bot",
          displayname: "Alice A",
        }),
      );
      expect(await stores.users.get("@alice:x")).toEqual({
        userId: "@alice:x",
        passwordHash: "$2b$04$hash",
        creationTs: 1_731_000_001,
        admin: true,
        isGuest: false,
        userType: "bot",
        deactivated: false,
        locked: false,
        suspended: false,
        shadowBanned: false,
        approved: true,
        displayname: "Alice A",
        avatarUrl: null,
        erased: false,
        consentVersion: null,
        consentTs: null,
        consentServerNoticeSent: null,
      });
    });

    it("records the terms version accepted and the one a consent notice was sent for", async () => {
      await stores.users.insert(newUser("@c:x"));
      await stores.users.insert(newUser("@d:x"));
      expect(await stores.users.setConsentVersion("@c:x", "1.0", 1_731_000_000_123)).toBe(true);
      expect(await stores.users.claimConsentServerNotice("@c:x", "2.0")).toBe(true);
      expect(await stores.users.setConsentVersion("@nobody:x", "1.0", 1)).toBe(false);
      const c = await stores.users.get("@c:x");
      expect([c?.consentVersion, c?.consentTs, c?.consentServerNoticeSent]).toEqual(["1.0", 1_731_000_000_123, "2.0"]);
      const d = await stores.users.get("@d:x");
      expect([d?.consentVersion, d?.consentTs, d?.consentServerNoticeSent]).toEqual([null, null, null]);
      // Claiming a notice's version succeeds once per version.
      expect(await stores.users.claimConsentServerNotice("@d:x", "1.0")).toBe(true);
      expect(await stores.users.claimConsentServerNotice("@d:x", "1.0")).toBe(false);
      expect(await stores.users.claimConsentServerNotice("@d:x", "2.0")).toBe(true);
      expect((await stores.users.get("@d:x"))?.consentServerNoticeSent).toBe("2.0");
    });

    it("stores admin false and null fields as such", async () => {
      await stores.users.insert(newUser("@bob:x"));
      const bob = await stores.users.get("@bob:x");
      expect(bob?.admin).toBe(false);
      expect(bob?.passwordHash).toBeNull();
      expect(bob?.userType).toBeNull();
      expect(bob?.displayname).toBeNull();
    });

    it("get is exact; getCaseInsensitive matches ignoring case", async () => {
      await stores.users.insert(newUser("@alice:x"));
      expect(await stores.users.get("@ALICE:x")).toBeNull();
      expect(await stores.users.get("@nobody:x")).toBeNull();
      const found = await stores.users.getCaseInsensitive("@ALiCe:X");
      expect(found.map((u) => u.userId)).toEqual(["@alice:x"]);
      expect(await stores.users.getCaseInsensitive("@alicia:x")).toEqual([]);
    });

    it("setPasswordHash changes only that user's hash, and can clear it", async () => {
      await stores.users.insert(newUser("@a:x", { passwordHash: "old-a" }));
      await stores.users.insert(newUser("@b:x", { passwordHash: "old-b" }));
      await stores.users.setPasswordHash("@a:x", "new-a");
      expect((await stores.users.get("@a:x"))?.passwordHash).toBe("new-a");
      expect((await stores.users.get("@b:x"))?.passwordHash).toBe("old-b");
      await stores.users.setPasswordHash("@a:x", null);
      expect((await stores.users.get("@a:x"))?.passwordHash).toBeNull();
    });

    it("counts users", async () => {
      expect(await stores.users.count()).toBe(0);
      await stores.users.insert(newUser("@a:x"));
      await stores.users.insert(newUser("@b:x"));
      expect(await stores.users.count()).toBe(2);
    });

    it("refuses a user ID that differs only in case, as a unique violation", async () => {
      await stores.users.insert(newUser("@alice:x"));
      const err = await rejection(stores.users.insert(newUser("@Alice:x")));
      expect(isUniqueViolation(err)).toBe(true);
      expect(await stores.users.count()).toBe(1);
      expect(await stores.users.get("@Alice:x")).toBeNull();
    });

    it("refuses the exact same user ID, as a unique violation", async () => {
      await stores.users.insert(newUser("@alice:x"));
      const err = await rejection(stores.users.insert(newUser("@alice:x", { displayname: "second" })));
      expect(isUniqueViolation(err)).toBe(true);
      expect((await stores.users.get("@alice:x"))?.displayname).toBeNull();
    });

    it("a unique violation in a transaction still reads as one", async () => {
      await stores.users.insert(newUser("@alice:x"));
      const err = await rejection(stores.transaction((t) => t.users.insert(newUser("@ALICE:x"))));
      expect(isUniqueViolation(err)).toBe(true);
    });
  });

  describe("isUniqueViolation", () => {
    it("is false for other database errors (a foreign-key violation) and for non-errors", async () => {
      const err = await rejection(stores.devices.ensure("@ghost:x", "DEV", null, 1));
      expect(err).toBeInstanceOf(Error);
      expect(isUniqueViolation(err)).toBe(false);
      expect(isUniqueViolation(new Error("boom"))).toBe(false);
      expect(isUniqueViolation(null)).toBe(false);
      expect(isUniqueViolation("23505")).toBe(false);
      expect(isUniqueViolation({ code: "23505" })).toBe(true);
    });
  });

  describe("devices", () => {
    beforeEach(async () => {
      await stores.users.insert(newUser("@alice:x"));
      await stores.users.insert(newUser("@bob:x"));
    });

    it("ensure creates a device with its display name and creation time", async () => {
      await stores.devices.ensure("@alice:x", "DEVA", "Alice's phone", BIG_TS);
      expect(await stores.devices.get("@alice:x", "DEVA")).toEqual({
        userId: "@alice:x",
        deviceId: "DEVA",
        displayName: "Alice's phone",
        createdTs: BIG_TS,
        lastSeenTs: null,
        lastSeenIp: null,
        lastSeenUserAgent: null,
      });
    });

    it("ensure on an existing device leaves it as it was", async () => {
      await stores.devices.ensure("@alice:x", "DEVA", "first", 1000);
      await stores.devices.ensure("@alice:x", "DEVA", "second", 2000);
      const d = await stores.devices.get("@alice:x", "DEVA");
      expect(d?.displayName).toBe("first");
      expect(d?.createdTs).toBe(1000);
      expect(await stores.devices.listForUser("@alice:x")).toHaveLength(1);
    });

    it("the same device ID for two users is two devices", async () => {
      await stores.devices.ensure("@alice:x", "SAME", "a", 1);
      await stores.devices.ensure("@bob:x", "SAME", "b", 2);
      expect((await stores.devices.get("@alice:x", "SAME"))?.displayName).toBe("a");
      expect((await stores.devices.get("@bob:x", "SAME"))?.displayName).toBe("b");
    });

    it("get returns null for an unknown device or another user's device", async () => {
      await stores.devices.ensure("@alice:x", "DEVA", null, 1);
      expect(await stores.devices.get("@alice:x", "NOPE")).toBeNull();
      expect(await stores.devices.get("@bob:x", "DEVA")).toBeNull();
    });

    it("listForUser lists only that user's devices, ordered by device ID", async () => {
      await stores.devices.ensure("@alice:x", "CCC", null, 1);
      await stores.devices.ensure("@alice:x", "AAA", null, 1);
      await stores.devices.ensure("@bob:x", "BBB", null, 1);
      await stores.devices.ensure("@alice:x", "BBB", null, 1);
      expect((await stores.devices.listForUser("@alice:x")).map((d) => d.deviceId)).toEqual(["AAA", "BBB", "CCC"]);
      expect((await stores.devices.listForUser("@bob:x")).map((d) => d.deviceId)).toEqual(["BBB"]);
      expect(await stores.devices.listForUser("@nobody:x")).toEqual([]);
    });

    it("delete takes the device's provider session (device_auth_providers) with it, and only that device's", async () => {
      const sso = { authProviderId: "oidc-idp", subject: "sub-1", sessionId: "sid-1" };
      await stores.devices.ensure("@alice:x", "DEVA", null, 1);
      await stores.devices.ensure("@alice:x", "DEVB", null, 1);
      await stores.loginTokens.addDeviceSession("@alice:x", "DEVA", sso);
      await stores.loginTokens.addDeviceSession("@alice:x", "DEVB", sso);
      await stores.transaction((t) => t.devices.delete("@alice:x", "DEVA"));
      expect(await stores.loginTokens.devicesOfSession("oidc-idp", "sub-1", "sid-1")).toEqual([
        { userId: "@alice:x", deviceId: "DEVB" },
      ]);
      // A device made again with the old ID (a client may name its device) is not the provider session's.
      await stores.devices.ensure("@alice:x", "DEVA", null, 2);
      expect(await stores.loginTokens.devicesOfSession("oidc-idp", "sub-1", null)).toHaveLength(1);
    });

    it("refuses a device for a user that does not exist", async () => {
      const err = await rejection(stores.devices.ensure("@ghost:x", "DEV", null, 1));
      expect(err).toBeInstanceOf(Error);
      expect(await stores.devices.listForUser("@ghost:x")).toEqual([]);
    });
  });

  describe("access tokens", () => {
    beforeEach(async () => {
      await stores.users.insert(newUser("@alice:x"));
      await stores.devices.ensure("@alice:x", "DEVA", null, 1);
    });

    it("round-trips a token record by its hash", async () => {
      await stores.accessTokens.insert({
        tokenHash: "h1",
        userId: "@alice:x",
        deviceId: "DEVA",
        createdTs: BIG_TS,
        validUntilMs: BIG_TS + 3_600_000,
        puppetsUserId: "@admin:x",
      });
      expect(await stores.accessTokens.getByHash("h1")).toMatchObject({
        tokenHash: "h1",
        userId: "@alice:x",
        deviceId: "DEVA",
        createdTs: BIG_TS,
        validUntilMs: BIG_TS + 3_600_000,
        puppetsUserId: "@admin:x",
      });
    });

    it("keeps null device, expiry and puppet as null", async () => {
      await stores.accessTokens.insert({
        tokenHash: "h2",
        userId: "@alice:x",
        deviceId: null,
        createdTs: 5,
        validUntilMs: null,
        puppetsUserId: null,
      });
      const t = await stores.accessTokens.getByHash("h2");
      expect(t?.deviceId).toBeNull();
      expect(t?.validUntilMs).toBeNull();
      expect(t?.puppetsUserId).toBeNull();
    });

    it("getByHash returns null for an unknown hash", async () => {
      expect(await stores.accessTokens.getByHash("nope")).toBeNull();
    });

    it("deleteByHash deletes exactly that token and says whether it did", async () => {
      const base = { userId: "@alice:x", deviceId: "DEVA", createdTs: 1, validUntilMs: null, puppetsUserId: null };
      await stores.accessTokens.insert({ ...base, tokenHash: "keep" });
      await stores.accessTokens.insert({ ...base, tokenHash: "drop" });
      expect(await stores.accessTokens.deleteByHash("drop")).toBe(true);
      expect(await stores.accessTokens.getByHash("drop")).toBeNull();
      expect(await stores.accessTokens.getByHash("keep")).not.toBeNull();
      expect(await stores.accessTokens.deleteByHash("drop")).toBe(false);
      expect(await stores.accessTokens.deleteByHash("never-existed")).toBe(false);
    });

    it("refuses a duplicate hash as a unique violation", async () => {
      const t = {
        tokenHash: "dup",
        userId: "@alice:x",
        deviceId: null,
        createdTs: 1,
        validUntilMs: null,
        puppetsUserId: null,
      };
      await stores.accessTokens.insert(t);
      expect(isUniqueViolation(await rejection(stores.accessTokens.insert(t)))).toBe(true);
    });

    it("refuses a token for a user that does not exist", async () => {
      const err = await rejection(
        stores.accessTokens.insert({
          tokenHash: "orphan",
          userId: "@ghost:x",
          deviceId: null,
          createdTs: 1,
          validUntilMs: null,
          puppetsUserId: null,
        }),
      );
      expect(err).toBeInstanceOf(Error);
      expect(isUniqueViolation(err)).toBe(false);
      expect(await stores.accessTokens.getByHash("orphan")).toBeNull();
    });
  });

  describe("registration nonces", () => {
    it("consume succeeds once and only once", async () => {
      await stores.registrationNonces.insert("n1", 1000);
      expect(await stores.registrationNonces.consume("n1", 0)).toBe(true);
      expect(await stores.registrationNonces.consume("n1", 0)).toBe(false);
    });

    it("consume of an unknown nonce is false", async () => {
      expect(await stores.registrationNonces.consume("never-issued", 0)).toBe(false);
    });

    it("consume respects notBefore: created at notBefore is fine, created earlier is refused", async () => {
      await stores.registrationNonces.insert("at", 1000);
      await stores.registrationNonces.insert("before", 999);
      expect(await stores.registrationNonces.consume("at", 1000)).toBe(true);
      expect(await stores.registrationNonces.consume("before", 1000)).toBe(false);
    });

    it("a refused (too old) consume does not use the nonce up", async () => {
      await stores.registrationNonces.insert("old", BIG_TS);
      expect(await stores.registrationNonces.consume("old", BIG_TS + 1)).toBe(false);
      expect(await stores.registrationNonces.consume("old", BIG_TS)).toBe(true);
    });

    it("consume of one nonce leaves the others", async () => {
      await stores.registrationNonces.insert("a", 10);
      await stores.registrationNonces.insert("b", 10);
      expect(await stores.registrationNonces.consume("a", 0)).toBe(true);
      expect(await stores.registrationNonces.consume("b", 0)).toBe(true);
    });

    it("of many concurrent consumes of one nonce, exactly one wins", async () => {
      await stores.registrationNonces.insert("race", 10);
      const results = await Promise.all(Array.from({ length: 25 }, () => stores.registrationNonces.consume("race", 0)));
      expect(results.filter(Boolean)).toHaveLength(1);
    });

    it("purgeOlderThan removes nonces created before the cutoff and keeps the rest", async () => {
      await stores.registrationNonces.insert("older", 99);
      await stores.registrationNonces.insert("exact", 100);
      await stores.registrationNonces.insert("newer", 101);
      await stores.registrationNonces.purgeOlderThan(100);
      expect(await stores.registrationNonces.consume("older", 0)).toBe(false);
      expect(await stores.registrationNonces.consume("exact", 0)).toBe(true);
      expect(await stores.registrationNonces.consume("newer", 0)).toBe(true);
    });

    it("refuses the same nonce twice as a unique violation", async () => {
      await stores.registrationNonces.insert("twice", 1);
      expect(isUniqueViolation(await rejection(stores.registrationNonces.insert("twice", 2)))).toBe(true);
    });
  });

  describe("UI-auth sessions", () => {
    const session = (sessionId: string, creationTime: number) => ({
      sessionId,
      creationTime,
      uri: "/_matrix/client/v3/register",
      method: "POST",
      description: "register a new account",
      clientdict: { username: "alice", nested: { list: [1, "two", null] } },
      serverdict: { password_hash: "$2b$04$x" },
    });

    it("create then get round-trips every field, JSON included", async () => {
      await stores.uiAuthSessions.create(session("S1", BIG_TS));
      expect(await stores.uiAuthSessions.get("S1")).toEqual(session("S1", BIG_TS));
      expect(await stores.uiAuthSessions.get("S2")).toBeNull();
    });

    it("setClientdict replaces the client dict only", async () => {
      await stores.uiAuthSessions.create(session("S1", 1));
      await stores.uiAuthSessions.setClientdict("S1", { replaced: true });
      const s = await stores.uiAuthSessions.get("S1");
      expect(s?.clientdict).toEqual({ replaced: true });
      expect(s?.serverdict).toEqual({ password_hash: "$2b$04$x" });
    });

    it("setServerValue sets one key and keeps the others", async () => {
      await stores.uiAuthSessions.create(session("S1", 1));
      await stores.uiAuthSessions.setServerValue("S1", "registered_user_id", "@alice:x");
      await stores.uiAuthSessions.setServerValue("S1", "password_hash", "$2b$04$y");
      expect((await stores.uiAuthSessions.get("S1"))?.serverdict).toEqual({
        password_hash: "$2b$04$y",
        registered_user_id: "@alice:x",
      });
    });

    it("setServerValue on an unknown session creates nothing and does not throw", async () => {
      await stores.uiAuthSessions.setServerValue("ghost", "k", 1);
      expect(await stores.uiAuthSessions.get("ghost")).toBeNull();
    });

    it("concurrent setServerValue calls for different keys all land", async () => {
      await stores.uiAuthSessions.create({ ...session("S1", 1), serverdict: {} });
      const keys = Array.from({ length: 10 }, (_, i) => `k${i}`);
      await Promise.all(keys.map((k, i) => stores.uiAuthSessions.setServerValue("S1", k, i)));
      expect((await stores.uiAuthSessions.get("S1"))?.serverdict).toEqual(
        Object.fromEntries(keys.map((k, i) => [k, i])),
      );
    });

    it("setServerValue works inside a transaction and rolls back with it", async () => {
      await stores.uiAuthSessions.create({ ...session("S1", 1), serverdict: {} });
      await stores.transaction((t) => t.uiAuthSessions.setServerValue("S1", "committed", true));
      const err = await rejection(
        stores.transaction(async (t) => {
          await t.uiAuthSessions.setServerValue("S1", "rolled_back", true);
          throw new Error("abort");
        }),
      );
      expect((err as Error).message).toBe("abort");
      expect((await stores.uiAuthSessions.get("S1"))?.serverdict).toEqual({ committed: true });
    });

    it("markStageComplete records stages; completing a stage again keeps the first result", async () => {
      await stores.uiAuthSessions.create(session("S1", 1));
      expect((await stores.uiAuthSessions.completedStages("S1")).size).toBe(0);
      await stores.uiAuthSessions.markStageComplete("S1", "m.login.dummy", true);
      await stores.uiAuthSessions.markStageComplete("S1", "m.login.registration_token", "tok-1");
      await stores.uiAuthSessions.markStageComplete("S1", "m.login.registration_token", "tok-2");
      const stages = await stores.uiAuthSessions.completedStages("S1");
      expect(stages).toEqual(
        new Map<string, unknown>([
          ["m.login.dummy", true],
          ["m.login.registration_token", "tok-1"],
        ]),
      );
    });

    it("completedStages are per session", async () => {
      await stores.uiAuthSessions.create(session("S1", 1));
      await stores.uiAuthSessions.create(session("S2", 1));
      await stores.uiAuthSessions.markStageComplete("S1", "m.login.dummy", { ok: 1 });
      expect((await stores.uiAuthSessions.completedStages("S2")).size).toBe(0);
      expect((await stores.uiAuthSessions.completedStages("S1")).get("m.login.dummy")).toEqual({ ok: 1 });
    });

    it("markStageComplete for an unknown session is refused", async () => {
      const err = await rejection(stores.uiAuthSessions.markStageComplete("ghost", "m.login.dummy", true));
      expect(err).toBeInstanceOf(Error);
    });

    it("deleteOlderThan removes sessions created before the cutoff, returns them, and drops their stages", async () => {
      await stores.uiAuthSessions.create(session("old", 99));
      await stores.uiAuthSessions.create(session("exact", 100));
      await stores.uiAuthSessions.create(session("new", BIG_TS));
      await stores.uiAuthSessions.markStageComplete("old", "m.login.dummy", true);
      await stores.uiAuthSessions.markStageComplete("new", "m.login.dummy", true);

      const deleted = await stores.uiAuthSessions.deleteOlderThan(100);
      expect(deleted).toEqual([session("old", 99)]);
      expect(await stores.uiAuthSessions.get("old")).toBeNull();
      expect(await stores.uiAuthSessions.get("exact")).not.toBeNull();
      expect(await stores.uiAuthSessions.get("new")).not.toBeNull();
      expect((await stores.uiAuthSessions.completedStages("old")).size).toBe(0);
      expect((await stores.uiAuthSessions.completedStages("new")).size).toBe(1);
      // The credentials row went with its session, so the stage can be recorded afresh only for a live session.
      expect(await rejection(stores.uiAuthSessions.markStageComplete("old", "m.login.dummy", true))).toBeInstanceOf(
        Error,
      );
    });

    it("deleteOlderThan with nothing old returns an empty list", async () => {
      await stores.uiAuthSessions.create(session("new", 500));
      expect(await stores.uiAuthSessions.deleteOlderThan(500)).toEqual([]);
      expect(await stores.uiAuthSessions.get("new")).not.toBeNull();
    });
  });

  describe("server meta", () => {
    it("get is null for an unset key", async () => {
      expect(await stores.serverMeta.get("server_name")).toBeNull();
    });

    it("setIfAbsent sets an unset key and returns it", async () => {
      expect(await stores.serverMeta.setIfAbsent("server_name", "a.example")).toBe("a.example");
      expect(await stores.serverMeta.get("server_name")).toBe("a.example");
    });

    it("setIfAbsent keeps the first value and returns it", async () => {
      await stores.serverMeta.setIfAbsent("server_name", "a.example");
      expect(await stores.serverMeta.setIfAbsent("server_name", "b.example")).toBe("a.example");
      expect(await stores.serverMeta.get("server_name")).toBe("a.example");
    });

    it("keys are independent", async () => {
      await stores.serverMeta.setIfAbsent("k1", "v1");
      expect(await stores.serverMeta.setIfAbsent("k2", "v2")).toBe("v2");
      expect(await stores.serverMeta.get("k1")).toBe("v1");
    });

    it("concurrent setIfAbsent calls all see the one value that won", async () => {
      const values = Array.from({ length: 10 }, (_, i) => `v${i}`);
      const results = await Promise.all(values.map((v) => stores.serverMeta.setIfAbsent("race", v)));
      const winner = await stores.serverMeta.get("race");
      expect(values).toContain(winner);
      expect(new Set(results)).toEqual(new Set([winner]));
    });
  });

  describe("transactions", () => {
    it("commit every write when the callback succeeds, and return its value", async () => {
      const out = await stores.transaction(async (t) => {
        await t.users.insert(newUser("@alice:x"));
        await t.devices.ensure("@alice:x", "DEVA", null, 1);
        await t.accessTokens.insert({
          tokenHash: "tok",
          userId: "@alice:x",
          deviceId: "DEVA",
          createdTs: 1,
          validUntilMs: null,
          puppetsUserId: null,
        });
        return "done";
      });
      expect(out).toBe("done");
      expect(await rowCounts(db)).toEqual({ users: 1, devices: 1, tokens: 1 });
    });

    it("roll back every write when the callback throws", async () => {
      const err = await rejection(
        stores.transaction(async (t) => {
          await t.users.insert(newUser("@alice:x"));
          await t.devices.ensure("@alice:x", "DEVA", null, 1);
          await t.accessTokens.insert({
            tokenHash: "tok",
            userId: "@alice:x",
            deviceId: "DEVA",
            createdTs: 1,
            validUntilMs: null,
            puppetsUserId: null,
          });
          throw new Error("crash after the last write");
        }),
      );
      expect((err as Error).message).toBe("crash after the last write");
      expect(await rowCounts(db)).toEqual({ users: 0, devices: 0, tokens: 0 });
      expect(await stores.users.get("@alice:x")).toBeNull();
      expect(await stores.accessTokens.getByHash("tok")).toBeNull();
    });

    it("roll back the user and device when the token insert fails in the database", async () => {
      await stores.users.insert(newUser("@other:x"));
      await stores.accessTokens.insert({
        tokenHash: "taken",
        userId: "@other:x",
        deviceId: null,
        createdTs: 1,
        validUntilMs: null,
        puppetsUserId: null,
      });
      const err = await rejection(
        stores.transaction(async (t) => {
          await t.users.insert(newUser("@alice:x"));
          await t.devices.ensure("@alice:x", "DEVA", null, 1);
          await t.accessTokens.insert({
            tokenHash: "taken",
            userId: "@alice:x",
            deviceId: "DEVA",
            createdTs: 1,
            validUntilMs: null,
            puppetsUserId: null,
          });
        }),
      );
      expect(isUniqueViolation(err)).toBe(true);
      expect(await stores.users.get("@alice:x")).toBeNull();
      expect(await stores.devices.listForUser("@alice:x")).toEqual([]);
      expect(await rowCounts(db)).toEqual({ users: 1, devices: 0, tokens: 1 });
    });

    it("leave the stores usable after a rollback", async () => {
      await rejection(
        stores.transaction(async (t) => {
          await t.users.insert(newUser("@alice:x"));
          throw new Error("no");
        }),
      );
      await stores.users.insert(newUser("@alice:x"));
      expect(await stores.users.count()).toBe(1);
    });

    it("do not show uncommitted writes to reads outside the transaction", async () => {
      let seenOutside: number | null = null;
      await stores.transaction(async (t) => {
        await t.users.insert(newUser("@alice:x"));
        if (kind === "postgres") {
          // Another pooled connection reads while the transaction is open. (SQLite has one connection, which the
          // transaction holds, so an outside read would simply wait for the commit.)
          seenOutside = await stores.users.count();
        }
      });
      if (kind === "postgres") expect(seenOutside).toBe(0);
      expect(await stores.users.count()).toBe(1);
    });
  });

  describe("column types", () => {
    it("int8 columns come back as JS numbers, not strings or bigints", async () => {
      await stores.users.insert(newUser("@alice:x", { creationTs: 4_102_444_800 }));
      await stores.devices.ensure("@alice:x", "DEVA", null, BIG_TS);
      await stores.accessTokens.insert({
        tokenHash: "tok",
        userId: "@alice:x",
        deviceId: "DEVA",
        createdTs: BIG_TS,
        validUntilMs: BIG_TS + 1,
        puppetsUserId: null,
      });
      await stores.registrationNonces.insert("n", BIG_TS);

      // Raw rows, past the stores' own conversions: the driver itself must hand back numbers.
      const user = await db.kysely.selectFrom("users").selectAll().executeTakeFirstOrThrow();
      expect(typeof user.creation_ts).toBe("number");
      expect(user.creation_ts).toBe(4_102_444_800);
      expect(typeof user.admin).toBe("number");
      const device = await db.kysely.selectFrom("devices").selectAll().executeTakeFirstOrThrow();
      expect(device.created_ts).toBe(BIG_TS);
      const token = await db.kysely.selectFrom("access_tokens").selectAll().executeTakeFirstOrThrow();
      expect(token.created_ts).toBe(BIG_TS);
      expect(token.valid_until_ms).toBe(BIG_TS + 1);
      const nonce = await db.kysely.selectFrom("registration_nonces").selectAll().executeTakeFirstOrThrow();
      expect(nonce.created_ts).toBe(BIG_TS);
      const count = await db.kysely
        .selectFrom("users")
        .select((eb) => eb.fn.countAll<number>().as("n"))
        .executeTakeFirstOrThrow();
      expect(count.n).toBe(1);
      const max = await sql<{ m: number }>`SELECT max(created_ts) AS m FROM devices`.execute(db.kysely);
      expect(max.rows[0]?.m).toBe(BIG_TS);
    });

    it("the largest safe integer survives a round trip", async () => {
      await stores.registrationNonces.insert("max", Number.MAX_SAFE_INTEGER);
      const row = await db.kysely.selectFrom("registration_nonces").selectAll().executeTakeFirstOrThrow();
      expect(row.created_ts).toBe(Number.MAX_SAFE_INTEGER);
    });
  });

  it("reports its dialect", () => {
    expect(db.dialect).toBe(kind);
  });
});
