/**
 * `importUsers`, the bulk import behind `gatehouse user import` and `POST /_gatehouse/admin/v1/users/import`: the
 * registration rules for every row, conflicts decided by `on_conflict`, dry runs that write nothing, `stop` that
 * writes the rows before the bad one and none after, audit entries per account, races that create nobody twice,
 * and imported bcrypt (Synapse's) and argon2id hashes that log in over HTTP with the original password.
 */
import { hash as argon2Hash } from "@node-rs/argon2";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { AdminActor } from "../../src/accounts/audit.js";
import { IMPORT_CHUNK, importUsers, type ImportRow, type OnConflict } from "../../src/accounts/bulk-import.js";
import { createAccountsContext, type AccountsContext } from "../../src/accounts/context.js";
import { registerUser } from "../../src/accounts/registration.js";
import type { Db } from "../../src/db/database.js";
import { createStores, type Stores } from "../../src/db/stores.js";
import type { RawConfig } from "../../src/config/validate.js";
import { loginRequest, startAccountServer } from "../api/account-support.js";
import { openTestDb } from "../api/support.js";
import { forEachDatabase, type DatabaseKind } from "../helpers/databases.js";
import { configFrom, rawConfigFor, type TestServer } from "../helpers/server.js";
import type { TestDatabase } from "../helpers/databases.js";

const T0 = 1_731_000_000_000;
const ACTOR: AdminActor = { userId: "cli:tester@host", deviceId: null, tokenHash: "", ip: "local" };
/** Synapse's own bcrypt of "correct horse battery staple" (pyca/bcrypt, cost 4; see passwords.test.ts). */
const SYNAPSE_HASH = "$2b$04$yEMxJvSR1Hm71ofdVTW89eDhlAVzO/FWg/DiQz/Cpd7aVBjK0v2CS";
const SYNAPSE_PASSWORD = "correct horse battery staple";
const CONFIG: RawConfig = {
  bcrypt_rounds: 4,
  password_config: { algorithm: "bcrypt", policy: { enabled: true, minimum_length: 8, require_digit: true } },
};

interface Fixture {
  server: TestServer & { db: TestDatabase };
  db: Db;
  stores: Stores;
  ctx: AccountsContext;
}

async function start(kind: DatabaseKind): Promise<Fixture> {
  const server = await startAccountServer(kind, CONFIG);
  const db = openTestDb(server.db);
  const stores = createStores(db);
  const ctx = createAccountsContext(configFrom(rawConfigFor(server.db, CONFIG)), stores, () => T0);
  return { server, db, stores, ctx };
}

const row = (line: number, username: string, extra: Partial<ImportRow> = {}): ImportRow => ({
  line,
  username,
  password_hash: SYNAPSE_HASH,
  ...extra,
});

