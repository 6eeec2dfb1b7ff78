/**
 * The admin user search over 1,000,000 accounts, on SQLite and on PostgreSQL: `GET /_synapse/admin/v2/users?name=…
 * &limit=10` against a real `gatehouse serve`, one request at a time, the way the console searches as the admin
 * types. The terms are taken from the accounts themselves (prefixes of a name as it is typed, fragments of
 * localparts, strings nobody has), grouped by how many accounts they match. The baseline is the plain `LIKE` scan
 * Gatehouse had before (and Synapse has), run directly on the same data: the same count and page queries, on
 * PostgreSQL with bitmap scans (the only way a GIN index is read) switched off. Count and page queries are also
 * timed apart, since the `total` of a term matching many accounts can cost more than the page.
 *
 * The accounts are inserted into the schema before migration 0005 and the migration then builds the index, as on
 * a server upgrading. `BENCH_SEARCH_USERS` changes the number of accounts; `BENCH_SEARCH_ROUNDS` the requests per
 * term. PostgreSQL: `GATEHOUSE_TEST_PG_URL` if set, else a throwaway cluster started as the tests start one.
 */
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import SQLite from "better-sqlite3";
import { Kysely, PostgresDialect, sql, SqliteDialect } from "kysely";
import pg from "pg";
import type { DatabaseConfig } from "../src/config/schema.js";
import { migrate, openDatabase, type Db } from "../src/db/database.js";
import { databaseConfigFromUrl } from "../src/config/database-url.js";
import type { Database } from "../src/db/schema.js";
import { usersStore, type UserListQuery } from "../src/db/users.js";
import { startThrowawayPostgres } from "../test/setup/postgres.js";
import { post, startGatehouse } from "./server.js";
import { fmt, printTable, type Row } from "./table.js";
import { benchUsers, bulkInsertUsers, seededRandom } from "./user-data.js";

const USERS = Number(process.env.BENCH_SEARCH_USERS ?? 1_000_000);
const ROUNDS = Number(process.env.BENCH_SEARCH_ROUNDS ?? 5);
const SERVER_NAME = "bench.local";
const TARGET_MS = 50;

type Kind = "SQLite" | "PostgreSQL";
type Group = "many (≥ 1,000)" | "some (10–999)" | "few (1–9)" | "none" | "1–2 chars";

interface TermResult {
  term: string;
  total: number;
  http: number[];
  count: number[];
  page: number[];
  scan: number[];
}

/**
 * What the console sends while an admin types a person's name (every prefix from 3 characters of a few display
 * names), fragments of localparts, and terms nobody has (one of them part of the server name, in every ID).
 */
function searchTerms(): { long: string[]; short: string[] } {
  const random = seededRandom(7);
  const sample = [...benchUsers(Math.min(USERS, 200_000), SERVER_NAME)].filter((_, i) => i % 9973 === 0);
  const long = new Set<string>();
  for (const u of sample.filter((s) => s.displayname?.includes(" ")).slice(0, 3)) {
    const name = u.displayname!.toLowerCase();
    for (let n = 3; n <= name.length; n++) long.add(name.slice(0, n));
  }
  for (const u of sample.slice(3, 13)) {
    const local = u.name.slice(1, u.name.indexOf(":"));
    const len = 4 + Math.floor(random() * 4);
    const at = Math.floor(random() * Math.max(1, local.length - len));
    long.add(local.slice(at, at + len));
  }
  for (const t of ["qzx", "xylophone", "zzq9", "bench.lo", "ßüß", "李小龙"]) long.add(t);
  return { long: [...long].filter((t) => [...t].length >= 3), short: ["a", "jo", "z", "7", "mi", "qq"] };
}

/** The search as it was before migration 0005 (and as Synapse does it): the same count and page, by `LIKE` only. */
async function likeScan(k: Kysely<Database>, kind: Kind, term: string): Promise<void> {
  const escaped = term.toLowerCase().replace(/[\\%_]/g, "\\$&");
  const where = sql`(lower(users.name) like ${`@%${escaped}%:%`} escape '\\'
    or lower(users.displayname) like ${`%${escaped}%`} escape '\\') and users.deactivated = 0 and users.locked = 0`;
  const run = async (t: Kysely<Database>) => {
    await sql`select count(*) as n from users where ${where}`.execute(t);
    await sql`select users.*, (select max(last_seen_ts) from devices where devices.user_id = users.name) as ls
      from users where ${where} order by users.name asc nulls first, users.name asc limit 10`.execute(t);
  };
  if (kind === "SQLite") return run(k);
  await k.transaction().execute(async (t) => {
    await sql`set local enable_bitmapscan = off`.execute(t);
    await run(t);
  });
}

