/**
 * What the browser tests share: a real server (registration by invitation unless told otherwise) with a first
 * admin made the way every account is made (`registerUser`), and small helpers over the admin API.
 */
import { expect } from "vitest";
import { registerUser } from "../../src/accounts/registration.js";
import type { RawConfig } from "../../src/config/validate.js";
import { createTestDatabase, type DatabaseKind } from "../helpers/databases.js";
import { call } from "../helpers/http.js";
import { startTestServer, type TestServer } from "../helpers/server.js";

export const ADMIN_PASSWORD = "admin password 2026";
const PLENTY = { per_second: 1000, burst_count: 1000 };

export const INVITE_ONLY: RawConfig = {
  enable_registration: true,
  registration_requires_token: true,
  rc_registration: PLENTY,
  rc_registration_token_validity: PLENTY,
  rc_login: { address: PLENTY, account: PLENTY, failed_attempts: PLENTY },
};

export interface WebFixture {
  server: TestServer;
  url: string;
  adminToken: string;
  /** An admin API call with the admin's token. */
  admin(method: string, path: string, json?: unknown): Promise<Record<string, unknown>>;
  /** Makes an account directly (not through the pages under test). */
  makeUser(localpart: string, password: string, admin?: boolean): Promise<void>;
  close(): Promise<void>;
}

export async function startWebFixture(kind: DatabaseKind, overrides: RawConfig = {}): Promise<WebFixture> {
  const db = await createTestDatabase(kind);
  const server = await startTestServer(db, { ...INVITE_ONLY, ...overrides });
  const accounts = server.server.accounts;
  const makeUser = async (localpart: string, password: string, admin = false) => {
    await registerUser(accounts, { localpart, password, admin, userType: null, displayname: null, login: null });
  };
  await makeUser("root", ADMIN_PASSWORD, true);
  const login = await call(server.url, "POST", "/_matrix/client/v3/login", {
    json: { type: "m.login.password", identifier: { type: "m.id.user", user: "root" }, password: ADMIN_PASSWORD },
  });
  expect(login.status, login.text).toBe(200);
  const adminToken = login.body.access_token as string;
  return {
    server,
    url: server.url,
    adminToken,
    async admin(method, path, json) {
      const r = await call(server.url, method, path, { token: adminToken, ...(json === undefined ? {} : { json }) });
      expect(r.status, `${method} ${path}: ${r.text}`).toBeLessThan(300);
      return r.body;
    },
    makeUser,
    close: () => server.close(),
  };
}

/** For `afterAll`: closes whatever `beforeAll` got as far as opening. */
export async function closeAll(...things: ({ close(): Promise<void> } | undefined)[]): Promise<void> {
  await Promise.all(things.map((t) => (t ? t.close() : Promise.resolve())));
}

/** True when the page is no wider than its viewport (nothing to scroll sideways on a phone). */
export const NO_SIDEWAYS_SCROLL = "document.documentElement.scrollWidth <= document.documentElement.clientWidth";