forEachDatabase((kind) => {
  let fx: Fixture;
  beforeEach(async () => {
    fx = await start(kind);
  });
  afterEach(async () => {
    await fx.db.close();
    await fx.server.close();
  });

  const run = (rows: ImportRow[], onConflict: OnConflict = "stop", dryRun = false) =>
    importUsers(fx.ctx, ACTOR, rows, { dryRun, onConflict });
  const users = async () =>
    (await fx.db.kysely.selectFrom("users").select(["name", "displayname", "admin"]).orderBy("name").execute()).map(
      (u) => ({ ...u }),
    );
  const audit = async () =>
    (await fx.db.kysely.selectFrom("admin_audit").selectAll().orderBy("id").execute()).map((a) => ({
      id: a.id,
      action: a.action,
      target: a.target,
      actor: a.actor,
      before: JSON.parse(a.before) as Record<string, unknown>,
      after: JSON.parse(a.after) as Record<string, unknown>,
    }));
  const emails = async () =>
    (await fx.db.kysely.selectFrom("user_threepids").select(["user_id", "address"]).orderBy("address").execute()).map(
      (t) => [t.user_id, t.address],
    );
  const existing = (localpart: string, password = "existing pass 1") =>
    registerUser(fx.ctx, {
      localpart,
      password,
      admin: false,
      userType: null,
      displayname: `${localpart} (old)`,
      login: null,
    });

  describe("creating", () => {
    it("creates every account with its columns, one audit entry each, and the addresses", async () => {
      const r = await run([
        row(2, "alice", { displayname: "Alice A", admin: "yes", email: "Alice@Example.ORG" }),
        row(3, "@bob:localhost", { password_hash: null, password: "bob password 7", admin: "0" }),
        row(4, "carol", { admin: "" }),
      ]);
      expect(r).toEqual({
        stopped: false,
        results: [
          { line: 2, user_id: "@alice:localhost", outcome: "created" },
          { line: 3, user_id: "@bob:localhost", outcome: "created" },
          { line: 4, user_id: "@carol:localhost", outcome: "created" },
        ],
      });
      expect(await users()).toEqual([
        { name: "@alice:localhost", displayname: "Alice A", admin: 1 },
        { name: "@bob:localhost", displayname: "bob", admin: 0 },
        { name: "@carol:localhost", displayname: "carol", admin: 0 },
      ]);
      expect(await emails()).toEqual([["@alice:localhost", "alice@example.org"]]);
      const entries = await audit();
      expect(entries.map((e) => [e.action, e.target, e.actor])).toEqual([
        ["user.create", "@alice:localhost", ACTOR.userId],
        ["user.create", "@bob:localhost", ACTOR.userId],
        ["user.create", "@carol:localhost", ACTOR.userId],
      ]);
      expect(entries[0]!.after).toEqual({
        admin: true,
        user_type: null,
        displayname: "Alice A",
        password: "<set>",
        via: "import",
        threepids: [{ medium: "email", address: "alice@example.org" }],
      });
      // Audit IDs come from the same counter as single entries: a later admin write numbers after them.
      await fx.ctx.stores.transaction((t) =>
        t.adminAudit.insert({ ts: T0, actor: "x", action: "y", target: null, ip: null, before: {}, after: {} }),
      );
      expect((await audit()).map((e) => e.id)).toEqual([1, 2, 3, 4]);
      // The plain password was hashed as every new password is: bcrypt at the configured cost.
      const bob = await fx.stores.users.get("@bob:localhost");
      expect(bob!.passwordHash).toMatch(/^\$2b\$04\$/);
      expect(await fx.ctx.hasher.verify("bob password 7", bob!.passwordHash)).toBe(true);
    });

    it("logs in over HTTP with imported Synapse bcrypt and argon2id hashes and the original passwords", async () => {
      const argon = await argon2Hash(Buffer.from("argon pass 42", "utf8"), { memoryCost: 19456, timeCost: 2 });
      expect(argon).toMatch(/^\$argon2id\$v=19\$/);
      await run([
        row(2, "synapse-user"),
        row(3, "hunter", { password_hash: "$2a$04$QIa6kwOKOrhqJfRqUky70eDO2G8eUxGy1tZMWSq9K8sxozxPdihFi" }),
        row(4, "argon-user", { password_hash: argon }),
      ]);
      for (const [user, password] of [
        ["synapse-user", SYNAPSE_PASSWORD],
        ["hunter", "hunter2"],
        ["argon-user", "argon pass 42"],
      ]) {
        const ok = await loginRequest(fx.server.url, user!, password!);
        expect(ok.status, ok.text).toBe(200);
        const wrong = await loginRequest(fx.server.url, user!, `${password}x`);
        expect(wrong.status).toBe(403);
      }
    });

    it("writes chunk after chunk and, with stop, keeps the chunks before the bad row", async () => {
      const rows = Array.from({ length: IMPORT_CHUNK + 5 }, (_, i) => row(i + 2, `u${String(i).padStart(5, "0")}x`));
      rows[IMPORT_CHUNK + 2] = row(IMPORT_CHUNK + 4, "Bad");
      const r = await run(rows);
      expect(r.stopped).toBe(true);
      expect(r.results).toHaveLength(IMPORT_CHUNK + 3);
      expect(r.results.at(-1)).toMatchObject({
        line: IMPORT_CHUNK + 4,
        outcome: "error",
        errcode: "M_INVALID_USERNAME",
      });
      expect((await users()).length).toBe(IMPORT_CHUNK + 2);
      expect((await audit()).length).toBe(IMPORT_CHUNK + 2);
    });
  });

  describe("bad rows", () => {
    it("names each refusal with its line, and skips bad rows unless told to stop", async () => {
      await existing("taken");
      await fx.ctx.stores.threepids.add("@taken:localhost", {
        medium: "email",
        address: "taken@example.org",
        validatedAt: 1,
        addedAt: 1,
      });
      const r = await run(
        [
          row(2, "Upper"),
          row(3, "12345"),
          row(4, "@eve:elsewhere.org"),
          row(5, "nopass", { password_hash: null }),
          row(6, "both", { password: "long enough 1" }),
          row(7, "short", { password_hash: null, password: "abc1" }),
          row(8, "nodigit", { password_hash: null, password: "no digits here" }),
          row(9, "md5", { password_hash: "$1$abc$def" }),
          row(10, "argon2i", { password_hash: "$argon2i$v=19$m=4096,t=3,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA" }),
          row(11, "truncated", { password_hash: SYNAPSE_HASH.slice(0, -1) }),
          row(12, "flag", { admin: "maybe" }),
          row(13, "mail", { email: "not an address" }),
          row(14, "stolen", { email: "Taken@example.org" }),
          row(15, "good"),
          row(16, "GOOD"),
          row(17, "@good:localhost"),
          row(18, "mail2", { email: "dup@example.org" }),
          row(19, "mail3", { email: "DUP@example.org" }),
        ],
        "skip",
      );
      const errors = r.results.filter((x) => x.outcome === "error").map((x) => [x.line, x.errcode, x.error]);
      expect(errors).toEqual([
        [2, "M_INVALID_USERNAME", "User ID can only contain characters a-z, 0-9, or '=_-./+'"],
        [3, "M_INVALID_USERNAME", "Numeric user IDs are reserved for guest users."],
        [4, "M_INVALID_USERNAME", "@eve:elsewhere.org is not a user ID of this server (localhost)"],
        [5, "M_MISSING_PARAM", "a new account needs a password or a password_hash"],
        [6, "M_INVALID_PARAM", "give password or password_hash, not both"],
        [7, "M_PASSWORD_TOO_SHORT", "The password must be at least 8 characters long"],
        [8, "M_PASSWORD_NO_DIGIT", "The password must include at least one digit"],
        [9, "M_INVALID_PARAM", expect.stringContaining("password_hash is not a bcrypt")],
        [10, "M_INVALID_PARAM", expect.stringContaining("password_hash is not a bcrypt")],
        [11, "M_INVALID_PARAM", expect.stringContaining("password_hash is not a bcrypt")],
        [12, "M_INVALID_PARAM", 'admin must be true/false, 1/0 or yes/no, not "maybe"'],
        [13, "M_INVALID_PARAM", "Unable to parse email address"],
        [14, "M_THREEPID_IN_USE", "taken@example.org belongs to @taken:localhost"],
        // Upper case is refused by the username rules before anything else, as on the admin API.
        [16, "M_INVALID_USERNAME", "User ID can only contain characters a-z, 0-9, or '=_-./+'"],
        [17, "M_INVALID_PARAM", "@good:localhost is already on line 15"],
        [19, "M_INVALID_PARAM", "dup@example.org is already on line 18"],
      ]);
      expect((await users()).map((u) => u.name)).toEqual(["@good:localhost", "@mail2:localhost", "@taken:localhost"]);
    });

    it("with stop, writes the rows before a bad row and nothing after it", async () => {
      const r = await run([row(2, "one"), row(3, "two"), row(4, "three", { password_hash: "plain" }), row(5, "four")]);
      expect(r.stopped).toBe(true);
      expect(r.results.map((x) => [x.line, x.outcome])).toEqual([
        [2, "created"],
        [3, "created"],
        [4, "error"],
      ]);
      expect((await users()).map((u) => u.name)).toEqual(["@one:localhost", "@two:localhost"]);
    });

    it("with stop, an existing account stops the import at its line", async () => {
      await existing("two");
      const r = await run([row(2, "one"), row(3, "two"), row(4, "three")]);
      expect(r.results.at(-1)).toEqual({
        line: 3,
        user_id: "@two:localhost",
        outcome: "error",
        errcode: "M_USER_IN_USE",
        error: "User ID already taken.",
      });
      expect((await users()).map((u) => u.name)).toEqual(["@one:localhost", "@two:localhost"]);
    });
  });

  describe("conflicts", () => {
    it("skip leaves an existing account untouched and writes no audit entry for it", async () => {
      await existing("alice");
      await existing("carl");
      await fx.ctx.stores.threepids.add("@carl:localhost", {
        medium: "email",
        address: "carl@example.org",
        validatedAt: 1,
        addedAt: 1,
      });
      const before = await fx.stores.users.get("@alice:localhost");
      // Nothing of a skipped row is used, so an address that belongs to someone else is no error there.
      const r = await run([row(2, "alice", { displayname: "New", email: "carl@example.org" }), row(3, "bob")], "skip");
      expect(r.results.map((x) => x.outcome)).toEqual(["skipped", "created"]);
      expect(await fx.stores.users.get("@alice:localhost")).toEqual(before);
      expect((await audit()).map((e) => e.target)).toEqual(["@bob:localhost"]);
      const taken = await run([row(4, "alice", { email: "carl@example.org" })], "update");
      expect(taken.results[0]).toMatchObject({ outcome: "error", errcode: "M_THREEPID_IN_USE" });
    });

    it("update changes only the columns given, with before and after in the log", async () => {
      await existing("alice");
      await fx.ctx.stores.threepids.add("@alice:localhost", {
        medium: "email",
        address: "old@example.org",
        validatedAt: 1,
        addedAt: 1,
      });
      const r = await run(
        [row(2, "alice", { password_hash: null, admin: "true", email: "new@example.org" })],
        "update",
      );
      expect(r.results).toEqual([{ line: 2, user_id: "@alice:localhost", outcome: "updated" }]);
      const alice = await fx.stores.users.get("@alice:localhost");
      expect(alice).toMatchObject({ admin: true, displayname: "alice (old)" });
      expect(await fx.ctx.hasher.verify("existing pass 1", alice!.passwordHash)).toBe(true);
      expect(await emails()).toEqual([["@alice:localhost", "new@example.org"]]);
      expect((await audit()).map((e) => [e.action, e.target, e.before, e.after])).toEqual([
        [
          "user.modify",
          "@alice:localhost",
          { email: ["old@example.org"], admin: false },
          { via: "import", email: ["new@example.org"], admin: true },
        ],
      ]);
    });

    it("update sets a new password (logging the account out, as the admin API does) and skips what is unchanged", async () => {
      await existing("alice");
      await existing("bob", "bob password 1");
      await fx.ctx.stores.transaction((t) => t.devices.ensure("@alice:localhost", "PHONE", null, T0));
      const r = await run(
        [
          row(2, "alice", { password_hash: SYNAPSE_HASH, displayname: "alice (old)" }),
          row(3, "bob", { password_hash: null, password: "bob password 1" }),
        ],
        "update",
      );
      expect(r.results.map((x) => x.outcome)).toEqual(["updated", "skipped"]);
      const alice = await fx.stores.users.get("@alice:localhost");
      expect(alice!.passwordHash).toBe(SYNAPSE_HASH);
      expect(await fx.stores.devices.listForUser("@alice:localhost")).toEqual([]);
      const [entry] = await audit();
      expect([entry!.before, entry!.after]).toEqual([
        { password: "<hidden>" },
        { via: "import", password: "<changed>", logout_devices: true },
      ]);
      // The same file again changes nothing at all.
      const again = await run([row(2, "alice", { password_hash: SYNAPSE_HASH })], "update");
      expect(again.results.map((x) => x.outcome)).toEqual(["skipped"]);
      expect(await audit()).toHaveLength(1);
    });
  });

  describe("dry run", () => {
    it("checks everything, conflicts included, and writes nothing", async () => {
      await existing("alice");
      const rows = [
        row(2, "alice", { admin: "yes" }),
        row(3, "bob", { password_hash: null, password: "bob password 7", email: "b@example.org" }),
        row(4, "Bad"),
      ];
      const before = { users: await users(), audit: await audit(), emails: await emails() };
      const update = await run(rows, "update", true);
      expect(update.results.map((x) => [x.line, x.outcome])).toEqual([
        [2, "would_update"],
        [3, "would_create"],
        [4, "error"],
      ]);
      const skip = await run(rows, "skip", true);
      expect(skip.results.map((x) => x.outcome)).toEqual(["would_skip", "would_create", "error"]);
      const stop = await run(rows, "stop", true);
      expect(stop).toMatchObject({ stopped: true, results: [{ line: 2, outcome: "error", errcode: "M_USER_IN_USE" }] });
      expect({ users: await users(), audit: await audit(), emails: await emails() }).toEqual(before);
    });
  });

  describe("races", () => {
    it("a name created between the lookup and the insert is skipped, not created twice or crashed on", async () => {
      // The lookup runs first; the racer's account lands right after it, before this import's insert.
      const lookup = (ids: string[]) => fx.stores.users.getManyCaseInsensitive(ids);
      let raced = false;
      const racing: AccountsContext = {
        ...fx.ctx,
        stores: {
          ...fx.ctx.stores,
          users: {
            ...fx.ctx.stores.users,
            getManyCaseInsensitive: async (ids) => {
              const found = await lookup(ids);
              if (!raced) {
                raced = true;
                await existing("bob");
              }
              return found;
            },
          },
        },
      };
      const r = await importUsers(racing, ACTOR, [row(2, "alice"), row(3, "bob"), row(4, "carol")], {
        dryRun: false,
        onConflict: "skip",
      });
      expect(r.results.map((x) => [x.user_id, x.outcome])).toEqual([
        ["@alice:localhost", "created"],
        ["@bob:localhost", "skipped"],
        ["@carol:localhost", "created"],
      ]);
      expect((await fx.stores.users.get("@bob:localhost"))!.displayname).toBe("bob (old)");
      expect((await audit()).map((e) => e.target)).toEqual(["@alice:localhost", "@carol:localhost"]);
    });

    it("two imports of the same names at once create each account once", async () => {
      const rows = Array.from({ length: 300 }, (_, i) => row(i + 2, `racer${i}`));
      const [a, b] = await Promise.all([run(rows, "skip"), run(rows, "skip")]);
      const created = [...a.results, ...b.results].filter((x) => x.outcome === "created");
      expect(created).toHaveLength(300);
      expect(new Set(created.map((x) => x.user_id)).size).toBe(300);
      expect(await users()).toHaveLength(300);
      expect(await audit()).toHaveLength(300);
    });
  });
});
