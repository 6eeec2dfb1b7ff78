/**
 * Pieces the account, device and profile API tests share: a server with open registration and generous rate
 * limits, users made through `POST /register`, logins, and the two-step UIA exchange a client goes through.
 */
import { expect } from "vitest";
import type { RawConfig } from "../../src/config/validate.js";
import { createTestDatabase, type DatabaseKind, type TestDatabase } from "../helpers/databases.js";
import { call, type HttpResult } from "../helpers/http.js";
import { startTestServer, type TestClock, type TestServer } from "../helpers/server.js";

const PLENTY = { per_second: 1000, burst_count: 1000 };

/** Open registration, and rate limits out of the way (tests that want them set their own). */
export const OPEN_REGISTRATION: RawConfig = {
  enable_registration: true,
  enable_registration_without_verification: true,
  rc_registration: PLENTY,
  registration_sessions: { per_ip: 100_000, total: 100_000 },
  rc_login: { address: PLENTY, account: PLENTY, failed_attempts: PLENTY },
};

export async function startAccountServer(
  kind: DatabaseKind,
  overrides: RawConfig = {},
  options: { clock?: TestClock } = {},
): Promise<TestServer & { db: TestDatabase }> {
  const db = await createTestDatabase(kind);
  const server = await startTestServer(db, { ...OPEN_REGISTRATION, ...overrides }, options);
  return { ...server, db };
}

export interface Session {
  userId: string;
  token: string;
  deviceId: string;
}

/** Registers `username` in one request (`m.login.dummy`) and returns its first session. */
export async function registerUser(
  base: string,
  username: string,
  password: string,
  extra: Record<string, unknown> = {},
): Promise<Session> {
  const r = await call(base, "POST", "/_matrix/client/v3/register", {
    json: { username, password, auth: { type: "m.login.dummy" }, ...extra },
  });
  expect(r.status, r.text).toBe(200);
  return {
    userId: r.body.user_id as string,
    token: r.body.access_token as string,
    deviceId: r.body.device_id as string,
  };
}

export function loginRequest(base: string, username: string, password: string, deviceId?: string): Promise<HttpResult> {
  return call(base, "POST", "/_matrix/client/v3/login", {
    json: {
      type: "m.login.password",
      identifier: { type: "m.id.user", user: username },
      password,
      device_id: deviceId,
    },
  });
}

/** Logs in and returns the new session; fails the test if the login is refused. */
export async function login(base: string, username: string, password: string, deviceId?: string): Promise<Session> {
  const r = await loginRequest(base, username, password, deviceId);
  expect(r.status, r.text).toBe(200);
  return {
    userId: r.body.user_id as string,
    token: r.body.access_token as string,
    deviceId: r.body.device_id as string,
  };
}

export const whoami = (base: string, token: string) =>
  call(base, "GET", "/_matrix/client/v3/account/whoami", { token });

export interface UiaChallenge {
  session: string;
  flows: { stages: string[] }[];
  params: Record<string, unknown>;
  completed?: string[];
  errcode?: string;
  error?: string;
}

/** The first request of a UIA exchange: expects the 401 and returns its body. */
export async function challenge(
  base: string,
  method: string,
  path: string,
  token: string,
  json: Record<string, unknown>,
): Promise<UiaChallenge> {
  const r = await call<UiaChallenge>(base, method, path, { token, json });
  expect(r.status, r.text).toBe(401);
  expect(r.body.flows).toEqual([{ stages: ["m.login.password"] }]);
  expect(typeof r.body.session).toBe("string");
  return r.body;
}

/** An `m.login.password` auth dict for `user` (a localpart or user ID). */
export function passwordAuth(session: string, user: string, password: string): Record<string, unknown> {
  return { type: "m.login.password", session, identifier: { type: "m.id.user", user }, password };
}

/** The whole exchange: challenge with `json`, then the same body plus the password stage. */
export async function withPassword(
  base: string,
  method: string,
  path: string,
  token: string,
  json: Record<string, unknown>,
  user: string,
  password: string,
): Promise<HttpResult> {
  const c = await challenge(base, method, path, token, json);
  return call(base, method, path, { token, json: { ...json, auth: passwordAuth(c.session, user, password) } });
}