function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** A Kysely on the bench database that reports each query's duration: the store's count, then its page. */
function timedKysely(config: DatabaseConfig, durations: number[]): Kysely<Database> {
  const log = (e: { level: string; queryDurationMillis: number }) => void durations.push(e.queryDurationMillis);
  if (config.name === "sqlite3") {
    return new Kysely<Database>({ dialect: new SqliteDialect({ database: new SQLite(config.args.database) }), log });
  }
  const a = config.args;
  const pool = new pg.Pool({
    host: a.host ?? undefined,
    port: a.port ?? undefined,
    user: a.user ?? undefined,
    database: a.database,
  });
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }), log });
}

async function loadAccounts(db: Db, kind: Kind): Promise<{ insertS: number; indexS: number }> {
  await migrate(db, "0004_admin_audit");
  let t = performance.now();
  await bulkInsertUsers(db, benchUsers(USERS, SERVER_NAME));
  const insertS = (performance.now() - t) / 1000;
  t = performance.now();
  await migrate(db);
  // A long-running server has had autovacuum analyse the table; a fresh bulk load has not.
  if (kind === "PostgreSQL") await sql`analyze users`.execute(db.kysely);
  return { insertS, indexS: (performance.now() - t) / 1000 };
}

async function measure(kind: Kind, config: DatabaseConfig, dir: string): Promise<Map<Group, TermResult[]>> {
  const db = openDatabase(config);
  let server: { url: string; proc: ChildProcess } | null = null;
  const durations: number[] = [];
  const timed = timedKysely(config, durations);
  try {
    const { insertS, indexS } = await loadAccounts(db, kind);
    console.log(`${kind}: ${fmt(USERS)} accounts inserted in ${fmt(insertS)} s, migration 0005 took ${fmt(indexS)} s`);
    // The configuration file leaves out what is unset, as an operator's would.
    const database = { ...config, args: Object.fromEntries(Object.entries(config.args).filter(([, v]) => v !== null)) };
    server = await startGatehouse(dir, { server_name: SERVER_NAME, database });
    const admin = await post(`${server.url}/_matrix/client/v3/register`, {
      username: "searchadmin",
      password: "bench-password",
      auth: { type: "m.login.dummy" },
    });
    await db.kysely.updateTable("users").set({ admin: 1 }).where("name", "=", String(admin.user_id)).execute();
    const token = String(admin.access_token);
    const search = async (term: string) => {
      const res = await fetch(`${server!.url}/_synapse/admin/v2/users?name=${encodeURIComponent(term)}&limit=10`, {
        headers: { authorization: `Bearer ${token}` },
      });
      const body = (await res.json()) as { total: number };
      if (res.status !== 200) throw new Error(`search ${term}: ${res.status} ${JSON.stringify(body)}`);
      return body.total;
    };
    const store = usersStore(timed);
    const { long, short } = searchTerms();
    const results = [...long, ...short].map((term): TermResult => ({
      term,
      total: 0,
      http: [],
      count: [],
      page: [],
      scan: [],
    }));
    // Round-robin over the terms, so a noisy moment on the shared machine spreads over all of them.
    for (let round = 0; round < ROUNDS; round++) {
      for (const r of results) {
        const t = performance.now();
        r.total = await search(r.term);
        r.http.push(performance.now() - t);
        durations.length = 0;
        await store.list(listQuery(r.term));
        r.count.push(durations[0] ?? NaN);
        r.page.push(durations[1] ?? 0);
      }
    }
    // The scan costs a second or so a query: one round is enough to show it.
    for (const r of results) {
      const t = performance.now();
      await likeScan(timed, kind, r.term);
      r.scan.push(performance.now() - t);
    }
    const groups = new Map<Group, TermResult[]>();
    for (const r of results) {
      const g: Group =
        [...r.term].length < 3
          ? "1–2 chars"
          : r.total >= 1000
            ? "many (≥ 1,000)"
            : r.total >= 10
              ? "some (10–999)"
              : r.total > 0
                ? "few (1–9)"
                : "none";
      groups.set(g, [...(groups.get(g) ?? []), r]);
    }
    return groups;
  } finally {
    server?.proc.kill("SIGTERM");
    await timed.destroy();
    await db.close();
  }
}

