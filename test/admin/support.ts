/**
 * What the admin API tests share: a server with open registration (users are made the way clients make them), an
 * admin promoted the way Synapse's documentation bootstraps one (an `UPDATE users SET admin = 1` on the database),
 * a second connection for looking at rows, and a caller that sends the admin's token.
 */
import type { RawConfig } from "../../src/config/validate.js";
import type { Db } from "../../src/db/database.js";
import { registerUser, startAccountServer, type Session } from "../api/account-support.js";
import { openTestDb } from "../api/support.js";
import type { DatabaseKind, TestDatabase } from "../helpers/databases.js";
import { call, type HttpResult } from "../helpers/http.js";
import type { TestServer } from "../helpers/server.js";

export const ADMIN = "/_synapse/admin";
export const AUDIT = "/_gatehouse/admin/v1/audit";
export const PASSWORD = "correct horse battery staple";

export interface AdminFixture {
  server: TestServer;
  db: TestDatabase;
  url: string;
  /** A second connection to the database. */
  look: Db;
  admin: Session;
  /** Calls the server with the admin's token (or `token`, when given; `null` sends none). */
  as(
    method: string,
    path: string,
    options?: { json?: unknown; body?: string; token?: string | null; headers?: Record<string, string> },
  ): Promise<HttpResult>;
  /** Registers a user through the client API. */
  user(localpart: string, extra?: Record<string, unknown>): Promise<Session>;
  close(): Promise<void>;
}

/** `@localpart:localhost`, percent-encoded for a path. */
export const enc = (userId: string) => encodeURIComponent(userId);

export async function promote(look: Db, userId: string): Promise<void> {
  await look.kysely.updateTable("users").set({ admin: 1 }).where("name", "=", userId).execute();
}

export async function startAdminFixture(kind: DatabaseKind, overrides: RawConfig = {}): Promise<AdminFixture> {
  const server = await startAccountServer(kind, overrides);
  const look = openTestDb(server.db);
  const admin = await registerUser(server.url, "root", PASSWORD, { device_id: "ROOTDEV" });
  await promote(look, admin.userId);
  return {
    server,
    db: server.db,
    url: server.url,
    look,
    admin,
    as(method, path, options = {}) {
      const { token, ...rest } = options;
      const t = token === undefined ? admin.token : token;
      return call(server.url, method, path, { ...rest, ...(t === null ? {} : { token: t }) });
    },
    user: (localpart, extra = {}) => registerUser(server.url, localpart, PASSWORD, extra),
    async close() {
      await look.close();
      await server.close();
    },
  };
}

/** For `afterAll`: closes the fixture if `beforeAll` got as far as making one. */
export function closeAdminFixture(fx: AdminFixture | undefined): Promise<void> | undefined {
  return fx?.close();
}

export async function auditRows(look: Db) {
  const rows = await look.kysely.selectFrom("admin_audit").selectAll().orderBy("id", "asc").execute();
  return rows.map((r) => ({
    ...r,
    before: JSON.parse(r.before) as Record<string, unknown>,
    after: JSON.parse(r.after) as Record<string, unknown>,
  }));
}
