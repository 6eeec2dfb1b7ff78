/**
 * Pieces the client registration, login and rate-limit tests share: servers with the limits they need, row counts
 * read over a connection of their own, and sign-up as a client does it.
 */
import { expect } from "vitest";
import type { RawConfig } from "../../src/config/validate.js";
import type { Db } from "../../src/db/database.js";
import { createTestDatabase, type DatabaseKind, type TestDatabase } from "../helpers/databases.js";
import type { HttpResult } from "../helpers/http.js";
import { specCall } from "../helpers/openapi.js";
import { startTestServer, type TestClock, type TestServer } from "../helpers/server.js";
import { openTestDb } from "./support.js";

/** Limits no test reaches by accident (the defaults allow 3 sign-ups and 3 failed logins). */
export const NO_LIMITS: RawConfig = {
  rc_registration: { per_second: 1000, burst_count: 1000 },
  rc_registration_token_validity: { per_second: 1000, burst_count: 1000 },
  registration_sessions: { per_ip: 100_000, total: 100_000 },
  password_config: { hashing_queue_limit: 100_000 },
  rc_login: {
    address: { per_second: 1000, burst_count: 1000 },
    account: { per_second: 1000, burst_count: 1000 },
    failed_attempts: { per_second: 1000, burst_count: 1000 },
  },
};

export const OPEN_REGISTRATION: RawConfig = {
  enable_registration: true,
  enable_registration_without_verification: true,
};

export interface Fixture {
  db: TestDatabase;
  server: TestServer;
  url: string;
  /** A second connection to the same database, for looking at rows. */
  look: Db;
  close(): Promise<void>;
}

export async function startFixture(
  kind: DatabaseKind,
  overrides: RawConfig = {},
  options: { clock?: TestClock } = {},
): Promise<Fixture> {
  const db = await createTestDatabase(kind);
  const server = await startTestServer(db, { ...NO_LIMITS, ...overrides }, options);
  const look = openTestDb(db);
  return {
    db,
    server,
    url: server.url,
    look,
    async close() {
      await look.close();
      await server.close();
    },
  };
}

export interface RowCounts {
  users: number;
  devices: number;
  access_tokens: number;
  refresh_tokens: number;
  ui_auth_sessions: number;
}

export async function rowCounts(db: Db): Promise<RowCounts> {
  const count = async (table: keyof RowCounts) => {
    const row = await db.kysely
      .selectFrom(table)
      .select((eb) => eb.fn.countAll<number | string>().as("n"))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  };
  return {
    users: await count("users"),
    devices: await count("devices"),
    access_tokens: await count("access_tokens"),
    refresh_tokens: await count("refresh_tokens"),
    ui_auth_sessions: await count("ui_auth_sessions"),
  };
}

/** For `afterAll`: closes the fixture if `beforeAll` got as far as making one. */
export function closeFixture(fx: Fixture | undefined): Promise<void> | undefined {
  return fx?.close();
}

export const REGISTER = "/_matrix/client/v3/register";

export interface UiaBody {
  session: string;
  flows: { stages: string[] }[];
  params: Record<string, unknown>;
  completed?: string[];
  errcode?: string;
  error?: string;
}

/** `POST /register` with the body given; every response checked against the spec. */
export function register(url: string, body: unknown, path = REGISTER, token?: string): Promise<HttpResult> {
  return specCall(url, "POST", path, { json: body, ...(token ? { token } : {}) });
}

/** The nio way: one request, `m.login.dummy` and no session. Expects success. */
export async function signUp(
  url: string,
  username: string,
  password: string,
  extra: Record<string, unknown> = {},
): Promise<{ user_id: string; access_token: string; device_id: string }> {
  const r = await register(url, { username, password, auth: { type: "m.login.dummy" }, ...extra });
  expect(r.status, r.text).toBe(200);
  return r.body as { user_id: string; access_token: string; device_id: string };
}

export async function whoami(url: string, token: string): Promise<HttpResult> {
  return specCall(url, "GET", "/_matrix/client/v3/account/whoami", { token });
}

export async function login(
  url: string,
  body: Record<string, unknown>,
  path = "/_matrix/client/v3/login",
): Promise<HttpResult> {
  return specCall(url, "POST", path, { json: body });
}

export function passwordLogin(
  user: string,
  password: string,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return { type: "m.login.password", identifier: { type: "m.id.user", user }, password, ...extra };
}
