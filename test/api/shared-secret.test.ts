/**
 * Shared-secret registration (`/_synapse/admin/v1/register`) over real HTTP, on SQLite and PostgreSQL: every refusal
 * of spec §2.2 in Synapse's order with its exact status, errcode and message, and every success shape. After each
 * refusal the users table is counted on a separate connection, so "refused" also means "nothing was created".
 *
 * MACs are computed here by an implementation independent of the server's (checked against the spec's vectors).
 */
import { createHmac } from "node:crypto";
import { crc32 } from "node:zlib";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { PasswordHasher } from "../../src/accounts/passwords.js";
import type { Db } from "../../src/db/database.js";
import { createTestDatabase, forEachDatabase, type TestDatabase } from "../helpers/databases.js";
import { call, type HttpResult } from "../helpers/http.js";
import { getNonce } from "../helpers/register.js";
import { SHARED_SECRET, startTestServer, testClock, type TestServer } from "../helpers/server.js";
import { ageNonce, countUsers, expectMatrixError, openTestDb, userRow } from "./support.js";

const REGISTER = "/_synapse/admin/v1/register";
const WHOAMI = "/_matrix/client/v3/account/whoami";
const LIFETIME_FIELD = "org.gatehouse.access_token_lifetime_ms";

/** The MAC as spec §2.3 defines it: HMAC-SHA1 over the NUL-joined fields, user_type only when truthy. */
function macOf(
  secret: string,
  nonce: string,
  username: string,
  password: string,
  admin: boolean,
  userType: string | null = null,
): string {
  const parts = [nonce, username, password, admin ? "admin" : "notadmin"];
  if (userType) parts.push(userType);
  return createHmac("sha1", Buffer.from(secret, "utf8"))
    .update(Buffer.from(parts.join("\0"), "utf8"))
    .digest("hex");
}

const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
function base62(n: number): string {
  let out = "";
  do {
    out = BASE62.charAt(n % 62) + out;
    n = Math.floor(n / 62);
  } while (n > 0);
  return out.padStart(6, "0");
}

/** Checks an access token against spec §6.2: `syt_<b64 localpart>_<20 letters>_<base62 crc32>`. */
function expectSytToken(token: unknown, localpart: string): void {
  expect(typeof token).toBe("string");
  const m = /^syt_([A-Za-z0-9+/]+)_([A-Za-z]{20})_([0-9A-Za-z]{6,})$/.exec(token as string);
  expect(m, `token ${String(token)} is not syt_ shaped`).not.toBeNull();
  expect(m![1]).toBe(Buffer.from(localpart, "utf8").toString("base64").replace(/=+$/, ""));
  expect(m![3]).toBe(base62(crc32(Buffer.from(`syt_${m![1]}_${m![2]}`, "ascii"))));
}

it("the test's own MAC matches the spec's verified vectors", () => {
  const args = ["shared_secret", "thisisanonce", "pepper_roni", "pizza"] as const;
  expect(macOf(...args, true)).toBe("48715842ad67d5dc9a9ee938a3bda4fcfae8d7c7");
  expect(macOf(...args, false)).toBe("cf2391885316861a8e3871bfdcd223ab3913221d");
  expect(macOf(...args, false, "bot")).toBe("b269635cb53e1adc15073ae7ffbd000b836b3105");
});

