/**
 * The bounds that keep a request from hanging or crashing the server, each checked over real HTTP: the database
 * timeout keys and what a database failure becomes (503 with Retry-After), the per-request backstop, the nesting
 * limit on JSON bodies, and a Matrix body for what Node itself refuses (a URL past its header limit).
 */
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RateLimiter } from "../../src/accounts/ratelimit.js";
import { ConfigError } from "../../src/config/validate.js";
import { sql } from "kysely";
import { isDatabaseUnavailable, openDatabase } from "../../src/db/database.js";
import { MAX_JSON_DEPTH, jsonObjectBody } from "../../src/http/request.js";
import { buildHttpApp, answerClientError } from "../../src/http/server.js";
import { createTestDatabase } from "../helpers/databases.js";
import { configFrom, rawConfigFor, startTestServer, type TestServer } from "../helpers/server.js";
import { OPEN_REGISTRATION, registerUser } from "../api/account-support.js";
import { attempt, CHEAP_HASHING, isMatrixErrorBody } from "./support.js";
import { createServer, type Server } from "node:http";
import type { FastifyInstance } from "fastify";

describe("database timeout keys", () => {
  it("default to 5 s and 30 s, take values, and refuse nonsense with the key named", async () => {
    const db = await createTestDatabase("postgres");
    const base = rawConfigFor(db);
    const args = (base.database as { args: Record<string, unknown> }).args;
    const config = configFrom(base).database;
    expect(config.name === "psycopg2" && [config.args.connect_timeout, config.args.statement_timeout]).toEqual([
      5, 30_000,
    ]);
    const set = configFrom({
      ...base,
      database: { name: "psycopg2", args: { ...args, connect_timeout: 2, statement_timeout: 500 } },
    }).database;
    expect(set.name === "psycopg2" && [set.args.connect_timeout, set.args.statement_timeout]).toEqual([2, 500]);
    const bad = () =>
      configFrom({
        ...base,
        database: { name: "psycopg2", args: { ...args, connect_timeout: "soon", statement_timeout: 0 } },
      });
    expect(bad).toThrow(ConfigError);
    expect(bad).toThrow(/database\.args\.connect_timeout.*whole number/);
    expect(bad).toThrow(/database\.args\.statement_timeout/);
  });
});

describe("a PostgreSQL connection lost while checked out", () => {
  it("fails the transaction holding it (a 503 error), not the process, and the pool carries on", async () => {
    const db = openDatabase((await createTestDatabase("postgres")).config);
    const killer = openDatabase((await createTestDatabase("postgres")).config);
    try {
      const outcome = await db.kysely
        .transaction()
        .execute(async (trx) => {
          const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(trx);
          // Between two statements, as while a password is hashed: no query is running to receive the error.
          await sql`select pg_terminate_backend(${rows[0]!.pid})`.execute(killer.kysely);
          await new Promise((r) => setTimeout(r, 300));
          await sql`select 1`.execute(trx);
          return "committed";
        })
        .catch((err: unknown) => err);
      expect(outcome).toBeInstanceOf(Error);
      expect(isDatabaseUnavailable(outcome)).toBe(true);
      const { rows } = await sql<{ one: number }>`select 1 as one`.execute(db.kysely);
      expect(rows).toEqual([{ one: 1 }]);
    } finally {
      await killer.close();
      await db.close();
    }
  });
});

describe("values PostgreSQL cannot store", () => {
  it("NUL in a path parameter or a body field is 400 M_INVALID_PARAM on PostgreSQL, and changes nothing", async () => {
    const server = await startTestServer(await createTestDatabase("postgres"), {
      ...OPEN_REGISTRATION,
      ...CHEAP_HASHING,
    });
    try {
      const user = await registerUser(server.url, "nul", "nul password 1");
      const device = await attempt(server.url, "GET", "/_matrix/client/v3/devices/A%00B", { token: user.token });
      expect([device.status, (device.body as { errcode?: string }).errcode]).toEqual([400, "M_INVALID_PARAM"]);
      const path = `/_matrix/client/v3/profile/${encodeURIComponent(user.userId)}/displayname`;
      const put = await attempt(server.url, "PUT", path, { token: user.token, json: { displayname: "a\u0000b" } });
      expect([put.status, (put.body as { errcode?: string }).errcode]).toEqual([400, "M_INVALID_PARAM"]);
      const get = await attempt(server.url, "GET", path);
      expect(get.body).toEqual({ displayname: "nul" });
    } finally {
      await server.close();
    }
  });
});

describe("isDatabaseUnavailable", () => {
  const coded = (code: string, message = "x") => Object.assign(new Error(message), { code });
  it("is true for an unreachable, restarting or overloaded database, and for a timeout", () => {
    for (const e of [
      coded("ECONNREFUSED"),
      coded("57P01", "terminating connection due to administrator command"),
      coded("57P03", "the database system is starting up"),
      coded("57014", "canceling statement due to statement timeout"),
      coded("08006"),
      coded("53300"),
      coded("SQLITE_BUSY"),
      Object.assign(coded("ENOENT", "connect ENOENT /run/postgresql/.s.PGSQL.5432"), { syscall: "connect" }),
      new Error("Connection terminated unexpectedly"),
      new Error("timeout exceeded when trying to connect"),
      new Error("Query read timeout"),
      new AggregateError([coded("ECONNREFUSED"), coded("ECONNREFUSED")]),
    ]) {
      expect(isDatabaseUnavailable(e), e.message).toBe(true);
    }
  });
  it("is false for a statement that is wrong, and for anything else", () => {
    for (const e of [
      coded("42601", "syntax error"),
      coded("23505"),
      coded("ENOENT", "open 'index.html'"),
      new TypeError("x is undefined"),
      "text",
      null,
    ]) {
      expect(isDatabaseUnavailable(e)).toBe(false);
    }
  });
});