/** The v2 defaults the console gets: active, unlocked accounts, ten a page, by name. */
function listQuery(term: string): UserListQuery {
  return {
    from: 0,
    limit: 10,
    name: term,
    userIdContains: null,
    isGuest: null,
    deactivated: false,
    locked: false,
    suspended: null,
    admin: null,
    userTypes: null,
    notUserTypes: [],
    orderBy: "name",
    direction: "f",
  };
}

const ms = (n: number) => (Number.isNaN(n) ? "–" : n >= 100 ? `${Math.round(n)}` : n.toFixed(1));

export async function searchFigures(): Promise<Row[]> {
  const dir = mkdtempSync(join(tmpdir(), "gatehouse-search-bench-"));
  const cluster = process.env.GATEHOUSE_TEST_PG_URL
    ? null
    : await startThrowawayPostgres(["shared_buffers=256MB", "max_wal_size=4GB"]);
  const rows: Row[] = [];
  const detail: Record<string, string>[] = [];
  try {
    const admin = new pg.Client({ connectionString: process.env.GATEHOUSE_TEST_PG_URL ?? cluster!.url });
    await admin.connect();
    const pgName = `gh_search_bench_${process.pid}`;
    // As docs/deployment.md creates it: byte-order collation, a UTF-8 ctype so pg_trgm indexes non-ASCII letters.
    await admin.query(`CREATE DATABASE ${pgName} ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C.UTF-8' TEMPLATE template0`);
    await admin.end();
    const pgUrl = new URL(process.env.GATEHOUSE_TEST_PG_URL ?? cluster!.url);
    pgUrl.pathname = `/${pgName}`;
    const targets: [Kind, DatabaseConfig][] = [
      ["SQLite", { name: "sqlite3", args: { database: join(dir, "search.db") } }],
      ["PostgreSQL", databaseConfigFromUrl(pgUrl.toString())],
    ];
    for (const [kind, config] of targets) {
      const groups = await measure(kind, config, dir);
      const long: TermResult[] = [];
      for (const [group, results] of groups) {
        if (group !== "1–2 chars") long.push(...results);
        const all = (f: (r: TermResult) => number[]) => results.flatMap(f);
        detail.push({
          db: kind,
          group,
          terms: results.map((r) => `${r.term} (${r.total})`).join(", "),
          p50: ms(
            percentile(
              all((r) => r.http),
              50,
            ),
          ),
          p95: ms(
            percentile(
              all((r) => r.http),
              95,
            ),
          ),
          p99: ms(
            percentile(
              all((r) => r.http),
              99,
            ),
          ),
          count: ms(
            percentile(
              all((r) => r.count),
              50,
            ),
          ),
          page: ms(
            percentile(
              all((r) => r.page),
              50,
            ),
          ),
          scan: ms(
            percentile(
              all((r) => r.scan),
              50,
            ),
          ),
        });
      }
      const http = long.flatMap((r) => r.http);
      const scan = long.flatMap((r) => r.scan);
      const p95 = percentile(http, 95);
      rows.push({
        figure: `user search p50 / p95 / p99, ${kind}, ${fmt(USERS)} users, ${long.length} terms of 3+ chars`,
        value: `${ms(percentile(http, 50))} / ${ms(p95)} / ${ms(percentile(http, 99))} ms`,
        ceiling: `LIKE scan: ${ms(percentile(scan, 50))} / ${ms(percentile(scan, 95))} ms (p50 / p95)`,
        ratio: `${fmt(percentile(scan, 95) / p95)}× faster`,
        target: `p95 ≤ ${TARGET_MS} ms`,
      });
      const short = (groups.get("1–2 chars") ?? []).flatMap((r) => r.http);
      rows.push({
        figure: `user search p50 / p95, ${kind}, 1–2 character terms (no trigram: a scan)`,
        value: `${ms(percentile(short, 50))} / ${ms(percentile(short, 95))} ms`,
        ceiling: "",
        ratio: "",
        target: "",
      });
    }
  } finally {
    cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(
    `\nUser search, ${ROUNDS} requests per term over HTTP (ms); count and page: the store's two queries, p50; ` +
      "scan: the old LIKE count + page, p50\n",
  );
  printTable(detail, {
    db: "database",
    group: "matches",
    terms: "terms (total)",
    p50: "p50",
    p95: "p95",
    p99: "p99",
    count: "count",
    page: "page",
    scan: "LIKE scan",
  });
  console.log("");
  return rows;
}

// `node --import tsx bench/search.ts` runs this part alone.
if (import.meta.url === `file://${process.argv[1]}`) printTable(await searchFigures());