forEachDatabase((kind) => {
  let db: TestDatabase;
  let server: TestServer;
  let noSecret: TestServer;
  let conn: Db;
  let usersBefore = 0;
  // The server's clock: a token's expiry is reached by moving it, not by waiting.
  const clock = testClock();

  beforeAll(async () => {
    db = await createTestDatabase(kind);
    server = await startTestServer(db, { enable_registration: false }, { clock });
    // The same database, served without a shared secret.
    noSecret = await startTestServer(db, { registration_shared_secret: null });
    conn = openTestDb(db);
  });
  afterAll(async () => {
    await server.close();
    await noSecret.close();
    await conn.close();
  });
  beforeEach(async () => {
    usersBefore = await countUsers(conn);
  });

  const post = (body: unknown, base = server.url) => call(base, "POST", REGISTER, { json: body });

  interface Fields {
    username: string;
    password?: string;
    admin?: boolean;
    user_type?: string | null;
  }
  /** A complete, correctly MACed body with a fresh nonce; `extra` is merged in after the MAC is computed. */
  async function bodyFor(f: Fields, extra: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    const nonce = await getNonce(server.url);
    const password = f.password ?? "correct horse battery staple";
    const admin = f.admin ?? false;
    const userType = f.user_type ?? null;
    return {
      nonce,
      username: f.username,
      password,
      admin,
      user_type: userType,
      mac: macOf(SHARED_SECRET, nonce, f.username, password, admin, userType),
      ...extra,
    };
  }
  function without(body: Record<string, unknown>, ...keys: string[]): Record<string, unknown> {
    return Object.fromEntries(Object.entries(body).filter(([k]) => !keys.includes(k)));
  }
  /** The exact error, and not a single account more than before the test. */
  async function refused(r: HttpResult, status: number, errcode: string, error: string): Promise<void> {
    expectMatrixError(r, status, errcode, error);
    expect(await countUsers(conn)).toBe(usersBefore);
  }
  async function ok(r: HttpResult): Promise<void> {
    expect(r.status, r.text).toBe(200);
  }

  describe("GET nonce", () => {
    it("is 128 lower-case hex characters, fresh each time, and stored for any process to redeem", async () => {
      const a = await call<{ nonce: string }>(server.url, "GET", REGISTER);
      const b = await call<{ nonce: string }>(server.url, "GET", REGISTER);
      expect(a.status).toBe(200);
      expect(a.body).toEqual({ nonce: expect.stringMatching(/^[0-9a-f]{128}$/) });
      expect(b.body.nonce).toMatch(/^[0-9a-f]{128}$/);
      expect(a.body.nonce).not.toBe(b.body.nonce);
      const rows = await conn.kysely
        .selectFrom("registration_nonces")
        .select("nonce")
        .where("nonce", "in", [a.body.nonce, b.body.nonce])
        .execute();
      expect(rows).toHaveLength(2);
    });

    it("works without a shared secret configured, and without authentication", async () => {
      expect(noSecret.server.config.registration_shared_secret).toBeNull();
      const r = await call<{ nonce: string }>(noSecret.url, "GET", REGISTER, { token: "not-a-token" });
      expect(r.status).toBe(200);
      expect(r.body).toEqual({ nonce: expect.stringMatching(/^[0-9a-f]{128}$/) });
    });
  });

  describe("POST refusals", () => {
    it("without a shared secret: 400 M_UNKNOWN before the body is even read, and the nonce is not spent", async () => {
      const nonce = await getNonce(noSecret.url);
      const body = {
        nonce,
        username: "nosecret",
        password: "pw",
        admin: false,
        mac: macOf(SHARED_SECRET, nonce, "nosecret", "pw", false),
      };
      const msg = "Shared secret registration is not enabled";
      await refused(await post(body, noSecret.url), 400, "M_UNKNOWN", msg);
      await refused(await call(noSecret.url, "POST", REGISTER, { body: "not json" }), 400, "M_UNKNOWN", msg);
      await refused(await call(noSecret.url, "POST", REGISTER, { body: "" }), 400, "M_UNKNOWN", msg);
      await refused(await post([1, 2], noSecret.url), 400, "M_UNKNOWN", msg);
      // Synapse checks the secret before looking at the nonce, so the nonce is still good (on the shared database).
      await ok(await post(body));
      expect(await countUsers(conn)).toBe(usersBefore + 1);
    });

    it("a body that is not JSON (an empty one included) is 400 M_NOT_JSON", async () => {
      for (const body of ["not json", "{", "{'nonce': 'x'}", "", "NaN"]) {
        await refused(await call(server.url, "POST", REGISTER, { body }), 400, "M_NOT_JSON", "Content not JSON.");
      }
      await refused(
        await call(server.url, "POST", REGISTER, { body: "", headers: { "content-type": "application/json" } }),
        400,
        "M_NOT_JSON",
        "Content not JSON.",
      );
    });

    it("JSON that is not an object is 400 M_BAD_JSON", async () => {
      for (const body of ["[]", '[{"nonce":"x"}]', '"string"', "42", "null", "true"]) {
        await refused(
          await call(server.url, "POST", REGISTER, { body, headers: { "content-type": "application/json" } }),
          400,
          "M_BAD_JSON",
          "Content must be a JSON object.",
        );
      }
    });

    it("a missing nonce is 400 M_BAD_JSON", async () => {
      await refused(await post({}), 400, "M_BAD_JSON", "nonce must be specified");
      const body = await bodyFor({ username: "nononce" });
      await refused(await post(without(body, "nonce")), 400, "M_BAD_JSON", "nonce must be specified");
    });

    it("an unknown nonce, or one that is not a string, is 400 'unrecognised nonce'", async () => {
      const body = await bodyFor({ username: "unknownnonce" });
      for (const nonce of ["0".repeat(128), "abc", "", 12345, null, [body.nonce], { nonce: body.nonce }]) {
        await refused(await post({ ...body, nonce }), 400, "M_UNKNOWN", "unrecognised nonce");
      }
    });

    it("a nonce is single use: a reused one is refused", async () => {
      const nonce = await getNonce(server.url);
      await ok(
        await post({
          nonce,
          username: "reuse1",
          password: "pw",
          mac: macOf(SHARED_SECRET, nonce, "reuse1", "pw", false),
        }),
      );
      usersBefore += 1;
      await refused(
        await post({
          nonce,
          username: "reuse2",
          password: "pw",
          mac: macOf(SHARED_SECRET, nonce, "reuse2", "pw", false),
        }),
        400,
        "M_UNKNOWN",
        "unrecognised nonce",
      );
    });

    it("a nonce is spent by a request that fails after the nonce check", async () => {
      const body = await bodyFor({ username: "spent" });
      await refused(await post({ ...body, username: 7 }), 400, "M_UNKNOWN", "Invalid username");
      await refused(await post(body), 400, "M_UNKNOWN", "unrecognised nonce");
    });

    it("a nonce older than 60 seconds is refused", async () => {
      const body = await bodyFor({ username: "expired" });
      await ageNonce(conn, body.nonce as string, 61_000);
      await refused(await post(body), 400, "M_UNKNOWN", "unrecognised nonce");
    });

    it("a nonce 59 seconds old still works", async () => {
      const body = await bodyFor({ username: "almostexpired" });
      await ageNonce(conn, body.nonce as string, 59_000);
      const r = await post(body);
      await ok(r);
      expect(r.body.user_id).toBe("@almostexpired:localhost");
    });

    it("username: missing is M_BAD_JSON; not a string, NUL, or over 512 characters is 'Invalid username'", async () => {
      const body = await bodyFor({ username: "u" });
      await refused(await post(without(body, "username")), 400, "M_BAD_JSON", "username must be specified");
      for (const username of [123, null, ["a"], { a: 1 }, true, "ab\u0000c", "a".repeat(513)]) {
        const b = await bodyFor({ username: "u" });
        await refused(await post({ ...b, username }), 400, "M_UNKNOWN", "Invalid username");
      }
    });

    it("username: 512 characters passes the length check (and then fails the localpart rules)", async () => {
      await refused(
        await post(await bodyFor({ username: "a".repeat(512) })),
        400,
        "M_INVALID_USERNAME",
        "User ID may not be longer than 255 characters",
      );
      // Length is counted in code points, as Python does: 300 emoji are 600 UTF-16 units but pass this check.
      await refused(
        await post(await bodyFor({ username: "🐸".repeat(300) })),
        400,
        "M_INVALID_USERNAME",
        "User ID can only contain characters a-z, 0-9, or '=_-./+'",
      );
    });

    it("password: missing is M_BAD_JSON; not a string, NUL, or over 512 characters is 'Invalid password'", async () => {
      const body = await bodyFor({ username: "pwcheck" });
      await refused(await post(without(body, "password")), 400, "M_BAD_JSON", "password must be specified");
      for (const password of [123, null, ["pw"], { pw: 1 }, false, "pass\u0000word", "p".repeat(513)]) {
        const b = await bodyFor({ username: "pwcheck" });
        await refused(await post({ ...b, password }), 400, "M_UNKNOWN", "Invalid password");
      }
    });

    it("password: 512 characters (code points) is accepted", async () => {
      await ok(await post(await bodyFor({ username: "longpw1", password: "p".repeat(512) })));
      await ok(await post(await bodyFor({ username: "longpw2", password: "🔑".repeat(512) })));
      expect(await countUsers(conn)).toBe(usersBefore + 2);
    });

    it("user_type: anything but null, 'bot' or 'support' is 'Invalid user type'", async () => {
      for (const userType of ["admin", "", "BOT", 5, true, ["bot"]]) {
        const b = await bodyFor({ username: "typed" });
        await refused(await post({ ...b, user_type: userType }), 400, "M_UNKNOWN", "Invalid user type");
      }
    });

    it("a missing mac is M_BAD_JSON", async () => {
      const body = await bodyFor({ username: "nomac" });
      await refused(await post(without(body, "mac")), 400, "M_BAD_JSON", "mac must be specified");
    });

    it("a wrong mac is 403 'HMAC incorrect'", async () => {
      const wrong = async (username: string, mac: (nonce: string) => unknown, extra: Record<string, unknown> = {}) => {
        const b = await bodyFor({ username }, extra);
        return post({ ...b, mac: mac(b.nonce as string) });
      };
      const right = (nonce: string) => macOf(SHARED_SECRET, nonce, "mallory", "correct horse battery staple", false);
      const cases: Array<[string, (nonce: string) => unknown, Record<string, unknown>?]> = [
        ["wrong secret", (n) => macOf("not the secret", n, "mallory", "correct horse battery staple", false)],
        ["upper-case hex", (n) => right(n).toUpperCase()],
        ["truncated", (n) => right(n).slice(0, 39)],
        ["extended", (n) => right(n) + "0"],
        ["other nonce", () => macOf(SHARED_SECRET, "0".repeat(128), "mallory", "correct horse battery staple", false)],
        ["other password", (n) => macOf(SHARED_SECRET, n, "mallory", "other", false)],
        ["lower-cased username", (n) => macOf(SHARED_SECRET, n, "mallory", "correct horse battery staple", false)],
        ["admin not covered", (n) => right(n), { admin: true }],
        ["user_type not covered", (n) => right(n), { user_type: "bot" }],
      ];
      for (const [label, mac, extra] of cases) {
        const username = label === "lower-cased username" ? "Mallory" : "mallory";
        const r = await wrong(username, mac, extra);
        expect(r.body, label).toEqual({ errcode: "M_UNKNOWN", error: "HMAC incorrect" });
        await refused(r, 403, "M_UNKNOWN", "HMAC incorrect");
      }
    });

    it("a mac that is not a string is 403 (not a 500)", async () => {
      for (const mac of [12345, null, true, {}, [], ["deadbeef"]]) {
        const b = await bodyFor({ username: "macshape" });
        await refused(await post({ ...b, mac }), 403, "M_UNKNOWN", "HMAC incorrect");
      }
    });

    it("refresh_token that is not a boolean is refused", async () => {
      for (const refresh of ["true", 1, 0, null, {}]) {
        await refused(
          await post(await bodyFor({ username: "refresher" }, { refresh_token: refresh })),
          400,
          "M_UNKNOWN",
          "refresh_token must be a boolean",
        );
      }
    });

    it(`${LIFETIME_FIELD} must be a positive whole number`, async () => {
      for (const lifetime of [0, -5, 1.5, "1000", true]) {
        await refused(
          await post(await bodyFor({ username: "lifetimes" }, { [LIFETIME_FIELD]: lifetime })),
          400,
          "M_INVALID_PARAM",
          `${LIFETIME_FIELD} must be a positive whole number`,
        );
      }
    });

    it("a localpart that breaks the username rules is 400 M_INVALID_USERNAME", async () => {
      const cases: Array<[string, string]> = [
        ["bad user", "User ID can only contain characters a-z, 0-9, or '=_-./+'"],
        ["al:ice", "User ID can only contain characters a-z, 0-9, or '=_-./+'"],
        ["ünïcode", "User ID can only contain characters a-z, 0-9, or '=_-./+'"],
        ["", "User ID cannot be empty"],
        ["_hidden", "User ID may not begin with _"],
        ["12345", "Numeric user IDs are reserved for guest users."],
      ];
      for (const [username, error] of cases) {
        await refused(await post(await bodyFor({ username })), 400, "M_INVALID_USERNAME", error);
      }
    });

    it("a taken username is 400 M_USER_IN_USE, whatever its case", async () => {
      await ok(await post(await bodyFor({ username: "taken" })));
      usersBefore += 1;
      for (const username of ["taken", "TAKEN", "Taken"]) {
        await refused(await post(await bodyFor({ username })), 400, "M_USER_IN_USE", "User ID already taken.");
      }
      // An account stored with upper case (as old Synapse databases have) still blocks its lower-case twin.
      await conn.kysely
        .insertInto("users")
        .values({
          name: "@LegacyCase:localhost",
          password_hash: null,
          creation_ts: 0,
          user_type: null,
          displayname: null,
          avatar_url: null,
        })
        .execute();
      usersBefore += 1;
      await refused(
        await post(await bodyFor({ username: "legacycase" })),
        400,
        "M_USER_IN_USE",
        "User ID already taken.",
      );
    });

    it("checks in Synapse's order: the first fault is the one reported", async () => {
      await ok(await post(await bodyFor({ username: "orderclash" })));
      usersBefore += 1;
      type Case = [string, (b: Record<string, unknown>) => Record<string, unknown>, number, string, string];
      const cases: Case[] = [
        ["no nonce, no username", (b) => without(b, "nonce", "username"), 400, "M_BAD_JSON", "nonce must be specified"],
        [
          "bad nonce, no username",
          (b) => without({ ...b, nonce: "f00" }, "username"),
          400,
          "M_UNKNOWN",
          "unrecognised nonce",
        ],
        [
          "no username, no password",
          (b) => without(b, "username", "password"),
          400,
          "M_BAD_JSON",
          "username must be specified",
        ],
        [
          "bad username, no password",
          (b) => without({ ...b, username: "a\u0000" }, "password"),
          400,
          "M_UNKNOWN",
          "Invalid username",
        ],
        [
          "no password, bad user_type",
          (b) => without({ ...b, user_type: "x" }, "password"),
          400,
          "M_BAD_JSON",
          "password must be specified",
        ],
        [
          "bad password, bad user_type",
          (b) => ({ ...b, password: 1, user_type: "x" }),
          400,
          "M_UNKNOWN",
          "Invalid password",
        ],
        [
          "bad user_type, no mac",
          (b) => without({ ...b, user_type: "x" }, "mac"),
          400,
          "M_UNKNOWN",
          "Invalid user type",
        ],
        [
          "no mac, bad refresh_token",
          (b) => without({ ...b, refresh_token: "x" }, "mac"),
          400,
          "M_BAD_JSON",
          "mac must be specified",
        ],
        [
          "wrong mac, bad refresh_token",
          (b) => ({ ...b, mac: "0".repeat(40), refresh_token: "x" }),
          403,
          "M_UNKNOWN",
          "HMAC incorrect",
        ],
        [
          "wrong mac, invalid localpart",
          (b) => ({ ...b, username: "bad user", mac: "0".repeat(40) }),
          403,
          "M_UNKNOWN",
          "HMAC incorrect",
        ],
        [
          "wrong mac, taken username",
          (b) => ({ ...b, username: "orderclash", mac: "0".repeat(40) }),
          403,
          "M_UNKNOWN",
          "HMAC incorrect",
        ],
        [
          "bad refresh_token, taken username",
          (b) => ({ ...b, refresh_token: "x" }),
          400,
          "M_UNKNOWN",
          "refresh_token must be a boolean",
        ],
      ];
      for (const [label, mutate, status, errcode, error] of cases) {
        const base = await bodyFor({ username: "orderclash" });
        const r = await post(mutate(base));
        expect({ status: r.status, body: r.body }, label).toEqual({ status, body: { errcode, error } });
        expect(await countUsers(conn), label).toBe(usersBefore);
      }
      // The last case with its refresh_token fixed reaches the username rules.
      await refused(
        await post(await bodyFor({ username: "orderclash" })),
        400,
        "M_USER_IN_USE",
        "User ID already taken.",
      );
    });
  });

  describe("POST success", () => {
    it("returns user_id, home_server, a syt_ access token and a device ID, all of which work", async () => {
      const password = "s3cret pass";
      const r = await post(await bodyFor({ username: "alice", password }));
      await ok(r);
      expect(r.body).toEqual({
        user_id: "@alice:localhost",
        home_server: "localhost",
        access_token: expect.any(String),
        device_id: expect.stringMatching(/^[A-Z]{10}$/),
      });
      expectSytToken(r.body.access_token, "alice");
      const who = await call(server.url, "GET", WHOAMI, { token: r.body.access_token as string });
      expect(who.status).toBe(200);
      expect(who.body).toEqual({ user_id: "@alice:localhost", is_guest: false, device_id: r.body.device_id });

      expect(await countUsers(conn)).toBe(usersBefore + 1);
      const row = await userRow(conn, "@alice:localhost");
      expect(row).toMatchObject({ admin: 0, user_type: null, displayname: "alice", is_guest: 0, deactivated: 0 });
      const hasher = new PasswordHasher({ algorithm: "argon2id", bcryptRounds: 12, pepper: "" });
      expect(await hasher.verify(password, row!.password_hash)).toBe(true);
      expect(await hasher.verify("not it", row!.password_hash)).toBe(false);
      const devices = await conn.kysely
        .selectFrom("devices")
        .selectAll()
        .where("user_id", "=", "@alice:localhost")
        .execute();
      expect(devices.map((d) => d.device_id)).toEqual([r.body.device_id]);
    });

    it("registers with enable_registration: false", async () => {
      expect(server.server.config.enable_registration).toBe(false);
      const r = await post(await bodyFor({ username: "closedshop" }));
      await ok(r);
      expect(r.body.user_id).toBe("@closedshop:localhost");
    });

    it("each registration gets its own token and device", async () => {
      const a = await post(await bodyFor({ username: "twin1" }));
      const b = await post(await bodyFor({ username: "twin2" }));
      await ok(a);
      await ok(b);
      expect(a.body.access_token).not.toBe(b.body.access_token);
      expect(a.body.device_id).not.toBe(b.body.device_id);
    });

    it("admin: true (or any truthy value, as in Python) makes a server admin; falsy does not", async () => {
      await ok(await post(await bodyFor({ username: "boss", admin: true })));
      expect((await userRow(conn, "@boss:localhost"))?.admin).toBe(1);
      // The MAC says "admin" for any truthy value.
      await ok(await post(await bodyFor({ username: "boss2", admin: true }, { admin: 1 })));
      expect((await userRow(conn, "@boss2:localhost"))?.admin).toBe(1);
      await ok(await post(await bodyFor({ username: "notboss", admin: false }, { admin: 0 })));
      expect((await userRow(conn, "@notboss:localhost"))?.admin).toBe(0);
      await ok(await post(without(await bodyFor({ username: "notboss2" }), "admin")));
      expect((await userRow(conn, "@notboss2:localhost"))?.admin).toBe(0);
    });

    it("user_type bot and support are stored", async () => {
      await ok(await post(await bodyFor({ username: "robot", user_type: "bot" })));
      expect((await userRow(conn, "@robot:localhost"))?.user_type).toBe("bot");
      await ok(await post(await bodyFor({ username: "helpdesk", user_type: "support" })));
      expect((await userRow(conn, "@helpdesk:localhost"))?.user_type).toBe("support");
    });

    it("displayname is stored (and is not covered by the MAC)", async () => {
      await ok(await post(await bodyFor({ username: "piggy" }, { displayname: "Miss Piggy 🐷" })));
      expect((await userRow(conn, "@piggy:localhost"))?.displayname).toBe("Miss Piggy 🐷");
    });

    it("inhibit_login: only user_id and home_server, and no device or token is made", async () => {
      const r = await post(await bodyFor({ username: "quiet" }, { inhibit_login: true }));
      await ok(r);
      expect(r.body).toEqual({ user_id: "@quiet:localhost", home_server: "localhost" });
      expect(await userRow(conn, "@quiet:localhost")).toBeDefined();
      const devices = await conn.kysely
        .selectFrom("devices")
        .select("device_id")
        .where("user_id", "=", "@quiet:localhost")
        .execute();
      const tokens = await conn.kysely
        .selectFrom("access_tokens")
        .select("token_hash")
        .where("user_id", "=", "@quiet:localhost")
        .execute();
      expect(devices).toEqual([]);
      expect(tokens).toEqual([]);
    });

    it("device_id and initial_device_display_name are honoured", async () => {
      const r = await post(
        await bodyFor(
          { username: "phoneuser" },
          { device_id: "MYPHONE", initial_device_display_name: "Kermit's phone" },
        ),
      );
      await ok(r);
      expect(r.body.device_id).toBe("MYPHONE");
      const who = await call(server.url, "GET", WHOAMI, { token: r.body.access_token as string });
      expect(who.body).toEqual({ user_id: "@phoneuser:localhost", is_guest: false, device_id: "MYPHONE" });
      const device = await conn.kysely
        .selectFrom("devices")
        .selectAll()
        .where("user_id", "=", "@phoneuser:localhost")
        .executeTakeFirst();
      expect(device).toMatchObject({ device_id: "MYPHONE", display_name: "Kermit's phone" });
    });

    it("the username is lower-cased: Kermit becomes @kermit (the MAC covers it as sent)", async () => {
      const r = await post(await bodyFor({ username: "Kermit" }));
      await ok(r);
      expect(r.body.user_id).toBe("@kermit:localhost");
      expectSytToken(r.body.access_token, "kermit");
      expect(await userRow(conn, "@Kermit:localhost")).toBeUndefined();
      expect((await userRow(conn, "@kermit:localhost"))?.displayname).toBe("kermit");
      const who = await call(server.url, "GET", WHOAMI, { token: r.body.access_token as string });
      expect(who.body.user_id).toBe("@kermit:localhost");
    });

    it("refresh_token: false is accepted and issues no refresh token", async () => {
      const r = await post(await bodyFor({ username: "norefresh" }, { refresh_token: false }));
      await ok(r);
      expect(Object.keys(r.body).sort()).toEqual(["access_token", "device_id", "home_server", "user_id"]);
    });

    it(`${LIFETIME_FIELD} gives expires_in_ms, and the token then expires with soft_logout`, async () => {
      const lifetime = 2500;
      const r = await post(await bodyFor({ username: "mayfly" }, { [LIFETIME_FIELD]: lifetime }));
      await ok(r);
      expect(r.body).toEqual({
        user_id: "@mayfly:localhost",
        home_server: "localhost",
        access_token: expect.any(String),
        device_id: expect.any(String),
        expires_in_ms: lifetime,
      });
      const token = r.body.access_token as string;
      const fresh = await call(server.url, "GET", WHOAMI, { token });
      expect(fresh.status).toBe(200);
      expect(fresh.body.user_id).toBe("@mayfly:localhost");
      clock.advance(lifetime + 300);
      const stale = await call(server.url, "GET", WHOAMI, { token });
      expectMatrixError(stale, 401, "M_UNKNOWN_TOKEN", "Access token has expired", { soft_logout: true });
    });
  });
});
