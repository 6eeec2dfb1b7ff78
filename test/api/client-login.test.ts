/**
 * `/login`, `/refresh`, `/logout` and login tokens over real HTTP on SQLite and PostgreSQL, as Synapse behaves
 * (synapse-accounts.md §4.1–§4.4). Every response is checked against the spec's OpenAPI schema.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PasswordHasher } from "../../src/accounts/passwords.js";
import { forEachDatabase } from "../helpers/databases.js";
import { specCall } from "../helpers/openapi.js";
import { testClock } from "../helpers/server.js";
import {
  OPEN_REGISTRATION,
  closeFixture,
  login,
  passwordLogin,
  rowCounts,
  signUp,
  startFixture,
  whoami,
  type Fixture,
} from "./client-support.js";
import { expectMatrixError, sleep } from "./support.js";

const LOGIN = "/_matrix/client/v3/login";
const REFRESH = "/_matrix/client/v3/refresh";
const GET_TOKEN = "/_matrix/client/v1/login/get_token";
const PASSWORD = "correct horse battery staple";
const INVALID = "Invalid username or password";

interface LoginBody {
  user_id: string;
  access_token: string;
  device_id: string;
  home_server: string;
  refresh_token?: string;
  expires_in_ms?: number;
}

async function loggedIn(url: string, body: Record<string, unknown>): Promise<LoginBody> {
  const r = await login(url, body);
  expect(r.status, r.text).toBe(200);
  return r.body as unknown as LoginBody;
}

async function setUserFlag(fx: Fixture, userId: string, flag: "locked" | "deactivated", value: 0 | 1): Promise<void> {
  await fx.look.kysely
    .updateTable("users")
    .set({ [flag]: value })
    .where("name", "=", userId)
    .execute();
}

async function storedHash(fx: Fixture, userId: string): Promise<string | null> {
  const row = await fx.look.kysely
    .selectFrom("users")
    .select("password_hash")
    .where("name", "=", userId)
    .executeTakeFirst();
  return row?.password_hash ?? null;
}

async function devicesOf(fx: Fixture, userId: string): Promise<string[]> {
  const rows = await fx.look.kysely.selectFrom("devices").select("device_id").where("user_id", "=", userId).execute();
  return rows.map((r) => r.device_id).sort();
}

async function tokensOf(fx: Fixture, userId: string): Promise<number> {
  const rows = await fx.look.kysely
    .selectFrom("access_tokens")
    .select("token_hash")
    .where("user_id", "=", userId)
    .execute();
  return rows.length;
}

forEachDatabase((kind) => {
  describe("password login", () => {
    let fx: Fixture;
    beforeAll(async () => {
      fx = await startFixture(kind, OPEN_REGISTRATION);
      await signUp(fx.url, "alice", PASSWORD);
    });
    afterAll(() => closeFixture(fx));

    it("GET /login lists password then application service, under every prefix", async () => {
      for (const v of ["api/v1", "r0", "v3", "unstable"]) {
        const r = await specCall(fx.url, "GET", `/_matrix/client/${v}/login`);
        expect({ status: r.status, body: r.body }).toEqual({
          status: 200,
          body: { flows: [{ type: "m.login.password" }, { type: "m.login.application_service" }] },
        });
      }
    });

    it("identifier m.id.user with a localpart", async () => {
      const r = await loggedIn(fx.url, passwordLogin("alice", PASSWORD));
      expect(r).toEqual({
        user_id: "@alice:localhost",
        access_token: expect.stringMatching(/^syt_YWxpY2U_/),
        home_server: "localhost",
        device_id: expect.stringMatching(/^[A-Z]{10}$/),
      });
      expect((await whoami(fx.url, r.access_token)).body).toEqual({
        user_id: "@alice:localhost",
        is_guest: false,
        device_id: r.device_id,
      });
    });

    it("the legacy top-level user field, a full MXID, and any case", async () => {
      for (const body of [
        { type: "m.login.password", user: "alice", password: PASSWORD },
        { type: "m.login.password", user: "@alice:localhost", password: PASSWORD },
        passwordLogin("@alice:localhost", PASSWORD),
        passwordLogin("ALICE", PASSWORD),
        passwordLogin("@Alice:localhost", PASSWORD),
      ]) {
        for (const path of ["/_matrix/client/r0/login", "/_matrix/client/api/v1/login"]) {
          const r = await login(fx.url, body, path);
          expect(r.status, `${JSON.stringify(body)}: ${r.text}`).toBe(200);
          // The stored (canonical) user ID, whatever case was typed.
          expect(r.body.user_id).toBe("@alice:localhost");
        }
      }
    });

    it('tolerates "device_id": null and takes initial_device_display_name', async () => {
      const r = await loggedIn(
        fx.url,
        passwordLogin("alice", PASSWORD, { device_id: null, initial_device_display_name: "Admin console" }),
      );
      const device = await fx.server.server.accounts.stores.devices.get("@alice:localhost", r.device_id);
      expect(device?.displayName).toBe("Admin console");
    });

    it("a known device_id is reused and its older token keeps working", async () => {
      const first = await loggedIn(fx.url, passwordLogin("alice", PASSWORD, { device_id: "SHAREDDEV" }));
      const second = await loggedIn(fx.url, passwordLogin("alice", PASSWORD, { device_id: "SHAREDDEV" }));
      expect([first.device_id, second.device_id]).toEqual(["SHAREDDEV", "SHAREDDEV"]);
      expect(second.access_token).not.toBe(first.access_token);
      for (const t of [first.access_token, second.access_token]) {
        expect((await whoami(fx.url, t)).body).toEqual({
          user_id: "@alice:localhost",
          is_guest: false,
          device_id: "SHAREDDEV",
        });
      }
      expect((await devicesOf(fx, "@alice:localhost")).filter((d) => d === "SHAREDDEV")).toHaveLength(1);
    });

    it("a wrong password and an unknown user get the same 403", async () => {
      expectMatrixError(await login(fx.url, passwordLogin("alice", "wrong")), 403, "M_FORBIDDEN", INVALID);
      expectMatrixError(await login(fx.url, passwordLogin("nobody", PASSWORD)), 403, "M_FORBIDDEN", INVALID);
      expectMatrixError(await login(fx.url, passwordLogin("@alice:elsewhere", PASSWORD)), 403, "M_FORBIDDEN", INVALID);
    });

    it("malformed bodies: missing type, unknown type, bad identifier, no password", async () => {
      expectMatrixError(
        await login(fx.url, { user: "alice", password: PASSWORD }),
        400,
        "M_UNKNOWN",
        "Missing JSON keys.",
      );
      expectMatrixError(
        await login(fx.url, { type: "m.login.fancy", user: "alice" }),
        400,
        "M_UNKNOWN",
        "Unknown login type m.login.fancy",
      );
      expectMatrixError(
        await login(fx.url, { type: "m.login.password", password: PASSWORD }),
        400,
        "M_INVALID_PARAM",
        "Invalid login submission",
      );
      expectMatrixError(
        await login(fx.url, { type: "m.login.password", user: "alice" }),
        400,
        "M_INVALID_PARAM",
        "Bad parameter: password",
      );
      expectMatrixError(
        await login(fx.url, { type: "m.login.password", identifier: { user: "alice" }, password: PASSWORD }),
        400,
        "M_MISSING_PARAM",
        "'identifier' dict has no key 'type'",
      );
      expectMatrixError(
        await login(fx.url, { type: "m.login.password", identifier: { type: "m.id.user" }, password: PASSWORD }),
        400,
        "M_UNKNOWN",
        "User identifier is missing 'user' key",
      );
      expectMatrixError(
        await login(fx.url, passwordLogin("alice", PASSWORD, { refresh_token: "please" })),
        400,
        "M_UNKNOWN",
        "`refresh_token` should be true or false.",
      );
    });

    it("a locked user is 401 M_USER_LOCKED with soft_logout", async () => {
      await signUp(fx.url, "locky", PASSWORD);
      await setUserFlag(fx, "@locky:localhost", "locked", 1);
      expectMatrixError(
        await login(fx.url, passwordLogin("locky", PASSWORD)),
        401,
        "M_USER_LOCKED",
        "User account has been locked",
        {
          soft_logout: true,
        },
      );
      await setUserFlag(fx, "@locky:localhost", "locked", 0);
      expect((await login(fx.url, passwordLogin("locky", PASSWORD))).status).toBe(200);
    });

    it("a deactivated user is 403 M_USER_DEACTIVATED", async () => {
      await signUp(fx.url, "gone", PASSWORD);
      await setUserFlag(fx, "@gone:localhost", "deactivated", 1);
      expectMatrixError(
        await login(fx.url, passwordLogin("gone", PASSWORD)),
        403,
        "M_USER_DEACTIVATED",
        "This account has been deactivated",
      );
    });

    it("a bcrypt hash (as Synapse stores) logs in and is replaced by argon2id", async () => {
      await signUp(fx.url, "legacy", "placeholder");
      const bcrypt = await new PasswordHasher({ algorithm: "bcrypt", bcryptRounds: 4, pepper: "" }).hash(PASSWORD);
      expect(bcrypt).toMatch(/^\$2b\$04\$/);
      await fx.server.server.accounts.stores.users.setPasswordHash("@legacy:localhost", bcrypt);
      expect((await login(fx.url, passwordLogin("legacy", PASSWORD))).status).toBe(200);
      // The re-hash runs just after the response: poll for it.
      let hash = await storedHash(fx, "@legacy:localhost");
      for (let i = 0; i < 100 && !hash?.startsWith("$argon2id$"); i++) {
        await sleep(50);
        hash = await storedHash(fx, "@legacy:localhost");
      }
      expect(hash).toMatch(/^\$argon2id\$/);
      expect((await login(fx.url, passwordLogin("legacy", PASSWORD))).status).toBe(200);
      expectMatrixError(await login(fx.url, passwordLogin("legacy", "placeholder")), 403, "M_FORBIDDEN", INVALID);
    });

    it("logout deletes the device and its token; other sessions stay", async () => {
      const a = await loggedIn(fx.url, passwordLogin("alice", PASSWORD, { device_id: "LEAVING" }));
      const b = await loggedIn(fx.url, passwordLogin("alice", PASSWORD, { device_id: "STAYING" }));
      const r = await specCall(fx.url, "POST", "/_matrix/client/v3/logout", { token: a.access_token, json: {} });
      expect({ status: r.status, body: r.body }).toEqual({ status: 200, body: {} });
      expectMatrixError(await whoami(fx.url, a.access_token), 401, "M_UNKNOWN_TOKEN", "Unrecognised access token", {
        soft_logout: false,
      });
      expect(await devicesOf(fx, "@alice:localhost")).not.toContain("LEAVING");
      expect((await whoami(fx.url, b.access_token)).status).toBe(200);
      // Logging out twice: the token is gone.
      const again = await specCall(fx.url, "POST", "/_matrix/client/r0/logout", { token: a.access_token, json: {} });
      expect(again.status).toBe(401);
    });

    it("logout/all deletes every device and token of the user, and no one else's", async () => {
      await signUp(fx.url, "many", PASSWORD);
      const other = await loggedIn(fx.url, passwordLogin("alice", PASSWORD));
      const sessions = [];
      for (let i = 0; i < 3; i++) sessions.push(await loggedIn(fx.url, passwordLogin("many", PASSWORD)));
      expect(await tokensOf(fx, "@many:localhost")).toBe(4);
      const r = await specCall(fx.url, "POST", "/_matrix/client/api/v1/logout/all", {
        token: sessions[0]!.access_token,
        json: {},
      });
      expect({ status: r.status, body: r.body }).toEqual({ status: 200, body: {} });
      for (const s of sessions) expect((await whoami(fx.url, s.access_token)).status).toBe(401);
      expect(await devicesOf(fx, "@many:localhost")).toEqual([]);
      expect(await tokensOf(fx, "@many:localhost")).toBe(0);
      expect((await whoami(fx.url, other.access_token)).status).toBe(200);
    });
  });

  describe("refresh tokens", () => {
    let fx: Fixture;
    beforeAll(async () => {
      fx = await startFixture(kind, OPEN_REGISTRATION);
      await signUp(fx.url, "rita", PASSWORD);
    });
    afterAll(() => closeFixture(fx));

    async function refresh(token: unknown) {
      return specCall(fx.url, "POST", REFRESH, { json: { refresh_token: token } });
    }

    it("login with refresh_token: true gives a refresh token and expires_in_ms", async () => {
      const r = await loggedIn(fx.url, passwordLogin("rita", PASSWORD, { refresh_token: true }));
      expect(r.refresh_token).toMatch(/^syr_cml0YQ_/);
      expect(r.expires_in_ms).toBeGreaterThan(290_000);
      expect(r.expires_in_ms).toBeLessThanOrEqual(300_000);
      const plain = await loggedIn(fx.url, passwordLogin("rita", PASSWORD));
      expect(plain.refresh_token).toBeUndefined();
      expect(plain.expires_in_ms).toBeUndefined();
    });

    it("the old refresh token works until the new access token is used, then 403", async () => {
      const first = await loggedIn(fx.url, passwordLogin("rita", PASSWORD, { refresh_token: true }));
      const r1 = first.refresh_token!;

      const a = await refresh(r1);
      expect(a.status, a.text).toBe(200);
      expect(a.body).toEqual({
        access_token: expect.stringMatching(/^syt_/),
        refresh_token: expect.stringMatching(/^syr_/),
        expires_in_ms: expect.any(Number),
      });
      expect(a.body.refresh_token).not.toBe(r1);

      // The answer was "lost": the client refreshes with r1 again, which replaces the unused pair.
      const b = await refresh(r1);
      expect(b.status, b.text).toBe(200);
      expect(b.body.access_token).not.toBe(a.body.access_token);
      expectMatrixError(
        await whoami(fx.url, a.body.access_token as string),
        401,
        "M_UNKNOWN_TOKEN",
        "Unrecognised access token",
        {
          soft_logout: false,
        },
      );

      // The new access token is used once: r1 is done with.
      const w = await whoami(fx.url, b.body.access_token as string);
      expect(w.body).toEqual({ user_id: "@rita:localhost", is_guest: false, device_id: first.device_id });
      expectMatrixError(await refresh(r1), 403, "M_FORBIDDEN", "refresh token isn't valid anymore");

      // The chain goes on from the newest refresh token, on the same device.
      const c = await refresh(b.body.refresh_token);
      expect(c.status, c.text).toBe(200);
      expect((await whoami(fx.url, c.body.access_token as string)).body.device_id).toBe(first.device_id);
      expectMatrixError(await refresh(b.body.refresh_token), 403, "M_FORBIDDEN", "refresh token isn't valid anymore");
    });

    it("the access token a refresh replaces keeps working until it expires", async () => {
      const first = await loggedIn(fx.url, passwordLogin("rita", PASSWORD, { refresh_token: true }));
      const a = await refresh(first.refresh_token);
      expect(a.status, a.text).toBe(200);
      // Requests already in flight with the old token must not fail because the client refreshed early.
      expect((await whoami(fx.url, first.access_token)).status).toBe(200);
      expect((await whoami(fx.url, a.body.access_token as string)).status).toBe(200);
    });

    it("only the last two refresh tokens of a chain are kept", async () => {
      const first = await loggedIn(fx.url, passwordLogin("rita", PASSWORD, { refresh_token: true }));
      const a = await refresh(first.refresh_token);
      expect(a.status, a.text).toBe(200);
      const b = await refresh(a.body.refresh_token);
      expect(b.status, b.text).toBe(200);
      // Synapse's replace_refresh_token: refreshing a's token deleted its predecessor, the first one.
      expectMatrixError(await refresh(first.refresh_token), 401, "M_UNKNOWN_TOKEN", "refresh token does not exist");
      // b is unused, so a's token may be retried; that replaces b.
      const again = await refresh(a.body.refresh_token);
      expect(again.status, again.text).toBe(200);
      expectMatrixError(await refresh(b.body.refresh_token), 401, "M_UNKNOWN_TOKEN", "refresh token does not exist");
      expectMatrixError(
        await whoami(fx.url, b.body.access_token as string),
        401,
        "M_UNKNOWN_TOKEN",
        "Unrecognised access token",
        {
          soft_logout: false,
        },
      );
      expect((await whoami(fx.url, again.body.access_token as string)).status).toBe(200);
    });

    it("bad refresh requests: wrong shape 401 M_UNKNOWN_TOKEN, unknown 401, missing 400", async () => {
      expectMatrixError(await refresh("not-a-refresh-token"), 401, "M_UNKNOWN_TOKEN", "invalid refresh token");
      // An access token is not a refresh token.
      const { access_token } = await loggedIn(fx.url, passwordLogin("rita", PASSWORD));
      expectMatrixError(await refresh(access_token), 401, "M_UNKNOWN_TOKEN", "invalid refresh token");
      // Well-formed (prefix and checksum) but never issued.
      const { refresh_token } = await loggedIn(fx.url, passwordLogin("rita", PASSWORD, { refresh_token: true }));
      const forged = refresh_token!.replace(
        /^(syr_[^_]+_)([A-Za-z0-9]{20})/,
        (_m, p: string, rand: string) => p + [...rand].reverse().join(""),
      );
      if (forged !== refresh_token) {
        const r = await refresh(forged);
        expect(r.status).toBe(401);
        expect(r.body.errcode).toBe("M_UNKNOWN_TOKEN");
      }
      expectMatrixError(
        await specCall(fx.url, "POST", REFRESH, { json: {} }),
        400,
        "M_MISSING_PARAM",
        "Missing params: refresh_token",
      );
      expectMatrixError(await refresh(42), 400, "M_INVALID_PARAM", "refresh_token must be a string");
    });

    it("logout deletes the refresh tokens of the device", async () => {
      const s = await loggedIn(
        fx.url,
        passwordLogin("rita", PASSWORD, { refresh_token: true, device_id: "REFRESHDEV" }),
      );
      await specCall(fx.url, "POST", "/_matrix/client/v3/logout", { token: s.access_token, json: {} });
      const r = await refresh(s.refresh_token);
      expect(r.status).toBe(401);
      expect(r.body.errcode).toBe("M_UNKNOWN_TOKEN");
    });
  });

  describe("token lifetimes", () => {
    let fx: Fixture;
    // The server's clock: the tests move it past an expiry instead of waiting for it.
    const clock = testClock();
    beforeAll(async () => {
      fx = await startFixture(
        kind,
        { ...OPEN_REGISTRATION, session_lifetime: 2000, nonrefreshable_access_token_lifetime: 500 },
        { clock },
      );
      await signUp(fx.url, "tim", PASSWORD);
    });
    afterAll(() => closeFixture(fx));

    it("an expired access token is 401 M_UNKNOWN_TOKEN with soft_logout true; logout still accepts it", async () => {
      const s = await loggedIn(fx.url, passwordLogin("tim", PASSWORD));
      expect(s.expires_in_ms).toBeGreaterThan(0);
      expect(s.expires_in_ms).toBeLessThanOrEqual(500);
      expect((await whoami(fx.url, s.access_token)).status).toBe(200);
      clock.advance(700);
      expectMatrixError(await whoami(fx.url, s.access_token), 401, "M_UNKNOWN_TOKEN", "Access token has expired", {
        soft_logout: true,
      });
      const out = await specCall(fx.url, "POST", "/_matrix/client/v3/logout", { token: s.access_token, json: {} });
      expect(out.status).toBe(200);
      expect(await devicesOf(fx, "@tim:localhost")).not.toContain(s.device_id);
    });

    it("session_lifetime caps refreshable tokens and ends the session", async () => {
      const s = await loggedIn(fx.url, passwordLogin("tim", PASSWORD, { refresh_token: true }));
      expect(s.refresh_token).toMatch(/^syr_/);
      expect(s.expires_in_ms).toBeGreaterThan(1000);
      expect(s.expires_in_ms).toBeLessThanOrEqual(2000);
      const early = await specCall(fx.url, "POST", REFRESH, { json: { refresh_token: s.refresh_token } });
      expect(early.status, early.text).toBe(200);
      expect(early.body.expires_in_ms).toBeLessThanOrEqual(2000);
      clock.advance(2200);
      expectMatrixError(
        await specCall(fx.url, "POST", REFRESH, { json: { refresh_token: early.body.refresh_token } }),
        403,
        "M_FORBIDDEN",
        "The session has expired and can no longer be refreshed",
      );
    });
  });

  describe("session_lifetime alone", () => {
    let fx: Fixture;
    beforeAll(async () => {
      fx = await startFixture(kind, { ...OPEN_REGISTRATION, session_lifetime: "1h" });
    });
    afterAll(() => closeFixture(fx));

    it("every access token, from login or registration, expires with the session", async () => {
      const reg = await signUp(fx.url, "sally", PASSWORD);
      expect((reg as { expires_in_ms?: number }).expires_in_ms).toBeGreaterThan(3_590_000);
      const s = await loggedIn(fx.url, passwordLogin("sally", PASSWORD));
      expect(s.expires_in_ms).toBeGreaterThan(3_590_000);
      expect(s.expires_in_ms).toBeLessThanOrEqual(3_600_000);
      expect(s.refresh_token).toBeUndefined();
      const row = await fx.look.kysely
        .selectFrom("access_tokens")
        .select("valid_until_ms")
        .where("user_id", "=", "@sally:localhost")
        .where("device_id", "=", s.device_id)
        .executeTakeFirstOrThrow();
      expect(Number(row.valid_until_ms) - Date.now()).toBeGreaterThan(3_590_000);
      // With a refresh token, the access token is the refreshable lifetime (5 min, within the hour).
      const r = await loggedIn(fx.url, passwordLogin("sally", PASSWORD, { refresh_token: true }));
      expect(r.expires_in_ms).toBeLessThanOrEqual(300_000);
      expect(r.refresh_token).toMatch(/^syr_/);
    });
  });

  describe("login tokens (login_via_existing_session)", () => {
    let fx: Fixture;
    beforeAll(async () => {
      fx = await startFixture(kind, { ...OPEN_REGISTRATION, login_via_existing_session: { enabled: true } });
    });
    afterAll(() => closeFixture(fx));

    it("GET /login advertises m.login.token with get_login_token, in Synapse's order", async () => {
      const r = await specCall(fx.url, "GET", LOGIN);
      expect(r.body).toEqual({
        flows: [
          { type: "m.login.token", get_login_token: true },
          { type: "m.login.password" },
          { type: "m.login.application_service" },
        ],
      });
    });

    it("get_token needs UIA with the user's own password; the token logs in once", async () => {
      const { access_token } = await signUp(fx.url, "tokie", PASSWORD);
      await signUp(fx.url, "other", "other password");
      const first = await specCall(fx.url, "POST", GET_TOKEN, { token: access_token, json: {} });
      expect(first.status).toBe(401);
      expect(first.body).toEqual({
        session: expect.any(String),
        flows: [{ stages: ["m.login.password"] }],
        params: {},
        completed: [],
      });
      const session = first.body.session as string;

      const wrong = await specCall(fx.url, "POST", GET_TOKEN, {
        token: access_token,
        json: {
          auth: {
            type: "m.login.password",
            identifier: { type: "m.id.user", user: "tokie" },
            password: "nope",
            session,
          },
        },
      });
      expect(wrong.status).toBe(401);
      expect([wrong.body.errcode, wrong.body.error]).toEqual(["M_FORBIDDEN", INVALID]);
      // Someone else's correct password does not do.
      const someoneElse = await specCall(fx.url, "POST", GET_TOKEN, {
        token: access_token,
        json: {
          auth: {
            type: "m.login.password",
            identifier: { type: "m.id.user", user: "other" },
            password: "other password",
            session,
          },
        },
      });
      expectMatrixError(someoneElse, 403, "M_FORBIDDEN", "Invalid auth");

      const ok = await specCall(fx.url, "POST", GET_TOKEN, {
        token: access_token,
        json: {
          auth: {
            type: "m.login.password",
            identifier: { type: "m.id.user", user: "tokie" },
            password: PASSWORD,
            session,
          },
        },
      });
      expect(ok.status, ok.text).toBe(200);
      expect(ok.body).toEqual({ login_token: expect.any(String), expires_in_ms: 300_000, expires_in: 300 });

      const viaToken = await login(fx.url, { type: "m.login.token", token: ok.body.login_token });
      expect(viaToken.status, viaToken.text).toBe(200);
      expect(viaToken.body.user_id).toBe("@tokie:localhost");
      expect((await whoami(fx.url, viaToken.body.access_token as string)).status).toBe(200);
      expectMatrixError(
        await login(fx.url, { type: "m.login.token", token: ok.body.login_token }),
        403,
        "M_FORBIDDEN",
        "Invalid login token",
      );
      expectMatrixError(
        await login(fx.url, { type: "m.login.token", token: "made-up" }),
        403,
        "M_FORBIDDEN",
        "Invalid login token",
      );
      expectMatrixError(await login(fx.url, { type: "m.login.token" }), 403, "M_FORBIDDEN", "Invalid login token");
    });

    it("a session whose password stage another user completed cannot mint a token for the victim", async () => {
      const victim = await signUp(fx.url, "victim", "victim password");
      const thief = await signUp(fx.url, "thief", "thief password");
      // The thief holds the victim's token, and completes the stage with their own account.
      const first = await specCall(fx.url, "POST", GET_TOKEN, { token: thief.access_token, json: {} });
      const session = first.body.session as string;
      const own = await specCall(fx.url, "POST", GET_TOKEN, {
        token: thief.access_token,
        json: {
          auth: {
            type: "m.login.password",
            identifier: { type: "m.id.user", user: "thief" },
            password: "thief password",
            session,
          },
        },
      });
      expect(own.status, own.text).toBe(200);
      const replay = await specCall(fx.url, "POST", GET_TOKEN, {
        token: victim.access_token,
        json: { auth: { session } },
      });
      expectMatrixError(replay, 403, "M_FORBIDDEN", "Invalid auth");
      const tokens = await fx.look.kysely
        .selectFrom("login_tokens")
        .select("user_id")
        .where("user_id", "=", "@victim:localhost")
        .execute();
      expect(tokens).toEqual([]);
    });

    it("get_token without an access token is 401", async () => {
      const r = await specCall(fx.url, "POST", GET_TOKEN, { json: {} });
      expectMatrixError(r, 401, "M_MISSING_TOKEN", "Missing access token");
    });
  });

  describe("login tokens disabled (the default)", () => {
    let fx: Fixture;
    beforeAll(async () => {
      fx = await startFixture(kind, OPEN_REGISTRATION);
    });
    afterAll(() => closeFixture(fx));

    it("get_token is 404 M_UNRECOGNIZED and nothing was written", async () => {
      const { access_token } = await signUp(fx.url, "nolt", PASSWORD);
      const before = await rowCounts(fx.look);
      const r = await specCall(fx.url, "POST", GET_TOKEN, { token: access_token, json: {} });
      expectMatrixError(r, 404, "M_UNRECOGNIZED", "Unrecognized request");
      expect(await rowCounts(fx.look)).toEqual(before);
    });
  });
});
