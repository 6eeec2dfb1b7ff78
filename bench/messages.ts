/**
 * A `/messages` page of 50, on SQLite and PostgreSQL: `GET /rooms/{id}/messages?dir=b&limit=50` against a real
 * `gatehouse serve`, one request at a time, from pages spread over a room of `BENCH_MESSAGES_EVENTS` events (2,000)
 * with two members. The ceiling is the same 50 rows read straight from the events store on the same database
 * (one indexed query, no visibility, no serializing, no HTTP), timed in the same rounds. Target: p95 ≤ 10 ms.
 * Beside it, the server process's CPU time per page, which a loaded machine changes far less than the latencies.
 *
 * PostgreSQL: `GATEHOUSE_TEST_PG_URL` if set, else a throwaway cluster started as the tests start one.
 */
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import type { DatabaseConfig } from "../src/config/schema.js";
import { openDatabase } from "../src/db/database.js";
import { databaseConfigFromUrl } from "../src/config/database-url.js";
import { eventsStore } from "../src/db/events.js";
import { startThrowawayPostgres } from "../test/setup/postgres.js";
import { post, startGatehouse } from "./server.js";
import { fmt, printTable, type Row } from "./table.js";

const EVENTS = Number(process.env.BENCH_MESSAGES_EVENTS ?? 2000);
const ROUNDS = Number(process.env.BENCH_MESSAGES_ROUNDS ?? 300);
const PAGE = 50;
const TARGET_MS = 10;
const SENDERS = 8;

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

/**
 * CPU time (user + system) the process has used so far, in ms, from /proc (10 ms ticks: read over hundreds of pages).
 * The server's CPU per page is what the machine's load changes least, where it multiplies latencies.
 */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

async function call(url: string, token: string, method: string, body?: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(url, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = (await res.json()) as Record<string, unknown>;
  if (res.status !== 200) throw new Error(`${method} ${url}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

async function measure(kind: string, config: DatabaseConfig, dir: string): Promise<Row> {
  let server: { url: string; proc: ChildProcess } | null = null;
  const db = openDatabase(config);
  try {
    const database = { ...config, args: Object.fromEntries(Object.entries(config.args).filter(([, v]) => v !== null)) };
    server = await startGatehouse(dir, { database, rc_message: { per_second: 1e6, burst_count: 1e6 } });
    const c = `${server.url}/_matrix/client/v3`;
    const users = await Promise.all(
      ["reader", "writer"].map(async (u) => {
        const r = await post(`${c}/register`, {
          username: u,
          password: "bench-password",
          auth: { type: "m.login.dummy" },
        });
        return String(r.access_token);
      }),
    );
    const [reader, writer] = users as [string, string];
    const roomId = String((await call(`${c}/createRoom`, reader, "POST", { preset: "public_chat" })).room_id);
    const room = `${c}/rooms/${encodeURIComponent(roomId)}`;
    await call(`${c}/join/${encodeURIComponent(roomId)}`, writer, "POST", {});
    let txn = 0;
    await Promise.all(
      Array.from({ length: SENDERS }, async (_, s) => {
        for (let i = s; i < EVENTS; i += SENDERS) {
          const token = i % 2 === 0 ? reader : writer;
          await call(`${room}/send/m.room.message/b${txn++}`, token, "PUT", {
            msgtype: "m.text",
            body: `message ${i}`,
          });
        }
      }),
    );
    // Tokens spread over the room: every page boundary going back from the newest end.
    const tokens: string[] = [];
    let from: string | undefined;
    for (;;) {
      const page = await call(`${room}/messages?dir=b&limit=${PAGE}${from ? `&from=${from}` : ""}`, reader, "GET");
      if (typeof page.end !== "string") break;
      tokens.push(from ?? "");
      from = page.end;
    }
    const store = eventsStore(db.kysely, db.dialect);
    const http: number[] = [];
    const bare: number[] = [];
    const pid = server.proc.pid!;
    const cpuBefore = cpuMs(pid);
    for (let i = 0; i < ROUNDS; i++) {
      const token = tokens[i % tokens.length]!;
      let t = performance.now();
      const page = await call(`${room}/messages?dir=b&limit=${PAGE}${token ? `&from=${token}` : ""}`, reader, "GET");
      http.push(performance.now() - t);
      if ((page.chunk as unknown[]).length !== PAGE) throw new Error("short page");
      const upTo = token ? Number(token.slice(1)) : undefined;
      t = performance.now();
      await store.window(roomId, { upTo, dir: "b", limit: PAGE });
      bare.push(performance.now() - t);
    }
    const cpuPerPage = (cpuMs(pid) - cpuBefore) / ROUNDS;
    const p95 = percentile(http, 95);
    const ceiling = percentile(bare, 95);
    return {
      figure: `/messages page of ${PAGE}, ${fmt(EVENTS)} events, p95 (${kind})`,
      value: `${p95.toFixed(2)} ms (p50 ${percentile(http, 50).toFixed(2)}; server CPU ${cpuPerPage.toFixed(2)} ms a page)`,
      ceiling: `${ceiling.toFixed(2)} ms the 50 rows from the store`,
      ratio: `${((ceiling / p95) * 100).toFixed(0)} %`,
      target: `p95 ≤ ${TARGET_MS} ms`,
    };
  } finally {
    server?.proc.kill("SIGTERM");
    await db.close();
  }
}

async function postgresDatabase(admin: string): Promise<string> {
  const name = `bench_messages_${process.pid}`;
  const client = new pg.Client({ connectionString: admin });
  await client.connect();
  await client.query(`CREATE DATABASE ${name}`);
  await client.end();
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function messagesFigures(): Promise<Row[]> {
  const rows: Row[] = [];
  const sqliteDir = mkdtempSync(join(tmpdir(), "gatehouse-bench-messages-"));
  const pgDir = mkdtempSync(join(tmpdir(), "gatehouse-bench-messages-pg-"));
  const cluster = process.env.GATEHOUSE_TEST_PG_URL ? null : await startThrowawayPostgres();
  try {
    rows.push(
      await measure("SQLite", databaseConfigFromUrl(`sqlite://${join(sqliteDir, "homeserver.db")}`), sqliteDir),
    );
    const pgUrl = await postgresDatabase(process.env.GATEHOUSE_TEST_PG_URL ?? cluster!.url);
    rows.push(await measure("PostgreSQL", databaseConfigFromUrl(pgUrl), pgDir));
  } finally {
    cluster?.stop();
    rmSync(sqliteDir, { recursive: true, force: true });
    rmSync(pgDir, { recursive: true, force: true });
  }
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) printTable(await messagesFigures());
