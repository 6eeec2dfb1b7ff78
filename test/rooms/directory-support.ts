/**
 * What the directory tests share: an open server with config overrides, and a way to make a user a server admin.
 */
import { createTestDatabase, type DatabaseKind } from "../helpers/databases.js";
import type { RawConfig } from "../../src/config/validate.js";
import { startTestServer, type TestServer } from "../helpers/server.js";

const OPEN: RawConfig = {
  enable_registration: true,
  enable_registration_without_verification: true,
  allow_guest_access: true,
  rc_registration: { per_second: 1000, burst_count: 1000 },
  rc_login: {
    address: { per_second: 1000, burst_count: 1000 },
    account: { per_second: 1000, burst_count: 1000 },
    failed_attempts: { per_second: 1000, burst_count: 1000 },
  },
};

export async function startDirectoryServer(kind: DatabaseKind, overrides: RawConfig = {}): Promise<TestServer> {
  return startTestServer(await createTestDatabase(kind), { ...OPEN, ...overrides });
}

/** Makes `userId` a server admin, and forgets cached sessions so the next request sees it. */
export async function promote(server: TestServer, userId: string): Promise<void> {
  await server.server.accounts.stores.users.setAdmin(userId, true);
  server.server.accounts.sessionCache.clear();
}

export const alias = (a: string) => `/directory/room/${encodeURIComponent(a)}`;