describe("over HTTP", () => {
  let server: TestServer;
  let app: FastifyInstance;
  let http: Server;
  let appUrl: string;
  beforeAll(async () => {
    server = await startTestServer(await createTestDatabase("sqlite"), { ...OPEN_REGISTRATION, ...CHEAP_HASHING });
    // An application with a 300 ms backstop and routes that misbehave on purpose.
    const running = server.server;
    app = buildHttpApp(
      {
        config: running.config,
        accounts: running.accounts,
        rooms: running.rooms,
        media: running.media,
        limiter: undefined as unknown as RateLimiter,
        requestTimeoutMs: 300,
      },
      [
        (a) => {
          a.get("/hang", () => new Promise(() => {}));
          a.get("/slow-import", { config: { longRunning: true } }, async () => {
            await new Promise((r) => setTimeout(r, 600));
            return { done: true };
          });
          a.get("/db-down", async () => {
            throw Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" });
          });
          a.post("/echo", async (request) => jsonObjectBody(request));
        },
      ],
    );
    await app.ready();
    http = createServer((req, res) => app.routing(req, res));
    http.on("clientError", answerClientError);
    await new Promise<void>((r) => http.listen(0, "127.0.0.1", r));
    appUrl = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    // beforeAll may have failed part-way.
    const made = { http, app, server } as { http?: Server; app?: FastifyInstance; server?: TestServer };
    made.http?.closeAllConnections();
    made.http?.close();
    await made.app?.close();
    await made.server?.close();
  });

  it("answers a request that hangs 503 M_UNKNOWN at the backstop, with Retry-After", async () => {
    const r = await attempt(appUrl, "GET", "/hang", { timeoutMs: 5_000 });
    expect(r.status).toBe(503);
    expect(r.body).toEqual({ errcode: "M_UNKNOWN", error: "The request timed out" });
    expect(r.headers?.get("retry-after")).toBe("2");
    expect(r.ms).toBeGreaterThanOrEqual(290);
    expect(r.ms).toBeLessThan(2_000);
  });

  it("lets a route marked longRunning outlast the backstop", async () => {
    const r = await attempt(appUrl, "GET", "/slow-import");
    expect([r.status, r.body]).toEqual([200, { done: true }]);
  });

  it("turns a database failure into 503 with Retry-After and no details", async () => {
    const r = await attempt(appUrl, "GET", "/db-down");
    expect(r.status).toBe(503);
    expect(r.body).toEqual({ errcode: "M_UNKNOWN", error: "The database is unavailable; try again shortly" });
    expect(r.headers?.get("retry-after")).toBe("2");
  });

  it(`refuses JSON nested past ${MAX_JSON_DEPTH} levels with 400 M_BAD_JSON, and takes it up to there`, async () => {
    const nest = (n: number) => '{"a":'.repeat(n - 1) + "{}" + "}".repeat(n - 1);
    const ok = await attempt(appUrl, "POST", "/echo", { body: nest(MAX_JSON_DEPTH) });
    expect(ok.status, ok.text).toBe(200);
    // Brackets inside strings are not nesting.
    const inString = await attempt(appUrl, "POST", "/echo", { body: JSON.stringify({ a: "[{".repeat(10_000) }) });
    expect(inString.status).toBe(200);
    const deep = await attempt(appUrl, "POST", "/echo", { body: nest(10_000) });
    expect([deep.status, deep.body]).toEqual([
      400,
      { errcode: "M_BAD_JSON", error: `Content nested more than ${MAX_JSON_DEPTH} levels deep.` },
    ]);
    // Through a real route that stores the request (a UIA session), where the depth once ran out of stack: a 500.
    const user = await registerUser(server.url, "deep", "deep password 1");
    const real = await attempt(server.url, "POST", "/_matrix/client/v3/account/password", {
      token: user.token,
      body: `{"new_password":"x","auth":${nest(10_000)}}`,
    });
    expect([real.status, (real.body as { errcode?: string }).errcode]).toEqual([400, "M_BAD_JSON"]);
  });

  it("answers a URL past Node's header limit with 431 and a Matrix body", async () => {
    const r = await attempt(server.url, "GET", `/_matrix/client/versions?x=${"a".repeat(20_000)}`);
    expect(r.status).toBe(431);
    expect(isMatrixErrorBody(r.body)).toBe(true);
    expect((r.body as { errcode: string }).errcode).toBe("M_TOO_LARGE");
    // The server is still serving.
    expect((await attempt(server.url, "GET", "/_matrix/client/versions")).status).toBe(200);
  });
});
