/**
 * What the reliability tests share: a `gatehouse serve` process with open registration and cheap hashing (so a load
 * keeps many requests in flight), HTTP calls that never throw (a refused connection or a timeout is an outcome to
 * assert on, not an exception), and a look at the account tables.
 */
import type { RawConfig } from "../../src/config/validate.js";
import { databaseConfigFromUrl } from "../../src/config/database-url.js";
import { OPEN_REGISTRATION } from "../api/account-support.js";
import type { TestDatabase } from "../helpers/databases.js";
import { call } from "../helpers/http.js";
import { rawConfigFor, spawnServer, writeConfigFile, type ServerProcess } from "../helpers/server.js";

/** bcrypt at its lowest cost: the tests are about what survives, not about hashing. */
export const CHEAP_HASHING: RawConfig = { password_config: { algorithm: "bcrypt" }, bcrypt_rounds: 4 };

export function testDatabaseFromUrl(url: string): TestDatabase {
  return { kind: url.startsWith("sqlite") ? "sqlite" : "postgres", url, config: databaseConfigFromUrl(url) };
}

/** Writes a config for `db` (extra `database.args` merged in) and starts a server process on it. */
export function serveProcess(
  db: TestDatabase,
  databaseArgs: Record<string, unknown> = {},
  overrides: RawConfig = {},
): { configPath: string; start: () => Promise<ServerProcess> } {
  const raw = rawConfigFor(db, { ...OPEN_REGISTRATION, ...CHEAP_HASHING, ...overrides });
  const database = raw.database as { name: string; args: Record<string, unknown> };
  raw.database = { ...database, args: { ...database.args, ...databaseArgs } };
  const configPath = writeConfigFile(raw);
  return { configPath, start: () => spawnServer(["-c", configPath]) };
}

export interface Outcome {
  /** An HTTP status, or 0 when no response came (connection refused or reset, or `timeoutMs` passed). */
  status: number;
  body: unknown;
  text: string;
  headers: Headers | null;
  startedAt: number;
  ms: number;
  failure?: string;
}

/** One HTTP request that reports instead of throwing. */
export async function attempt(
  base: string,
  method: string,
  path: string,
  options: { json?: unknown; body?: string | Buffer; token?: string; timeoutMs?: number } = {},
): Promise<Outcome> {
  const startedAt = performance.now();
  try {
    const r = await call<unknown>(base, method, path, { ...options, timeoutMs: options.timeoutMs ?? 20_000 });
    return {
      status: r.status,
      body: r.body,
      text: r.text,
      headers: r.headers,
      startedAt,
      ms: performance.now() - startedAt,
    };
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code;
    return {
      status: 0,
      body: undefined,
      text: "",
      headers: null,
      startedAt,
      ms: performance.now() - startedAt,
      failure: `${(err as Error).name}: ${(err as Error).message}${cause ? ` (${cause})` : ""}`,
    };
  }
}

/** True for a `{"errcode": "M_…", "error": "…"}` body. */
export function isMatrixErrorBody(body: unknown): boolean {
  if (typeof body !== "object" || body === null) return false;
  const b = body as Record<string, unknown>;
  return typeof b.errcode === "string" && /^M_[A-Z_]+$/.test(b.errcode) && typeof b.error === "string";
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export const registerBody = (username: string, password: string) => ({
  username,
  password,
  auth: { type: "m.login.dummy" },
});

export const loginBody = (username: string, password: string) => ({
  type: "m.login.password",
  identifier: { type: "m.id.user", user: username },
  password,
});
