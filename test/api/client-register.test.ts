/**
 * `POST /register` and its helpers over real HTTP on SQLite and PostgreSQL, with User-Interactive Auth exactly as
 * Synapse computes it (synapse-accounts.md §3.1–§3.9). Every response is checked against the spec's OpenAPI schema.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError } from "../../src/config/validate.js";
import { createTestDatabase, forEachDatabase } from "../helpers/databases.js";
import { specCall } from "../helpers/openapi.js";
import { startTestServer } from "../helpers/server.js";
import {
  OPEN_REGISTRATION,
  closeFixture,
  REGISTER,
  login,
  passwordLogin,
  register,
  rowCounts,
  signUp,
  startFixture,
  whoami,
  type Fixture,
  type UiaBody,
} from "./client-support.js";
import { expectMatrixError } from "./support.js";

const DUMMY = "m.login.dummy";
const TOKEN_STAGE = "m.login.registration_token";
const VALIDITY = "/_matrix/client/v1/register/m.login.registration_token/validity";

function uia(r: { status: number; body: unknown; text: string }): UiaBody {
  expect(r.status, r.text).toBe(401);
  return r.body as UiaBody;
}

async function tokenRow(fx: Fixture, token: string) {
  return fx.server.server.accounts.stores.registrationTokens.get(token);
}

async function addToken(fx: Fixture, token: string, usesAllowed: number | null, expiryTime: number | null = null) {
  await fx.server.server.accounts.stores.registrationTokens.insert({
    token,
    usesAllowed,
    expiryTime,
    createdTs: Date.now(),
  });
}

forEachDatabase((kind) => {
  describe("registration closed (the default)", () => {
    let fx: Fixture;
    beforeAll(async () => {
      fx = await startFixture(kind);
    });
    afterAll(() => closeFixture(fx));

    it("POST /register is 403 M_FORBIDDEN, under every prefix", async () => {
      for (const v of ["r0", "v3", "unstable"]) {
        const r = await register(
          fx.url,
          { username: "x", password: "pw", auth: { type: DUMMY } },
          `/_matrix/client/${v}/register`,
        );
        expectMatrixError(r, 403, "M_FORBIDDEN", "Registration has been disabled");
      }
      expect((await rowCounts(fx.look)).users).toBe(0);
    });

    it("GET /register/available and the token validity check are 403 too", async () => {
      expectMatrixError(
        await specCall(fx.url, "GET", "/_matrix/client/v3/register/available?username=free"),
        403,
        "M_FORBIDDEN",
        "Registration has been disabled",
      );
      expectMatrixError(
        await specCall(fx.url, "GET", `${VALIDITY}?token=abc`),
        403,
        "M_FORBIDDEN",
        "Registration has been disabled",
      );
    });

    it("kind=guest is 403 M_UNKNOWN 'Guest access is disabled'", async () => {
      const r = await specCall(fx.url, "POST", `${REGISTER}?kind=guest`, { json: {} });
      expectMatrixError(r, 403, "M_UNKNOWN", "Guest access is disabled");
    });

    it("an unknown kind is 400 M_UNRECOGNIZED", async () => {
      const r = await specCall(fx.url, "POST", `${REGISTER}?kind=admin`, { json: {} });
      expectMatrixError(r, 400, "M_UNRECOGNIZED", "Do not understand membership kind: admin");
    });

    it("GET /password_policy is {} when no policy is configured", async () => {
      const r = await specCall(fx.url, "GET", "/_matrix/client/v3/password_policy");
      expect({ status: r.status, body: r.body }).toEqual({ status: 200, body: {} });
    });
  });

  describe("open registration", () => {
    let fx: Fixture;
    beforeAll(async () => {
      fx = await startFixture(kind, OPEN_REGISTRATION);
    });
    afterAll(() => closeFixture(fx));

    it("POST /register {} is 401 with a session, the dummy flow and empty params", async () => {
      const r = await register(fx.url, {});
      expect(r.status).toBe(401);
      expect(r.body).toEqual({
        session: expect.any(String),
        flows: [{ stages: [DUMMY] }],
        params: {},
        completed: [],
      });
      expect((r.body as unknown as UiaBody).session).toMatch(/^[A-Za-z]{24}$/);
    });

    it("the single-request nio style (dummy stage, no session) registers at once", async () => {
      const r = await register(
        fx.url,
        { username: "nio", password: "secret pw", auth: { type: DUMMY } },
        "/_matrix/client/r0/register",
      );
      expect(r.status, r.text).toBe(200);
      expect(r.body).toEqual({
        user_id: "@nio:localhost",
        home_server: "localhost",
        access_token: expect.stringMatching(/^syt_bmlv_[A-Za-z0-9]+_[A-Za-z0-9]+$/),
        device_id: expect.any(String),
      });
      const w = await whoami(fx.url, r.body.access_token as string);
      expect(w.body).toEqual({ user_id: "@nio:localhost", is_guest: false, device_id: r.body.device_id });
      expect((await login(fx.url, passwordLogin("nio", "secret pw"))).status).toBe(200);
    });

    it("a one-request registration writes no UIA session; a 401 does", async () => {
      const before = (await rowCounts(fx.look)).ui_auth_sessions;
      const r = await register(fx.url, { username: "oneshot", password: "secret pw", auth: { type: DUMMY } });
      expect(r.status, r.text).toBe(200);
      expect((await rowCounts(fx.look)).ui_auth_sessions).toBe(before);
      const challenge = await register(fx.url, { username: "twostep", password: "secret pw" });
      expect(challenge.status).toBe(401);
      expect((await rowCounts(fx.look)).ui_auth_sessions).toBe(before + 1);
    });

    it("multi-step: the password sent on the first request is kept hashed in the session, never in clear", async () => {
      const first = uia(
        await register(fx.url, { username: "multi", password: "step by step", initial_device_display_name: "Phone" }),
      );
      expect(first.flows).toEqual([{ stages: [DUMMY] }]);
      const row = await fx.look.kysely
        .selectFrom("ui_auth_sessions")
        .selectAll()
        .where("session_id", "=", first.session)
        .executeTakeFirstOrThrow();
      expect(row.clientdict).not.toContain("step by step");
      expect(row.serverdict).not.toContain("step by step");
      expect((JSON.parse(row.serverdict) as { password_hash?: string }).password_hash).toMatch(/^\$argon2id\$/);

      const done = await register(fx.url, { auth: { type: DUMMY, session: first.session } });
      expect(done.status, done.text).toBe(200);
      expect(done.body.user_id).toBe("@multi:localhost");
      // The display name came with the password, so it counts (Synapse's work-around only drops it otherwise).
      const device = await fx.server.server.accounts.stores.devices.get(
        "@multi:localhost",
        done.body.device_id as string,
      );
      expect(device?.displayName).toBe("Phone");
      expect((await login(fx.url, passwordLogin("multi", "step by step"))).status).toBe(200);
    });

    it("a session used on another URI or with another method is 403", async () => {
      const first = uia(await register(fx.url, { username: "wanderer", password: "pw" }));
      const other = await register(
        fx.url,
        { auth: { type: DUMMY, session: first.session } },
        "/_matrix/client/r0/register",
      );
      expectMatrixError(
        other,
        403,
        "M_UNKNOWN",
        "Requested operation has changed during the UI authentication session.",
      );

      await fx.server.server.accounts.stores.uiAuthSessions.create({
        sessionId: "putsessionputsessionputs",
        creationTime: Date.now(),
        uri: REGISTER,
        method: "PUT",
        description: "register a new account",
        clientdict: {},
        serverdict: {},
      });
      const method = await register(fx.url, { auth: { type: DUMMY, session: "putsessionputsessionputs" } });
      expectMatrixError(
        method,
        403,
        "M_UNKNOWN",
        "Requested operation has changed during the UI authentication session.",
      );
      expect(await fx.server.server.accounts.stores.users.get("@wanderer:localhost")).toBeNull();
    });

    it("an unknown session is 400 'Unknown session ID: x'", async () => {
      const r = await register(fx.url, { username: "lost", password: "pw", auth: { type: DUMMY, session: "x" } });
      expectMatrixError(r, 400, "M_UNKNOWN", "Unknown session ID: x");
    });

    it("a stage that is in no flow is 401 with an errcode, and the session stays open", async () => {
      const first = uia(await register(fx.url, { username: "stager", password: "pw" }));
      const r = uia(await register(fx.url, { auth: { type: "m.login.recaptcha", session: first.session } }));
      expect(r.session).toBe(first.session);
      expect(r.flows).toEqual([{ stages: [DUMMY] }]);
      expect(r.errcode).toEqual(expect.any(String));
      expect(r.error).toEqual(expect.any(String));
      expect(r.completed).toEqual([]);
      expect((await register(fx.url, { auth: { type: DUMMY, session: first.session } })).status).toBe(200);
    });

    it("no password at all is 400 M_MISSING_PARAM once the flow completes", async () => {
      const r = await register(fx.url, { username: "nopass", auth: { type: DUMMY } });
      expectMatrixError(r, 400, "M_MISSING_PARAM", "Missing params: password");
      expect(await fx.server.server.accounts.stores.users.get("@nopass:localhost")).toBeNull();
    });

    it("lower-cases the username", async () => {
      const r = await signUp(fx.url, "Kermit", "pw");
      expect(r.user_id).toBe("@kermit:localhost");
      const again = await register(fx.url, { username: "KERMIT", password: "pw", auth: { type: DUMMY } });
      expectMatrixError(again, 400, "M_USER_IN_USE", "User ID already taken.");
    });

    it("no username: a numeric one is generated", async () => {
      const r = await register(fx.url, { password: "pw", auth: { type: DUMMY } });
      expect(r.status, r.text).toBe(200);
      expect(r.body.user_id).toMatch(/^@\d+:localhost$/);
    });

    it("inhibit_login: an account, but no device and no token", async () => {
      const before = await rowCounts(fx.look);
      const r = await register(fx.url, {
        username: "quiet",
        password: "pw",
        inhibit_login: true,
        auth: { type: DUMMY },
      });
      expect({ status: r.status, body: r.body }).toEqual({
        status: 200,
        body: { user_id: "@quiet:localhost", home_server: "localhost" },
      });
      const after = await rowCounts(fx.look);
      expect(after.users).toBe(before.users + 1);
      expect(after.devices).toBe(before.devices);
      expect(after.access_tokens).toBe(before.access_tokens);
    });

    it("device_id and initial_device_display_name are used", async () => {
      const r = await signUp(fx.url, "gadget", "pw", {
        device_id: "GADGETDEV",
        initial_device_display_name: "Gadget's phone",
      });
      expect(r.device_id).toBe("GADGETDEV");
      const device = await fx.server.server.accounts.stores.devices.get("@gadget:localhost", "GADGETDEV");
      expect(device?.displayName).toBe("Gadget's phone");
    });

    it("refresh_token: true gives a refresh token and expires_in_ms; false or absent gives neither", async () => {
      const r = await register(fx.url, {
        username: "fresh",
        password: "pw",
        refresh_token: true,
        auth: { type: DUMMY },
      });
      expect(r.status, r.text).toBe(200);
      expect(r.body.refresh_token).toMatch(/^syr_/);
      expect(r.body.expires_in_ms).toBeGreaterThan(290_000);
      expect(r.body.expires_in_ms).toBeLessThanOrEqual(300_000);
      const plain = await signUp(fx.url, "stale", "pw");
      expect(plain).not.toHaveProperty("refresh_token");
      expect(plain).not.toHaveProperty("expires_in_ms");
      const bad = await register(fx.url, {
        username: "weird",
        password: "pw",
        refresh_token: "yes",
        auth: { type: DUMMY },
      });
      expectMatrixError(bad, 400, "M_UNKNOWN", "`refresh_token` should be true or false.");
    });

    it("bad usernames are 400 M_INVALID_USERNAME and leave no account, device, token or session", async () => {
      const before = await rowCounts(fx.look);
      const cases: [string, string][] = [
        ["bang!", "User ID can only contain characters a-z, 0-9, or '=_-./+'"],
        ["co:lon", "User ID can only contain characters a-z, 0-9, or '=_-./+'"],
        ["with space", "User ID can only contain characters a-z, 0-9, or '=_-./+'"],
        ["kërmit", "User ID can only contain characters a-z, 0-9, or '=_-./+'"],
        ["ünïcode", "User ID can only contain characters a-z, 0-9, or '=_-./+'"],
        ["a".repeat(256), "User ID may not be longer than 255 characters"],
        ["_underscore", "User ID may not begin with _"],
        ["12345", "Numeric user IDs are reserved for guest users."],
      ];
      for (const [username, error] of cases) {
        const r = await register(fx.url, { username, password: "pw", auth: { type: DUMMY } });
        expectMatrixError(r, 400, "M_INVALID_USERNAME", error);
        // The multi-step way is refused on its first request, before a session exists.
        expectMatrixError(await register(fx.url, { username, password: "pw" }), 400, "M_INVALID_USERNAME", error);
      }
      // Longer than Synapse's 512-character cap: refused before any rule.
      expectMatrixError(
        await register(fx.url, { username: "a".repeat(513), password: "pw", auth: { type: DUMMY } }),
        400,
        "M_UNKNOWN",
        "Invalid username",
      );
      expect(await rowCounts(fx.look)).toEqual(before);
      // Upper case is fine: it is lower-cased first.
      expect((await signUp(fx.url, "UPPER.case", "pw")).user_id).toBe("@upper.case:localhost");
    });

    it("an access token on /register is 400", async () => {
      const { access_token } = await signUp(fx.url, "tokened", "pw");
      const r = await register(
        fx.url,
        { username: "second", password: "pw", auth: { type: DUMMY } },
        REGISTER,
        access_token,
      );
      expectMatrixError(
        r,
        400,
        "M_UNKNOWN",
        "An access token should not be provided on requests to /register (except if type is m.login.application_service)",
      );
      const viaQuery = await register(
        fx.url,
        { username: "second", password: "pw", auth: { type: DUMMY } },
        `${REGISTER}?access_token=${access_token}`,
      );
      expect(viaQuery.status).toBe(400);
      expect(await fx.server.server.accounts.stores.users.get("@second:localhost")).toBeNull();
    });

    it("GET /register/available: free, taken, invalid, missing", async () => {
      await signUp(fx.url, "taken", "pw");
      const free = await specCall(fx.url, "GET", "/_matrix/client/v3/register/available?username=free");
      expect({ status: free.status, body: free.body }).toEqual({ status: 200, body: { available: true } });
      expectMatrixError(
        await specCall(fx.url, "GET", "/_matrix/client/r0/register/available?username=taken"),
        400,
        "M_USER_IN_USE",
        "User ID already taken.",
      );
      // Not lower-cased here, unlike POST /register.
      expectMatrixError(
        await specCall(fx.url, "GET", "/_matrix/client/v3/register/available?username=Taken"),
        400,
        "M_INVALID_USERNAME",
        "User ID can only contain characters a-z, 0-9, or '=_-./+'",
      );
      expectMatrixError(
        await specCall(fx.url, "GET", "/_matrix/client/v3/register/available?username=no%20way"),
        400,
        "M_INVALID_USERNAME",
        "User ID can only contain characters a-z, 0-9, or '=_-./+'",
      );
      expectMatrixError(
        await specCall(fx.url, "GET", "/_matrix/client/v3/register/available"),
        400,
        "M_MISSING_PARAM",
        "Missing string query parameter 'username'",
      );
    });
  });

  describe("startup checks", () => {
    it("open registration without verification refuses to start", async () => {
      const db = await createTestDatabase(kind);
      const err = await startTestServer(db, { enable_registration: true }).then(
        (s) => s.close().then(() => null),
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as Error).message).toContain("enable_registration_without_verification");
    });

    it("starts with enable_registration_without_verification, or with a token requirement", async () => {
      for (const extra of [{ enable_registration_without_verification: true }, { registration_requires_token: true }]) {
        const s = await startTestServer(await createTestDatabase(kind), { enable_registration: true, ...extra });
        await s.close();
      }
    });
  });

  describe("password policy", () => {
    let fx: Fixture;
    beforeAll(async () => {
      fx = await startFixture(kind, {
        ...OPEN_REGISTRATION,
        password_config: {
          policy: {
            enabled: true,
            minimum_length: 10,
            require_digit: true,
            require_symbol: true,
            require_lowercase: true,
            require_uppercase: true,
          },
        },
      });
    });
    afterAll(() => closeFixture(fx));

    it("GET /password_policy lists the configured rules", async () => {
      const r = await specCall(fx.url, "GET", "/_matrix/client/r0/password_policy");
      expect(r.body).toEqual({
        "m.minimum_length": 10,
        "m.require_digit": true,
        "m.require_symbol": true,
        "m.require_lowercase": true,
        "m.require_uppercase": true,
      });
    });

    it("a weak password gets the M_PASSWORD_* errcode and nothing is written", async () => {
      const before = await rowCounts(fx.look);
      const cases: [string, string, string][] = [
        ["Sh0rt!", "M_PASSWORD_TOO_SHORT", "The password must be at least 10 characters long"],
        ["longenough!", "M_PASSWORD_NO_DIGIT", "The password must include at least one digit"],
        ["longenough1", "M_PASSWORD_NO_SYMBOL", "The password must include at least one symbol"],
        ["longenough1!", "M_PASSWORD_NO_UPPERCASE", "The password must include at least one uppercase letter"],
        ["LONGENOUGH1!", "M_PASSWORD_NO_LOWERCASE", "The password must include at least one lowercase letter"],
      ];
      for (const [password, errcode, error] of cases) {
        expectMatrixError(
          await register(fx.url, { username: "weak", password, auth: { type: DUMMY } }),
          400,
          errcode,
          error,
        );
        expectMatrixError(await register(fx.url, { username: "weak", password }), 400, errcode, error);
      }
      expect(await rowCounts(fx.look)).toEqual(before);
      expect((await signUp(fx.url, "strong", "LongEnough1!")).user_id).toBe("@strong:localhost");
    });
  });

  describe("guests", () => {
    let fx: Fixture;
    beforeAll(async () => {
      // Guests work even with registration closed, as in Synapse.
      fx = await startFixture(kind, { allow_guest_access: true });
    });
    afterAll(() => closeFixture(fx));

    it("kind=guest makes a numeric guest that whoami reports as a guest", async () => {
      const r = await specCall(fx.url, "POST", `${REGISTER}?kind=guest`, {
        json: { initial_device_display_name: "Lurker" },
      });
      expect(r.status, r.text).toBe(200);
      expect(r.body.user_id).toMatch(/^@\d+:localhost$/);
      expect(r.body.device_id).toBe("guest_device");
      const w = await whoami(fx.url, r.body.access_token as string);
      expect(w.body).toEqual({ user_id: r.body.user_id, is_guest: true, device_id: "guest_device" });
      const second = await specCall(fx.url, "POST", `/_matrix/client/r0/register?kind=guest`, { json: {} });
      expect(second.status).toBe(200);
      expect(second.body.user_id).not.toBe(r.body.user_id);
    });
  });

  describe("registration tokens", () => {
    let fx: Fixture;
    beforeAll(async () => {
      fx = await startFixture(kind, { enable_registration: true, registration_requires_token: true });
    });
    afterAll(() => closeFixture(fx));

    /** Opens a session with a username and password; returns its ID. */
    async function open(username: string): Promise<string> {
      const first = uia(await register(fx.url, { username, password: "pw" }));
      expect(first.flows).toEqual([{ stages: [TOKEN_STAGE, DUMMY] }]);
      expect(first.params).toEqual({});
      return first.session;
    }

    it("POST /register {} offers [registration_token, dummy]", async () => {
      const r = await register(fx.url, {});
      expect(r.status).toBe(401);
      expect(r.body).toEqual({
        session: expect.any(String),
        flows: [{ stages: [TOKEN_STAGE, DUMMY] }],
        params: {},
        completed: [],
      });
    });

    it("the dummy stage alone does not complete the flow", async () => {
      const r = uia(await register(fx.url, { username: "cheat", password: "pw", auth: { type: DUMMY } }));
      expect(r.completed).toEqual([DUMMY]);
      expect(await fx.server.server.accounts.stores.users.get("@cheat:localhost")).toBeNull();
    });

    it("a valid token completes; pending and completed are counted", async () => {
      await addToken(fx, "good-token", 2);
      const session = await open("tokenuser");
      const t = uia(await register(fx.url, { auth: { type: TOKEN_STAGE, token: "good-token", session } }));
      expect(t.completed).toEqual([TOKEN_STAGE]);
      expect(t.errcode).toBeUndefined();
      expect(await tokenRow(fx, "good-token")).toMatchObject({ pending: 1, completed: 0 });
      const done = await register(fx.url, { auth: { type: DUMMY, session } });
      expect(done.status, done.text).toBe(200);
      expect(done.body.user_id).toBe("@tokenuser:localhost");
      expect(await tokenRow(fx, "good-token")).toMatchObject({ pending: 0, completed: 1 });
    });

    it("a wrong token is a 401 UIA body with M_UNAUTHORIZED 'Invalid registration token'", async () => {
      const session = await open("wrongtoken");
      const r = uia(await register(fx.url, { auth: { type: TOKEN_STAGE, token: "no-such-token", session } }));
      expect(r).toEqual({
        session,
        flows: [{ stages: [TOKEN_STAGE, DUMMY] }],
        params: {},
        completed: [],
        errcode: "M_UNAUTHORIZED",
        error: "Invalid registration token",
      });
    });

    it("a missing or non-string token is M_MISSING_PARAM / M_INVALID_PARAM in the 401", async () => {
      const session = await open("shapeless");
      const missing = uia(await register(fx.url, { auth: { type: TOKEN_STAGE, session } }));
      expect([missing.errcode, missing.error]).toEqual(["M_MISSING_PARAM", "Missing registration token"]);
      const number = uia(await register(fx.url, { auth: { type: TOKEN_STAGE, token: 7, session } }));
      expect([number.errcode, number.error]).toEqual(["M_INVALID_PARAM", "Registration token must be a string"]);
    });

    it("a used-up token is refused, counting uses still pending", async () => {
      await addToken(fx, "one-use", 1);
      const a = await open("firstcomer");
      const b = await open("latecomer");
      uia(await register(fx.url, { auth: { type: TOKEN_STAGE, token: "one-use", session: a } }));
      // A's reservation holds the only use, though A has not finished.
      const refused = uia(await register(fx.url, { auth: { type: TOKEN_STAGE, token: "one-use", session: b } }));
      expect([refused.errcode, refused.error]).toEqual(["M_UNAUTHORIZED", "Invalid registration token"]);
      expect((await register(fx.url, { auth: { type: DUMMY, session: a } })).status).toBe(200);
      const still = uia(await register(fx.url, { auth: { type: TOKEN_STAGE, token: "one-use", session: b } }));
      expect(still.errcode).toBe("M_UNAUTHORIZED");
      expect(await tokenRow(fx, "one-use")).toMatchObject({ pending: 0, completed: 1, usesAllowed: 1 });
      expect(await fx.server.server.accounts.stores.users.get("@latecomer:localhost")).toBeNull();
    });

    it("an expired token is refused", async () => {
      await addToken(fx, "expired-token", null, Date.now() - 1000);
      const session = await open("toolate");
      const r = uia(await register(fx.url, { auth: { type: TOKEN_STAGE, token: "expired-token", session } }));
      expect([r.errcode, r.error]).toEqual(["M_UNAUTHORIZED", "Invalid registration token"]);
      expect(await tokenRow(fx, "expired-token")).toMatchObject({ pending: 0, completed: 0 });
    });

    it("a token changed mid-session is M_INVALID_PARAM, and the first stays reserved once", async () => {
      await addToken(fx, "token-a", 5);
      await addToken(fx, "token-b", 5);
      const session = await open("switcher");
      uia(await register(fx.url, { auth: { type: TOKEN_STAGE, token: "token-a", session } }));
      const changed = uia(await register(fx.url, { auth: { type: TOKEN_STAGE, token: "token-b", session } }));
      expect([changed.errcode, changed.error]).toEqual(["M_INVALID_PARAM", "Registration token has changed"]);
      // The same token again succeeds without a second reservation.
      const same = uia(await register(fx.url, { auth: { type: TOKEN_STAGE, token: "token-a", session } }));
      expect(same.errcode).toBeUndefined();
      expect(await tokenRow(fx, "token-a")).toMatchObject({ pending: 1, completed: 0 });
      expect(await tokenRow(fx, "token-b")).toMatchObject({ pending: 0, completed: 0 });
      expect((await register(fx.url, { auth: { type: DUMMY, session } })).status).toBe(200);
      expect(await tokenRow(fx, "token-a")).toMatchObject({ pending: 0, completed: 1 });
    });

    it("the validity endpoint: true, false, missing token; it reserves nothing", async () => {
      await addToken(fx, "check-me", 1);
      const valid = await specCall(fx.url, "GET", `${VALIDITY}?token=check-me`);
      expect({ status: valid.status, body: valid.body }).toEqual({ status: 200, body: { valid: true } });
      const unstable = await specCall(
        fx.url,
        "GET",
        "/_matrix/client/unstable/org.matrix.msc3231/register/org.matrix.msc3231.login.registration_token/validity?token=check-me",
      );
      expect(unstable.body).toEqual({ valid: true });
      expect(await tokenRow(fx, "check-me")).toMatchObject({ pending: 0, completed: 0 });
      expect((await specCall(fx.url, "GET", `${VALIDITY}?token=nope`)).body).toEqual({ valid: false });
      await addToken(fx, "old-news", 3, Date.now() - 1);
      expect((await specCall(fx.url, "GET", `${VALIDITY}?token=old-news`)).body).toEqual({ valid: false });
      expect((await specCall(fx.url, "GET", `${VALIDITY}?token=one-use`)).body).toEqual({ valid: false });
      expectMatrixError(
        await specCall(fx.url, "GET", VALIDITY),
        400,
        "M_MISSING_PARAM",
        "Missing string query parameter 'token'",
      );
    });

    it("100 parallel sign-ups against a 7-use token make exactly 7 accounts", async () => {
      await addToken(fx, "seven", 7);
      const usersBefore = (await rowCounts(fx.look)).users;
      const attempt = async (i: number): Promise<boolean> => {
        const session = await open(`racer${i}`);
        await register(fx.url, { auth: { type: TOKEN_STAGE, token: "seven", session } });
        const done = await register(fx.url, { auth: { type: DUMMY, session } });
        if (done.status === 200) return true;
        expect(done.status, done.text).toBe(401);
        return false;
      };
      const results = await Promise.all(Array.from({ length: 100 }, (_, i) => attempt(i)));
      expect(results.filter(Boolean)).toHaveLength(7);
      expect((await rowCounts(fx.look)).users - usersBefore).toBe(7);
      const racers = await fx.look.kysely.selectFrom("users").select("name").where("name", "like", "@racer%").execute();
      expect(racers).toHaveLength(7);
      expect(await tokenRow(fx, "seven")).toMatchObject({ pending: 0, completed: 7 });
    });
  });
});
