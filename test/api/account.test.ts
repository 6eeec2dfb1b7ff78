/**
 * `POST /account/password` and `POST /account/deactivate` over real HTTP on SQLite and PostgreSQL: the UIA exchange a
 * client goes through, what happens to the user's other sessions, the password policy before any UIA, and what
 * deactivation leaves behind (rows are read on a separate connection).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Db } from "../../src/db/database.js";
import { forEachDatabase } from "../helpers/databases.js";
import { call } from "../helpers/http.js";
import type { TestServer } from "../helpers/server.js";
import {
  challenge,
  login,
  loginRequest,
  passwordAuth,
  registerUser,
  startAccountServer,
  whoami,
  withPassword,
  type Session,
} from "./account-support.js";
import { expectMatrixError, openTestDb, userRow } from "./support.js";

const PASSWORD = "/_matrix/client/v3/account/password";
const DEACTIVATE = "/_matrix/client/v3/account/deactivate";

async function countRows(
  db: Db,
  table: "devices" | "access_tokens" | "refresh_tokens" | "login_tokens",
  userId: string,
) {
  const row = await db.kysely
    .selectFrom(table)
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .where("user_id", "=", userId)
    .executeTakeFirstOrThrow();
  return row.n;
}

async function expectTokenDead(base: string, token: string) {
  expectMatrixError(await whoami(base, token), 401, "M_UNKNOWN_TOKEN", "Unrecognised access token", {
    soft_logout: false,
  });
}

async function expectTokenAlive(base: string, s: Session) {
  const r = await whoami(base, s.token);
  expect(r.status, r.text).toBe(200);
  expect(r.body.device_id).toBe(s.deviceId);
}

forEachDatabase((kind) => {
  describe("POST /account/password", () => {
    let server: TestServer;
    let db: Db;
    beforeAll(async () => {
      const s = await startAccountServer(kind, { allow_guest_access: true });
      server = s;
      db = openTestDb(s.db);
    });
    afterAll(async () => {
      await db.close();
      await server.close();
    });

    it("asks for the password first (401 with the one flow), and changes nothing yet", async () => {
      const a = await registerUser(server.url, "pat", "old-password");
      const c = await challenge(server.url, "POST", PASSWORD, a.token, { new_password: "new-password" });
      expect(c.params).toEqual({});
      expect(c.completed).toEqual([]);
      expect(c.errcode).toBeUndefined();
      await login(server.url, "pat", "old-password");
      expect((await loginRequest(server.url, "pat", "new-password")).status).toBe(403);
    });

    it("a wrong password is a 401 carrying M_FORBIDDEN; the right one changes the password", async () => {
      const a = await registerUser(server.url, "quinn", "old-password");
      const c = await challenge(server.url, "POST", PASSWORD, a.token, { new_password: "new-password" });
      const wrong = await call(server.url, "POST", PASSWORD, {
        token: a.token,
        json: { new_password: "new-password", auth: passwordAuth(c.session, "quinn", "not-it") },
      });
      expect(wrong.status).toBe(401);
      expect(wrong.body).toMatchObject({
        session: c.session,
        flows: [{ stages: ["m.login.password"] }],
        errcode: "M_FORBIDDEN",
      });
      expect(wrong.body.completed).toEqual([]);

      const right = await call(server.url, "POST", PASSWORD, {
        token: a.token,
        json: { new_password: "new-password", auth: passwordAuth(c.session, "quinn", "old-password") },
      });
      expect(right.status, right.text).toBe(200);
      expect(right.body).toEqual({});
      expectMatrixError(
        await loginRequest(server.url, "quinn", "old-password"),
        403,
        "M_FORBIDDEN",
        "Invalid username or password",
      );
      await login(server.url, "quinn", "new-password");
    });

    it("accepts the auth identifier as a full user ID or the legacy `user` key", async () => {
      const a = await registerUser(server.url, "ray", "old-password");
      const c = await challenge(server.url, "POST", PASSWORD, a.token, { new_password: "pw-two" });
      const r = await call(server.url, "POST", PASSWORD, {
        token: a.token,
        json: {
          new_password: "pw-two",
          auth: { type: "m.login.password", session: c.session, user: "@ray:localhost", password: "old-password" },
        },
      });
      expect(r.status, r.text).toBe(200);
      await login(server.url, "ray", "pw-two");
    });

    it("logout_devices (default true) ends every other session; the requester's token keeps working", async () => {
      const a = await registerUser(server.url, "sam", "old-password", { refresh_token: true });
      const b = await login(server.url, "sam", "old-password");
      const c = await login(server.url, "sam", "old-password");
      const r = await withPassword(
        server.url,
        "POST",
        PASSWORD,
        a.token,
        { new_password: "new-password" },
        "sam",
        "old-password",
      );
      expect(r.status, r.text).toBe(200);
      await expectTokenDead(server.url, b.token);
      await expectTokenDead(server.url, c.token);
      await expectTokenAlive(server.url, a);
      expect(await countRows(db, "devices", a.userId)).toBe(1);
      // The requester's refresh token is kept, or its session could not be renewed.
      expect(await countRows(db, "refresh_tokens", a.userId)).toBe(1);
      const devices = await call(server.url, "GET", "/_matrix/client/v3/devices", { token: a.token });
      expect((devices.body.devices as { device_id: string }[]).map((d) => d.device_id)).toEqual([a.deviceId]);
    });

    it("logout_devices: false leaves the other sessions alone", async () => {
      const a = await registerUser(server.url, "tess", "old-password");
      const b = await login(server.url, "tess", "old-password");
      const r = await withPassword(
        server.url,
        "POST",
        PASSWORD,
        a.token,
        { new_password: "new-password", logout_devices: false },
        "tess",
        "old-password",
      );
      expect(r.status, r.text).toBe(200);
      await expectTokenAlive(server.url, a);
      await expectTokenAlive(server.url, b);
      await login(server.url, "tess", "new-password");
    });

    it("logout_devices sent with the first request only still counts at the end", async () => {
      const a = await registerUser(server.url, "uma", "old-password");
      const b = await login(server.url, "uma", "old-password");
      const c = await challenge(server.url, "POST", PASSWORD, a.token, {
        new_password: "new-password",
        logout_devices: false,
      });
      const r = await call(server.url, "POST", PASSWORD, {
        token: a.token,
        json: { auth: passwordAuth(c.session, "uma", "old-password") },
      });
      expect(r.status, r.text).toBe(200);
      await expectTokenAlive(server.url, b);
      await login(server.url, "uma", "new-password");
    });

    it("a new password sent only in the first request is hashed into the session, never stored as sent", async () => {
      const a = await registerUser(server.url, "vic", "old-password");
      const secret = "only-in-the-first-request";
      const c = await challenge(server.url, "POST", PASSWORD, a.token, { new_password: secret });
      const row = await db.kysely
        .selectFrom("ui_auth_sessions")
        .selectAll()
        .where("session_id", "=", c.session)
        .executeTakeFirstOrThrow();
      expect(row.clientdict).not.toContain(secret);
      expect(row.serverdict).not.toContain(secret);
      expect((JSON.parse(row.serverdict) as Record<string, unknown>).password_hash).toMatch(/^\$argon2id\$/);
      const r = await call(server.url, "POST", PASSWORD, {
        token: a.token,
        json: { auth: passwordAuth(c.session, "vic", "old-password") },
      });
      expect(r.status, r.text).toBe(200);
      await login(server.url, "vic", secret);
    });

    it("no new password by the end is 400 M_MISSING_PARAM, and the password is unchanged", async () => {
      const a = await registerUser(server.url, "wen", "old-password");
      const r = await withPassword(server.url, "POST", PASSWORD, a.token, {}, "wen", "old-password");
      expectMatrixError(r, 400, "M_MISSING_PARAM", "Missing params: password");
      await login(server.url, "wen", "old-password");
    });

    it("a session completed by one user cannot be finished with another user's token", async () => {
      const a = await registerUser(server.url, "xena", "xena-password");
      const b = await registerUser(server.url, "yuri", "yuri-password");
      // xena completes the stage but sends no new password: the session stays, its stage done.
      const c = await challenge(server.url, "POST", PASSWORD, a.token, {});
      const first = await call(server.url, "POST", PASSWORD, {
        token: a.token,
        json: { auth: passwordAuth(c.session, "xena", "xena-password") },
      });
      expectMatrixError(first, 400, "M_MISSING_PARAM", "Missing params: password");
      const r = await call(server.url, "POST", PASSWORD, {
        token: b.token,
        json: { new_password: "hijacked", auth: { session: c.session } },
      });
      expectMatrixError(r, 403, "M_FORBIDDEN", "Invalid auth");
      await login(server.url, "yuri", "yuri-password");
    });

    it("another user's password is 403, as in Synapse's validate_user_via_ui_auth", async () => {
      const a = await registerUser(server.url, "zack", "zack-password");
      await registerUser(server.url, "zoe", "zoe-password");
      const c = await challenge(server.url, "POST", PASSWORD, a.token, { new_password: "new-password" });
      const r = await call(server.url, "POST", PASSWORD, {
        token: a.token,
        json: { new_password: "new-password", auth: passwordAuth(c.session, "zoe", "zoe-password") },
      });
      expectMatrixError(r, 403, "M_FORBIDDEN", "Invalid auth");
      await login(server.url, "zack", "zack-password");
    });

    it("checks the body's types before anything else", async () => {
      const a = await registerUser(server.url, "abe", "old-password");
      for (const json of [
        { new_password: 5 },
        { new_password: "x".repeat(513) },
        { logout_devices: "yes" },
        { logout_devices: null },
      ]) {
        const r = await call(server.url, "POST", PASSWORD, { token: a.token, json });
        expect(r.status, JSON.stringify(json)).toBe(400);
        expect(r.body.errcode).toBe("M_BAD_JSON");
      }
      expectMatrixError(
        await call(server.url, "POST", PASSWORD, { token: a.token }),
        400,
        "M_NOT_JSON",
        "Content not JSON.",
      );
    });

    it("needs an access token, and is closed to guests", async () => {
      expectMatrixError(
        await call(server.url, "POST", PASSWORD, { json: { new_password: "x" } }),
        401,
        "M_MISSING_TOKEN",
        "Missing access token",
      );
      const g = await call(server.url, "POST", "/_matrix/client/v3/register?kind=guest", { json: {} });
      expect(g.status, g.text).toBe(200);
      const r = await call(server.url, "POST", PASSWORD, {
        token: g.body.access_token as string,
        json: { new_password: "x" },
      });
      expectMatrixError(r, 403, "M_GUEST_ACCESS_FORBIDDEN", "Guest access not allowed");
    });

    it("is served under r0 and unstable too", async () => {
      const a = await registerUser(server.url, "bea", "old-password");
      for (const v of ["r0", "unstable"]) {
        const path = `/_matrix/client/${v}/account/password`;
        const r = await call(server.url, "POST", path, { token: a.token, json: {} });
        expect(r.status, v).toBe(401);
      }
    });
  });

  describe("POST /account/password: password policy", () => {
    let server: TestServer;
    let db: Db;
    beforeAll(async () => {
      const s = await startAccountServer(kind, {
        password_config: {
          policy: {
            enabled: true,
            minimum_length: 10,
            require_digit: true,
            require_symbol: true,
            require_uppercase: true,
          },
        },
      });
      server = s;
      db = openTestDb(s.db);
    });
    afterAll(async () => {
      await db.close();
      await server.close();
    });

    it("refuses a weak password with its policy errcode before any UIA session is made", async () => {
      const a = await registerUser(server.url, "carl", "Str0ng-enough!");
      const before = await db.kysely.selectFrom("ui_auth_sessions").select("session_id").execute();
      const cases: [string, string, string][] = [
        ["Sh0rt!", "M_PASSWORD_TOO_SHORT", "The password must be at least 10 characters long"],
        ["no-digits-HERE!", "M_PASSWORD_NO_DIGIT", "The password must include at least one digit"],
        ["NoSymbols1234", "M_PASSWORD_NO_SYMBOL", "The password must include at least one symbol"],
        ["no-upper-1234", "M_PASSWORD_NO_UPPERCASE", "The password must include at least one uppercase letter"],
      ];
      for (const [pw, errcode, error] of cases) {
        // Even with a complete, correct auth dict: the policy is checked first.
        const r = await call(server.url, "POST", PASSWORD, {
          token: a.token,
          json: { new_password: pw, auth: { type: "m.login.password", user: "carl", password: "Str0ng-enough!" } },
        });
        expectMatrixError(r, 400, errcode, error);
      }
      const after = await db.kysely.selectFrom("ui_auth_sessions").select("session_id").execute();
      expect(after.length).toBe(before.length);
      await login(server.url, "carl", "Str0ng-enough!");

      const ok = await withPassword(
        server.url,
        "POST",
        PASSWORD,
        a.token,
        { new_password: "An0ther-good-one" },
        "carl",
        "Str0ng-enough!",
      );
      expect(ok.status, ok.text).toBe(200);
      await login(server.url, "carl", "An0ther-good-one");
    });
  });

  describe("POST /account/password: password change disabled", () => {
    for (const password_config of [{ enabled: false }, { localdb_enabled: false }]) {
      it(`is 403 "Password change disabled" with ${JSON.stringify(password_config)}`, async () => {
        const server = await startAccountServer(kind, { password_config });
        try {
          const a = await registerUser(server.url, "dora", "old-password");
          const r = await call(server.url, "POST", PASSWORD, {
            token: a.token,
            json: { new_password: "new-password" },
          });
          expectMatrixError(r, 403, "M_FORBIDDEN", "Password change disabled");
          const caps = await call(server.url, "GET", "/_matrix/client/v3/capabilities", { token: a.token });
          expect(caps.body).toMatchObject({ capabilities: { "m.change_password": { enabled: false } } });
        } finally {
          await server.close();
        }
      });
    }
  });

  describe("POST /account/deactivate", () => {
    let server: TestServer;
    let db: Db;
    beforeAll(async () => {
      const s = await startAccountServer(kind, {
        login_via_existing_session: { enabled: true, require_ui_auth: false },
      });
      server = s;
      db = openTestDb(s.db);
    });
    afterAll(async () => {
      await db.close();
      await server.close();
    });

    it("asks for the password, refuses a wrong one, then deactivates: every token dies, login is refused", async () => {
      const a = await registerUser(server.url, "eve", "eve-password", { refresh_token: true });
      const b = await login(server.url, "eve", "eve-password");
      const lt = await call(server.url, "POST", "/_matrix/client/v1/login/get_token", { token: b.token, json: {} });
      expect(lt.status, lt.text).toBe(200);
      await db.kysely
        .insertInto("device_keys")
        .values({ user_id: a.userId, device_id: a.deviceId, key_json: "{}" })
        .execute();

      const c = await challenge(server.url, "POST", DEACTIVATE, a.token, {});
      const wrong = await call(server.url, "POST", DEACTIVATE, {
        token: a.token,
        json: { auth: passwordAuth(c.session, "eve", "nope") },
      });
      expect(wrong.status).toBe(401);
      expect(wrong.body.errcode).toBe("M_FORBIDDEN");
      await expectTokenAlive(server.url, a);

      const r = await call(server.url, "POST", DEACTIVATE, {
        token: a.token,
        json: { auth: passwordAuth(c.session, "eve", "eve-password") },
      });
      expect(r.status, r.text).toBe(200);
      expect(r.body).toEqual({ id_server_unbind_result: "no-support" });

      await expectTokenDead(server.url, a.token);
      await expectTokenDead(server.url, b.token);
      // The hash is gone, so a password login fails as a wrong password does (as in Synapse): M_FORBIDDEN.
      expectMatrixError(
        await loginRequest(server.url, "eve", "eve-password"),
        403,
        "M_FORBIDDEN",
        "Invalid username or password",
      );
      const tokenLogin = await call(server.url, "POST", "/_matrix/client/v3/login", {
        json: { type: "m.login.token", token: lt.body.login_token },
      });
      expectMatrixError(tokenLogin, 403, "M_FORBIDDEN", "Invalid login token");

      const user = await userRow(db, a.userId);
      expect(user).toMatchObject({ deactivated: 1, password_hash: null, displayname: "eve" });
      for (const table of ["devices", "access_tokens", "refresh_tokens", "login_tokens"] as const) {
        expect(await countRows(db, table, a.userId), table).toBe(0);
      }
      const keys = await db.kysely.selectFrom("device_keys").selectAll().where("user_id", "=", a.userId).execute();
      expect(keys).toEqual([]);

      // Without erase the profile stays; the user ID stays taken for good.
      const profile = await call(server.url, "GET", "/_matrix/client/v3/profile/@eve:localhost");
      expect(profile.body).toEqual({ displayname: "eve" });
      const again = await call(server.url, "POST", "/_matrix/client/v3/register", {
        json: { username: "eve", password: "x", auth: { type: "m.login.dummy" } },
      });
      expectMatrixError(again, 400, "M_USER_IN_USE", "User ID already taken.");
    });

    it("erase also clears the display name and avatar", async () => {
      const a = await registerUser(server.url, "fay", "fay-password");
      const put = await call(server.url, "PUT", "/_matrix/client/v3/profile/@fay:localhost/avatar_url", {
        token: a.token,
        json: { avatar_url: "mxc://localhost/abcDEF123" },
      });
      expect(put.status, put.text).toBe(200);
      const r = await withPassword(server.url, "POST", DEACTIVATE, a.token, { erase: true }, "fay", "fay-password");
      expect(r.status, r.text).toBe(200);
      expect(await userRow(db, a.userId)).toMatchObject({ deactivated: 1, displayname: null, avatar_url: null });
      expectMatrixError(
        await call(server.url, "GET", "/_matrix/client/v3/profile/@fay:localhost"),
        404,
        "M_NOT_FOUND",
        "Profile was not found",
      );
    });

    it("checks erase and id_server before UIA, and needs an access token", async () => {
      const a = await registerUser(server.url, "gil", "gil-password");
      for (const json of [{ erase: "yes" }, { erase: null }, { id_server: 5 }]) {
        const r = await call(server.url, "POST", DEACTIVATE, { token: a.token, json });
        expect(r.status, JSON.stringify(json)).toBe(400);
        expect(r.body.errcode).toBe("M_BAD_JSON");
      }
      expectMatrixError(
        await call(server.url, "POST", DEACTIVATE, { json: {} }),
        401,
        "M_MISSING_TOKEN",
        "Missing access token",
      );
      const r = await withPassword(
        server.url,
        "POST",
        DEACTIVATE,
        a.token,
        { id_server: "id.example.org" },
        "gil",
        "gil-password",
      );
      expect(r.status, r.text).toBe(200);
      expect(r.body).toEqual({ id_server_unbind_result: "no-support" });
    });

    it("a UIA session for a password change cannot be used to deactivate", async () => {
      const a = await registerUser(server.url, "hal", "hal-password");
      const c = await challenge(server.url, "POST", PASSWORD, a.token, {});
      const r = await call(server.url, "POST", DEACTIVATE, {
        token: a.token,
        json: { auth: passwordAuth(c.session, "hal", "hal-password") },
      });
      expectMatrixError(r, 403, "M_UNKNOWN", "Requested operation has changed during the UI authentication session.");
      await expectTokenAlive(server.url, a);
    });
  });
});
