/**
 * The registration-tokens admin API (`/_synapse/admin/v1/registration_tokens`), on SQLite and PostgreSQL: every
 * endpoint with Synapse's shapes, checks and words; every write audited; tokens made here used by `POST /register`
 * with `registration_requires_token`, their counters seen through the API; and 100 sign-ups racing for a token of
 * 7 uses make exactly 7 accounts.
 */
import type { RegistrationTokenResponse } from "../../src/accounts/registration-tokens.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAccountServer } from "../api/account-support.js";
import { expectMatrixError, openTestDb } from "../api/support.js";
import type { Db } from "../../src/db/database.js";
import { forEachDatabase } from "../helpers/databases.js";
import { call, type HttpResult } from "../helpers/http.js";
import { registerShared } from "../helpers/register.js";
import { testClock, type TestServer } from "../helpers/server.js";
import { ADMIN, auditRows } from "./support.js";

const TOKENS = `${ADMIN}/v1/registration_tokens`;
const REGISTER = "/_matrix/client/v3/register";
const TOKEN_STAGE = "m.login.registration_token";
const DUMMY = "m.login.dummy";
const HOUR = 3_600_000;

type TokenBody = RegistrationTokenResponse;

forEachDatabase((kind) => {
  let server: TestServer;
  let look: Db;
  let adminToken: string;
  let plainToken: string;
  const closers: (() => Promise<void>)[] = [];
  // The server's clock: a token's expiry is reached by moving it, not by waiting.
  const clock = testClock();

  const as = (method: string, path: string, options: { json?: unknown; body?: string; token?: string | null } = {}) => {
    const { token, ...rest } = options;
    const t = token === undefined ? adminToken : token;
    return call(server.url, method, path, { ...rest, ...(t === null ? {} : { token: t }) });
  };
  const create = (json: unknown) => as("POST", `${TOKENS}/new`, { json });
  const get = async (token: string) => (await as("GET", `${TOKENS}/${encodeURIComponent(token)}`)).body as unknown;
  const listed = async (query = ""): Promise<string[]> => {
    const r = await as("GET", `${TOKENS}${query}`);
    expect(r.status, r.text).toBe(200);
    return (r.body.registration_tokens as TokenBody[]).map((t) => t.token);
  };
  const register = (json: Record<string, unknown>) => call(server.url, "POST", REGISTER, { json });

  beforeAll(async () => {
    // The race below hashes 100 passwords at once: past the default hashing queue bound (64, tested on its own in
    // test/api/ratelimit.test.ts), whether some are refused 429 would depend on the machine's speed.
    const s = await startAccountServer(
      kind,
      { registration_requires_token: true, password_config: { hashing_queue_limit: 1000 } },
      { clock },
    );
    server = s;
    closers.push(() => s.close());
    look = openTestDb(s.db);
    closers.push(() => look.close());
    // With tokens required, accounts for the callers come from shared-secret registration.
    const admin = await registerShared(s.url, { username: "root", password: "root password", admin: true });
    expect(admin.status, admin.text).toBe(200);
    adminToken = admin.body.access_token as string;
    const plain = await registerShared(s.url, { username: "plain", password: "plain password" });
    expect(plain.status, plain.text).toBe(200);
    plainToken = plain.body.access_token as string;
  });
  afterAll(async () => {
    // Whatever beforeAll got as far as opening, newest first.
    for (const close of closers.reverse()) await close();
  });

  describe("access", () => {
    it("every endpoint refuses a non-admin (403) and an anonymous caller (401)", async () => {
      const calls: [string, string, unknown?][] = [
        ["GET", TOKENS],
        ["POST", `${TOKENS}/new`, {}],
        ["GET", `${TOKENS}/abc`],
        ["PUT", `${TOKENS}/abc`, {}],
        ["DELETE", `${TOKENS}/abc`],
      ];
      for (const [method, path, json] of calls) {
        const opts = json === undefined ? {} : { json };
        expectMatrixError(
          await as(method, path, { ...opts, token: plainToken }),
          403,
          "M_FORBIDDEN",
          "You are not a server admin",
        );
        expect((await as(method, path, { ...opts, token: null })).body).toMatchObject({ errcode: "M_MISSING_TOKEN" });
      }
      expect(await listed()).toEqual([]);
    });
  });

  describe("POST /new", () => {
    it("generates a 16-character token from [A-Za-z0-9._~-] by default, with no limits", async () => {
      const r = await create({});
      expect(r.status, r.text).toBe(200);
      expect(r.body).toEqual({
        token: expect.stringMatching(/^[A-Za-z0-9._~-]{16}$/),
        uses_allowed: null,
        pending: 0,
        completed: 0,
        expiry_time: null,
      });
      expect(await get(r.body.token as string)).toEqual(r.body);
    });

    it("generates tokens of the length asked for, 1 to 64", async () => {
      for (const length of [1, 64]) {
        const r = await create({ length });
        expect(r.status, r.text).toBe(200);
        expect((r.body.token as string).length).toBe(length);
      }
    });

    it("takes a named token with its limits; length is ignored then", async () => {
      const expiry = Date.now() + HOUR;
      const r = await create({ token: "a.B~c-d_9", uses_allowed: 3, expiry_time: expiry, length: "ignored" });
      expect(r.status, r.text).toBe(200);
      expect(r.body).toEqual({ token: "a.B~c-d_9", uses_allowed: 3, pending: 0, completed: 0, expiry_time: expiry });
      const long = "x".repeat(64);
      expect((await create({ token: long })).body).toMatchObject({ token: long });
    });

    it("refuses a token that exists", async () => {
      expect((await create({ token: "taken" })).status).toBe(200);
      expectMatrixError(
        await create({ token: "taken", uses_allowed: 5 }),
        400,
        "M_INVALID_PARAM",
        "Token already exists: taken",
      );
      expect(await get("taken")).toMatchObject({ uses_allowed: null });
    });

    it("two admins racing for one name get one token", async () => {
      const results = await Promise.all(Array.from({ length: 10 }, () => create({ token: "racy" })));
      expect(results.filter((r) => r.status === 200)).toHaveLength(1);
      for (const r of results.filter((r) => r.status !== 200)) {
        expectMatrixError(r, 400, "M_INVALID_PARAM", "Token already exists: racy");
      }
    });

    it.each([
      [{ token: 123 }, "token must be a string"],
      [{ token: null }, "token must be a string"],
      [{ token: "" }, "token must not be empty and must not be longer than 64 characters"],
      [{ token: "y".repeat(65) }, "token must not be empty and must not be longer than 64 characters"],
      [{ token: "has space" }, "token must consist only of characters matched by the regex [A-Za-z0-9-_]"],
      [{ token: "bad/slash" }, "token must consist only of characters matched by the regex [A-Za-z0-9-_]"],
      [{ token: "émoji" }, "token must consist only of characters matched by the regex [A-Za-z0-9-_]"],
      [{ length: "16" }, "length must be an integer"],
      [{ length: 1.5 }, "length must be an integer"],
      [{ length: true }, "length must be an integer"],
      [{ length: null }, "length must be an integer"],
      [{ length: 0 }, "length must be greater than zero and not greater than 64"],
      [{ length: 65 }, "length must be greater than zero and not greater than 64"],
      [{ uses_allowed: -1 }, "uses_allowed must be a non-negative integer or null"],
      [{ uses_allowed: 1.5 }, "uses_allowed must be a non-negative integer or null"],
      [{ uses_allowed: true }, "uses_allowed must be a non-negative integer or null"],
      [{ uses_allowed: "3" }, "uses_allowed must be a non-negative integer or null"],
      [{ expiry_time: "soon" }, "expiry_time must be an integer or null"],
      [{ expiry_time: 1.5 }, "expiry_time must be an integer or null"],
      [{ expiry_time: 1000 }, "expiry_time must not be in the past"],
      // Synapse checks the token before the limits.
      [{ token: "", uses_allowed: -1 }, "token must not be empty and must not be longer than 64 characters"],
    ])("refuses %j: %s", async (body, message) => {
      const before = (await listed()).length;
      expectMatrixError(await create(body), 400, "M_INVALID_PARAM", message);
      expect((await listed()).length).toBe(before);
    });

    it("needs a JSON object", async () => {
      expectMatrixError(await as("POST", `${TOKENS}/new`, { body: "" }), 400, "M_NOT_JSON", "Content not JSON.");
      expectMatrixError(await create([]), 400, "M_BAD_JSON", "Content must be a JSON object.");
    });
  });

  describe("GET", () => {
    it("one token, or 404 with Synapse's words", async () => {
      await create({ token: "lookup", uses_allowed: 2 });
      expect(await get("lookup")).toEqual({
        token: "lookup",
        uses_allowed: 2,
        pending: 0,
        completed: 0,
        expiry_time: null,
      });
      expectMatrixError(await as("GET", `${TOKENS}/nope`), 404, "M_NOT_FOUND", "No such registration token: nope");
    });

    it("the list, filtered by validity", async () => {
      await create({ token: "v-unlimited" });
      await create({ token: "v-zero", uses_allowed: 0 });
      await create({ token: "v-later", expiry_time: Date.now() + HOUR });
      await create({ token: "v-expiring", expiry_time: Date.now() + 1500 });
      const all = await listed();
      expect(all).toEqual(expect.arrayContaining(["v-unlimited", "v-zero", "v-later", "v-expiring"]));
      expect(await listed("?valid=true")).toEqual(expect.arrayContaining(["v-unlimited", "v-later", "v-expiring"]));
      expect(await listed("?valid=true")).not.toContain("v-zero");
      expect(await listed("?valid=false")).toEqual(["v-zero"]);
      clock.advance(1600);
      expect((await listed("?valid=false")).sort()).toEqual(["v-expiring", "v-zero"]);
      expect(await listed("?valid=true")).not.toContain("v-expiring");
      const valid = new Set(await listed("?valid=true"));
      const invalid = new Set(await listed("?valid=false"));
      expect([...valid].filter((t) => invalid.has(t))).toEqual([]);
      expect(valid.size + invalid.size).toBe(all.length);
      expectMatrixError(
        await as("GET", `${TOKENS}?valid=yes`),
        400,
        "M_INVALID_PARAM",
        "Boolean query parameter 'valid' must be one of ['true', 'false']",
      );
    });
  });

  describe("PUT", () => {
    it("changes uses_allowed and expiry_time, clears them with null, ignores other keys", async () => {
      await create({ token: "editable" });
      const expiry = Date.now() + HOUR;
      const r = await as("PUT", `${TOKENS}/editable`, { json: { uses_allowed: 4, expiry_time: expiry, pending: 99 } });
      expect(r.status, r.text).toBe(200);
      expect(r.body).toEqual({ token: "editable", uses_allowed: 4, pending: 0, completed: 0, expiry_time: expiry });
      const cleared = await as("PUT", `${TOKENS}/editable`, { json: { expiry_time: null } });
      expect(cleared.body).toEqual({ token: "editable", uses_allowed: 4, pending: 0, completed: 0, expiry_time: null });
      const unlimited = await as("PUT", `${TOKENS}/editable`, { json: { uses_allowed: null } });
      expect(unlimited.body).toMatchObject({ uses_allowed: null, expiry_time: null });
      const nothing = await as("PUT", `${TOKENS}/editable`, { json: { token: "renamed" } });
      expect(nothing.status).toBe(200);
      expect(nothing.body).toEqual(unlimited.body);
    });

    it("checks as creation does, before looking the token up", async () => {
      await create({ token: "strict" });
      for (const [body, message] of [
        [{ uses_allowed: -2 }, "uses_allowed must be a non-negative integer or null"],
        [{ uses_allowed: false }, "uses_allowed must be a non-negative integer or null"],
        [{ expiry_time: "x" }, "expiry_time must be an integer or null"],
        [{ expiry_time: Date.now() - 1000 }, "expiry_time must not be in the past"],
        [{ uses_allowed: 2, expiry_time: 5 }, "expiry_time must not be in the past"],
      ] as const) {
        expectMatrixError(await as("PUT", `${TOKENS}/strict`, { json: body }), 400, "M_INVALID_PARAM", message);
      }
      expect(await get("strict")).toMatchObject({ uses_allowed: null, expiry_time: null });
      expectMatrixError(
        await as("PUT", `${TOKENS}/ghost`, { json: { uses_allowed: -1 } }),
        400,
        "M_INVALID_PARAM",
        "uses_allowed must be a non-negative integer or null",
      );
    });

    it("404 for an unknown token, with or without changes", async () => {
      for (const json of [{}, { uses_allowed: 1 }]) {
        expectMatrixError(
          await as("PUT", `${TOKENS}/ghost`, { json }),
          404,
          "M_NOT_FOUND",
          "No such registration token: ghost",
        );
      }
      expect(await listed()).not.toContain("ghost");
    });
  });

  describe("DELETE", () => {
    it("answers {} and the token is gone; again is 404", async () => {
      await create({ token: "doomed", uses_allowed: 1 });
      const r = await as("DELETE", `${TOKENS}/doomed`);
      expect(r.status, r.text).toBe(200);
      expect(r.body).toEqual({});
      expectMatrixError(await as("GET", `${TOKENS}/doomed`), 404, "M_NOT_FOUND", "No such registration token: doomed");
      expectMatrixError(
        await as("DELETE", `${TOKENS}/doomed`),
        404,
        "M_NOT_FOUND",
        "No such registration token: doomed",
      );
    });
  });

  describe("audit", () => {
    it("records create, update and delete with before and after; refusals and no-op changes record nothing", async () => {
      const expiry = Date.now() + HOUR;
      await create({ token: "audited", uses_allowed: 2 });
      await as("PUT", `${TOKENS}/audited`, { json: { expiry_time: expiry } });
      await as("PUT", `${TOKENS}/audited`, { json: {} });
      await as("PUT", `${TOKENS}/audited`, { json: { uses_allowed: -1 } });
      await create({ token: "audited" });
      await as("DELETE", `${TOKENS}/audited`);
      const rows = (await auditRows(look)).filter((r) => r.target === "audited");
      expect(rows.map((r) => ({ actor: r.actor, action: r.action, before: r.before, after: r.after }))).toEqual([
        {
          actor: "@root:localhost",
          action: "registration_token.create",
          before: {},
          after: { uses_allowed: 2, expiry_time: null },
        },
        {
          actor: "@root:localhost",
          action: "registration_token.update",
          before: { expiry_time: null },
          after: { expiry_time: expiry },
        },
        {
          actor: "@root:localhost",
          action: "registration_token.delete",
          before: { uses_allowed: 2, expiry_time: expiry, pending: 0, completed: 0 },
          after: {},
        },
      ]);
    });
  });

  describe("used by POST /register", () => {
    /** POST {} → a session; the token stage with the username and password; then the dummy stage. */
    async function signUp(username: string, token: string): Promise<HttpResult> {
      const first = await register({});
      expect(first.status, first.text).toBe(401);
      const session = first.body.session as string;
      const t = await register({ username, password: "sign-up password", auth: { type: TOKEN_STAGE, token, session } });
      expect(t.status, t.text).toBe(401);
      return register({ auth: { type: DUMMY, session } });
    }

    it("pending after the token stage, completed after the account is made", async () => {
      const made = await create({ uses_allowed: 2 });
      const token = made.body.token as string;
      const first = await register({});
      const session = first.body.session as string;
      const t = await register({
        username: "tokened",
        password: "pw pw pw",
        auth: { type: TOKEN_STAGE, token, session },
      });
      expect(t.body.completed).toEqual([TOKEN_STAGE]);
      expect(await get(token)).toMatchObject({ pending: 1, completed: 0 });
      expect(await listed("?valid=true")).toContain(token);
      const done = await register({ auth: { type: DUMMY, session } });
      expect(done.status, done.text).toBe(200);
      expect(done.body.user_id).toBe("@tokened:localhost");
      expect(await get(token)).toEqual({ token, uses_allowed: 2, pending: 0, completed: 1, expiry_time: null });
      expect((await signUp("tokened2", token)).status).toBe(200);
      expect(await get(token)).toMatchObject({ pending: 0, completed: 2 });
      expect(await listed("?valid=false")).toContain(token);
      // Raising the limit through the API makes it usable again; the counters stay.
      await as("PUT", `${TOKENS}/${encodeURIComponent(token)}`, { json: { uses_allowed: 3 } });
      expect((await signUp("tokened3", token)).status).toBe(200);
      expect(await get(token)).toMatchObject({ uses_allowed: 3, pending: 0, completed: 3 });
    });

    it("uses_allowed 0 is a token nobody can use", async () => {
      await create({ token: "disabled", uses_allowed: 0 });
      const first = await register({});
      const session = first.body.session as string;
      const r = await register({
        username: "nope",
        password: "pw pw pw",
        auth: { type: TOKEN_STAGE, token: "disabled", session },
      });
      expect(r.status).toBe(401);
      expect(r.body).toMatchObject({ errcode: "M_UNAUTHORIZED", error: "Invalid registration token" });
      expect(await get("disabled")).toMatchObject({ uses_allowed: 0, pending: 0, completed: 0 });
      const v = await call(server.url, "GET", `/_matrix/client/v1/register/${TOKEN_STAGE}/validity?token=disabled`);
      expect(v.body).toEqual({ valid: false });
    });

    it("a token deleted mid-sign-up still lets the reserved sign-up finish", async () => {
      await create({ token: "vanishing", uses_allowed: 1 });
      const first = await register({});
      const session = first.body.session as string;
      await register({
        username: "survivor",
        password: "pw pw pw",
        auth: { type: TOKEN_STAGE, token: "vanishing", session },
      });
      expect((await as("DELETE", `${TOKENS}/vanishing`)).status).toBe(200);
      const done = await register({ auth: { type: DUMMY, session } });
      expect(done.status, done.text).toBe(200);
      expectMatrixError(
        await as("GET", `${TOKENS}/vanishing`),
        404,
        "M_NOT_FOUND",
        "No such registration token: vanishing",
      );
    });

    it("100 parallel sign-ups against a 7-use token made through the API make exactly 7 accounts", async () => {
      const made = await create({ uses_allowed: 7 });
      expect(made.status, made.text).toBe(200);
      const token = made.body.token as string;
      const results = await Promise.all(
        Array.from({ length: 100 }, async (_, i) => {
          const r = await signUp(`racer${i}`, token);
          if (r.status !== 200) expect(r.status, r.text).toBe(401);
          return r.status === 200;
        }),
      );
      expect(results.filter(Boolean)).toHaveLength(7);
      const racers = await look.kysely.selectFrom("users").select("name").where("name", "like", "@racer%").execute();
      expect(racers).toHaveLength(7);
      expect(await get(token)).toEqual({ token, uses_allowed: 7, pending: 0, completed: 7, expiry_time: null });
      expect(await listed("?valid=false")).toContain(token);
    });
  });
});
