/**
 * Shared pieces of the HTTP-level tests: a second, independent connection to a test database (to look at rows the
 * server wrote and to age nonces), and raw HTTP over node:http for what fetch cannot do (duplicate headers, UNIX
 * sockets, reading compressed bytes as sent, chunked bodies).
 */
import { request as httpRequest, type IncomingHttpHeaders, type OutgoingHttpHeaders } from "node:http";
import { expect } from "vitest";
import { openDatabase, type Db } from "../../src/db/database.js";
import type { TestDatabase } from "../helpers/databases.js";

/** Opens the test database on its own connection, not the server's. */
export function openTestDb(db: TestDatabase): Db {
  return openDatabase(db.config);
}

export async function countUsers(db: Db): Promise<number> {
  const row = await db.kysely
    .selectFrom("users")
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .executeTakeFirstOrThrow();
  return row.n;
}

export async function userRow(db: Db, userId: string) {
  return db.kysely.selectFrom("users").selectAll().where("name", "=", userId).executeTakeFirst();
}

/** Makes a nonce `ms` milliseconds older than it is, as if it had been fetched that long ago. */
export async function ageNonce(db: Db, nonce: string, ms: number): Promise<void> {
  const r = await db.kysely
    .updateTable("registration_nonces")
    .set((eb) => ({ created_ts: eb("created_ts", "-", ms) }))
    .where("nonce", "=", nonce)
    .executeTakeFirst();
  if (Number(r.numUpdatedRows) !== 1) throw new Error(`nonce ${nonce} not found to age`);
}

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** The bytes as they arrived: not decompressed. */
  raw: Buffer;
  text: string;
  json: unknown;
}

export interface RawRequest {
  method?: string;
  path: string;
  /** `http://host:port` or `unix:/path/to.sock`. */
  base: string;
  /** An array value sends the header once per element. */
  headers?: OutgoingHttpHeaders;
  body?: string | Buffer;
  /** Send the body in chunks without a Content-Length. */
  chunked?: boolean;
}

export function rawRequest(req: RawRequest): Promise<RawResponse> {
  const target = req.base.startsWith("unix:")
    ? { socketPath: req.base.slice("unix:".length) }
    : (() => {
        const u = new URL(req.base);
        return { host: u.hostname.replace(/^\[|\]$/g, ""), port: Number(u.port) };
      })();
  return new Promise((resolve, reject) => {
    const headers: OutgoingHttpHeaders = { ...req.headers };
    if (req.body !== undefined && !req.chunked) headers["content-length"] = Buffer.byteLength(req.body);
    const r = httpRequest({ ...target, method: req.method ?? "GET", path: req.path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("error", reject);
      res.on("end", () => {
        const raw = Buffer.concat(chunks);
        const text = raw.toString("utf8");
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, raw, text, json });
      });
    });
    r.on("error", reject);
    if (req.body !== undefined && req.chunked) {
      const buf = Buffer.from(req.body);
      for (let i = 0; i < buf.length; i += 1000) r.write(buf.subarray(i, i + 1000));
    } else if (req.body !== undefined) {
      r.write(req.body);
    }
    r.end();
  });
}

/** The exact Matrix error body, nothing more. */
export function expectMatrixError(
  res: { status: number; body?: unknown; json?: unknown },
  status: number,
  errcode: string,
  error: string,
  extra: Record<string, unknown> = {},
): void {
  const body = "json" in res ? res.json : res.body;
  expect({ status: res.status, body }).toEqual({ status, body: { errcode, error, ...extra } });
}

/** Polls `read()` until `done` holds on it (log lines are written just after the response). */
export async function waitFor<T>(read: () => T, done: (v: T) => boolean, timeoutMs = 5000): Promise<T> {
  const start = Date.now();
  for (;;) {
    const v = read();
    if (done(v)) return v;
    if (Date.now() - start > timeoutMs) return v;
    await new Promise((r) => setTimeout(r, 25));
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
