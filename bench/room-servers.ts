/**
 * What the benchmarks of live traffic share (rooms, to-device, wake-ups): a fresh database of each kind, a real
 * `gatehouse serve` on it without rate limits, and the latency arithmetic.
 *
 * Databases: SQLite files in the run's directory, and PostgreSQL databases on `GATEHOUSE_TEST_PG_URL` if set, else
 * on a throwaway cluster. `BENCH_ROOM_DATABASES` (`SQLite,PostgreSQL`) picks the kinds.
 */
import type { ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import type { DatabaseConfig } from "../src/config/schema.js";
import { databaseConfigFromUrl } from "../src/config/database-url.js";
import { startThrowawayPostgres } from "../test/setup/postgres.js";
import { validated } from "./room-data.js";
import { benchConfig, startGatehouse } from "./server.js";

export type Kind = "SQLite" | "PostgreSQL";
/** Makes a fresh, empty database of the run's kind, as the `database` configuration key. */
export type NewDatabase = (name: string) => Promise<Record<string, unknown>>;

/** No limit on what is measured: the benchmark's senders would otherwise be told to wait. */
const UNLIMITED = { per_second: 1e6, burst_count: 1e6 };
const LIMITS = { rc_message: UNLIMITED, rc_joins: { local: UNLIMITED } };
export const C = "/_matrix/client/v3";

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export const ms = (n: number) => (Number.isNaN(n) ? "–" : n >= 100 ? `${Math.round(n)} ms` : `${n.toFixed(1)} ms`);

function stopped(proc: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (proc.exitCode !== null) {
      resolve();
      return;
    }
    proc.once("exit", () => resolve());
    proc.kill("SIGTERM");
  });
}

export async function withServer<T>(
  dir: string,
  database: Record<string, unknown>,
  fn: (url: string, proc: ChildProcess) => Promise<T>,
  extra: Record<string, unknown> = {},
): Promise<T> {
  const home = mkdtempSync(join(dir, "server-"));
  const server = await startGatehouse(home, { database, ...LIMITS, ...extra });
  try {
    return await fn(server.url, server.proc);
  } finally {
    await stopped(server.proc);
  }
}

/** The configuration `withServer`'s server runs with, for opening its database in the benchmark's process. */
export function configFor(dir: string, database: Record<string, unknown>) {
  return validated(benchConfig(dir, { database, ...LIMITS }));
}

/** Runs `fn` once per database kind asked for, each with its own way to make databases, and cleans up after. */
export async function eachDatabase(
  name: string,
  fn: (kind: Kind, dir: string, newDb: NewDatabase) => Promise<void>,
): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), `gatehouse-${name}-bench-`));
  const cluster = process.env.GATEHOUSE_TEST_PG_URL ? null : await startThrowawayPostgres();
  try {
    const adminUrl = process.env.GATEHOUSE_TEST_PG_URL ?? cluster!.url;
    const sqlite: NewDatabase = async (db) => {
      mkdirSync(join(dir, "sqlite"), { recursive: true });
      return { name: "sqlite3", args: { database: join(dir, "sqlite", `${db}.db`) } };
    };
    const postgres: NewDatabase = async (db) => {
      const dbName = `gh_${name}_${db}_${process.pid}`;
      const admin = new pg.Client({ connectionString: adminUrl });
      await admin.connect();
      await admin.query(`CREATE DATABASE ${dbName}`);
      await admin.end();
      const url = new URL(adminUrl);
      url.pathname = `/${dbName}`;
      const config: DatabaseConfig = databaseConfigFromUrl(url.toString());
      // The configuration file leaves out what is unset, as an operator's would.
      return { ...config, args: Object.fromEntries(Object.entries(config.args).filter(([, v]) => v !== null)) };
    };
    const kinds = (process.env.BENCH_ROOM_DATABASES ?? "SQLite,PostgreSQL").split(",");
    for (const [kind, newDb] of [
      ["SQLite", sqlite],
      ["PostgreSQL", postgres],
    ] as const) {
      if (kinds.includes(kind)) await fn(kind, dir, newDb);
    }
  } finally {
    cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
