/**
 * Pieces the sync, keys, account-data and push-rules tests share: a server with open registration, users made
 * through `POST /register` as a client makes them, and extra logins (devices) for a user.
 */
import { expect } from "vitest";
import { createTestDatabase, type DatabaseKind } from "../helpers/databases.js";
import { call } from "../helpers/http.js";
import { startTestServer, type TestServer } from "../helpers/server.js";

export interface ClientUser {
  userId: string;
  token: string;
  deviceId: string;
}

/** Rate limits far above what a suite does: these suites make many users and devices from one address. */
export const NO_LIMITS = {
  rc_registration: { per_second: 1000, burst_count: 1000 },
  rc_message: { per_second: 1000, burst_count: 1000 },
  rc_joins: { local: { per_second: 1000, burst_count: 1000 } },
  rc_login: {
    address: { per_second: 1000, burst_count: 1000 },
    account: { per_second: 1000, burst_count: 1000 },
    failed_attempts: { per_second: 1000, burst_count: 1000 },
  },
};

export async function startOpenServer(kind: DatabaseKind): Promise<TestServer> {
  return startTestServer(await createTestDatabase(kind), {
    enable_registration: true,
    enable_registration_without_verification: true,
    allow_guest_access: true,
    ...NO_LIMITS,
  });
}

/** Registers `username` in one step with `m.login.dummy`, as nio and the SDKs do. */
export async function registerUser(
  base: string,
  username: string,
  password = "correct horse battery",
): Promise<ClientUser> {
  const r = await call(base, "POST", "/_matrix/client/v3/register", {
    json: { username, password, auth: { type: "m.login.dummy" } },
  });
  expect(r.status, r.text).toBe(200);
  return {
    userId: r.body.user_id as string,
    token: r.body.access_token as string,
    deviceId: r.body.device_id as string,
  };
}

/** A guest, as `POST /register?kind=guest` makes one. */
export async function registerGuest(base: string): Promise<ClientUser> {
  const r = await call(base, "POST", "/_matrix/client/v3/register?kind=guest", { json: {} });
  expect(r.status, r.text).toBe(200);
  return {
    userId: r.body.user_id as string,
    token: r.body.access_token as string,
    deviceId: r.body.device_id as string,
  };
}

/** Logs `username` in again: a new device of the same user. */
export async function loginAgain(
  base: string,
  username: string,
  password = "correct horse battery",
): Promise<ClientUser> {
  const r = await call(base, "POST", "/_matrix/client/v3/login", {
    json: { type: "m.login.password", identifier: { type: "m.id.user", user: username }, password },
  });
  expect(r.status, r.text).toBe(200);
  return {
    userId: r.body.user_id as string,
    token: r.body.access_token as string,
    deviceId: r.body.device_id as string,
  };
}

/** A `device_keys` object as a client uploads it (the key values are opaque to the server). */
export function deviceKeysFor(user: { userId: string; deviceId: string }, tag = "A"): Record<string, unknown> {
  return {
    user_id: user.userId,
    device_id: user.deviceId,
    algorithms: ["m.olm.v1.curve25519-aes-sha2", "m.megolm.v1.aes-sha2"],
    keys: {
      [`curve25519:${user.deviceId}`]: `curve${tag}${"x".repeat(38)}`,
      [`ed25519:${user.deviceId}`]: `ed${tag}${"y".repeat(41)}`,
    },
    signatures: { [user.userId]: { [`ed25519:${user.deviceId}`]: `sig${tag}${"z".repeat(82)}` } },
  };
}

/** A signed one-time (or fallback) key object. */
export function signedKey(
  user: { userId: string; deviceId: string },
  key: string,
  fallback = false,
): Record<string, unknown> {
  return {
    key,
    ...(fallback ? { fallback: true } : {}),
    signatures: { [user.userId]: { [`ed25519:${user.deviceId}`]: `sig-of-${key}` } },
  };
}

export const elapsedSince = (start: number) => performance.now() - start;

/** The response is a Matrix error with this status and errcode (and, when given, exactly this message). */
export function expectError(
  res: { status: number; body?: unknown; text?: string },
  status: number,
  errcode: string,
  error?: string,
): void {
  const body = res.body as { errcode?: unknown; error?: unknown } | undefined;
  expect({ status: res.status, errcode: body?.errcode }, res.text).toEqual({ status, errcode });
  expect(typeof body?.error).toBe("string");
  if (error !== undefined) expect(body?.error).toBe(error);
}
