/**
 * Bulk import: 100,000 accounts with pre-made password hashes from a CSV file, through `runUserImport` (parsing,
 * batching, the service's checks, the inserts and the audit entries), on SQLite, on PostgreSQL, and over HTTP to a
 * running server. Hashing is not what is measured: a few real argon2id and bcrypt hashes are reused across rows.
 *
 * `npm run bench -- import` runs this part alone (`benchImport()` returns its rows of the summary table);
 * `BENCH_IMPORT_ROWS` changes the number of accounts.
 * PostgreSQL: `GATEHOUSE_TEST_PG_URL` if set, else a throwaway cluster as the tests start one.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import pg from "pg";
import type { AdminActor } from "../src/accounts/audit.js";
import { createAccountsContext, type AccountsConfig } from "../src/accounts/context.js";
import { PasswordHasher } from "../src/accounts/passwords.js";
import { registerUser } from "../src/accounts/registration.js";
import { validateConfig, type RawConfig } from "../src/config/validate.js";
import { databaseConfigFromUrl } from "../src/config/database-url.js";
import { accountsConfigFrom } from "../src/cli/database-context.js";
import { databaseImporter, httpImporter, runUserImport, type Importer } from "../src/cli/user-import.js";
import { openAndMigrate, startServer } from "../src/server.js";
import { startThrowawayPostgres } from "../test/setup/postgres.js";
import { fmt, printTable, type Row } from "./table.js";

const ROWS = Number(process.env.BENCH_IMPORT_ROWS ?? 100_000);
const TARGET_S = 10;
const SERVER_NAME = "bench.local";
const ACTOR: AdminActor = { userId: "cli:bench@localhost", deviceId: null, tokenHash: "", ip: "local" };

const sink = () =>
  new Writable({
    write(_chunk, _enc, done) {
      done();
    },
  });

/** The CSV: every column filled, a real hash on every row (four distinct ones), an admin every thousandth row. */
async function writeCsv(dir: string): Promise<{ file: string; hashes: string[] }> {
  const argon = new PasswordHasher({ algorithm: "argon2id", bcryptRounds: 12, pepper: "" });
  const bcrypt = new PasswordHasher({ algorithm: "bcrypt", bcryptRounds: 12, pepper: "" });
  const hashes = [
    await argon.hash("bench password 1"),
    await bcrypt.hash("bench password 2"),
    await argon.hash("bench password 3"),
    await bcrypt.hash("bench password 4"),
  ];
  // Quoted: an argon2id hash has commas in it (`m=19456,t=2,p=1`).
  const lines = ["username,password_hash,displayname,admin,email"];
  for (let i = 0; i < ROWS; i++) {
    lines.push(`user${i},"${hashes[i % 4]}","Bench User ${i}",${i % 1000 === 0 ? "yes" : "no"},user${i}@example.org`);
  }
  const file = join(dir, "users.csv");
  writeFileSync(file, lines.join("\n") + "\n");
  return { file, hashes };
}

/**
 * The ceiling: the same accounts, addresses and audit entries written by the stores alone, 1,000 to a transaction,
 * with no file, no checks and no lookups. What the import adds on top is its price.
 */
async function bareInserts(url: string, hashes: string[]): Promise<number> {
  const { db, stores } = await openAndMigrate({ database: databaseConfigFromUrl(url) });
  try {
    const start = performance.now();
    for (let offset = 0; offset < ROWS; offset += 1000) {
      const ids = Array.from({ length: Math.min(1000, ROWS - offset) }, (_, i) => offset + i);
      await stores.transaction(async (t) => {
        await t.users.insertMany(
          ids.map((i) => ({
            userId: `@user${i}:${SERVER_NAME}`,
            passwordHash: hashes[i % 4]!,
            creationTs: 1,
            admin: i % 1000 === 0,
            userType: null,
            displayname: `Bench User ${i}`,
          })),
        );
        await t.threepids.addMany(
          ids.map((i) => ({
            userId: `@user${i}:${SERVER_NAME}`,
            medium: "email",
            address: `user${i}@example.org`,
            validatedAt: 1,
            addedAt: 1,
          })),
        );
        await t.adminAudit.insertMany(
          ids.map((i) => ({
            ts: 1,
            actor: ACTOR.userId,
            action: "user.create",
            target: `@user${i}:${SERVER_NAME}`,
            ip: "local",
            before: {},
            after: { admin: false, displayname: `Bench User ${i}`, password: "<set>", via: "import" },
          })),
        );
      });
    }
    return (performance.now() - start) / 1000;
  } finally {
    await db.close();
  }
}

function accountsConfig(): AccountsConfig {
  return { ...accountsConfigFrom(null), server_name: SERVER_NAME };
}

/** Seconds for one import of the file, checked: every account and audit entry written. */
async function timeImport(file: string, importer: Importer, count: () => Promise<number>): Promise<number> {
  const start = performance.now();
  const code = await runUserImport(importer, { file, onConflict: "stop", stdout: sink(), stderr: sink() });
  const seconds = (performance.now() - start) / 1000;
  if (code !== 0) throw new Error(`the import exited ${code}`);
  const n = await count();
  if (n < ROWS) throw new Error(`only ${n} of ${ROWS} accounts were written`);
  return seconds;
}

async function databaseFigure(file: string, url: string): Promise<number> {
  const { db, stores } = await openAndMigrate({ database: databaseConfigFromUrl(url) });
  try {
    const ctx = createAccountsContext(accountsConfig(), stores);
    return await timeImport(file, databaseImporter(ctx, ACTOR), () => stores.users.count());
  } finally {
    await db.close();
  }
}

async function httpFigure(file: string, dir: string): Promise<number> {
  const raw: RawConfig = {
    server_name: SERVER_NAME,
    listeners: [{ port: 0, bind_addresses: ["127.0.0.1"], type: "http", resources: [{ names: ["client"] }] }],
    database: { name: "sqlite3", args: { database: join(dir, "http.db") } },
    log_level: "warn",
  };
  const config = validateConfig(raw, new Map([["server_name", "bench.yaml"]]), { readSecretFile: () => "" }).config;
  const server = await startServer(config, () => {});
  try {
    const { db, stores } = await openAndMigrate(config);
    let token: string;
    try {
      const ctx = createAccountsContext(accountsConfig(), stores);
      const admin = await registerUser(ctx, {
        localpart: "bench-admin",
        password: null,
        passwordHash: "$2b$04$yEMxJvSR1Hm71ofdVTW89eDhlAVzO/FWg/DiQz/Cpd7aVBjK0v2CS",
        admin: true,
        userType: null,
        displayname: null,
        login: { deviceId: null, initialDeviceDisplayName: null, validUntilMs: null },
      });
      token = admin.session!.accessToken;
      return await timeImport(file, httpImporter(server.addresses[0]!.url, token), () => stores.users.count());
    } finally {
      await db.close();
    }
  } finally {
    await server.close();
  }
}

let databases = 0;

/** A new empty PostgreSQL database on the cluster at `admin`. */
async function postgresDatabase(admin: string): Promise<string> {
  const name = `bench_import_${process.pid}_${databases++}`;
  const client = new pg.Client({ connectionString: admin });
  await client.connect();
  await client.query(`CREATE DATABASE ${name}`);
  await client.end();
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return url.toString();
}

/** The figure between two measurements of its ceiling, so load from elsewhere shifts both alike. */
async function bracketed(fresh: () => string | Promise<string>, hashes: string[], figure: () => Promise<number>) {
  const before = await bareInserts(await fresh(), hashes);
  const seconds = await figure();
  const after = await bareInserts(await fresh(), hashes);
  return { seconds, ceiling: (before + after) / 2 };
}

function row(figure: string, m: { seconds: number; ceiling: number }): Row {
  return {
    figure,
    value: `${m.seconds.toFixed(1)} s (${fmt(ROWS / m.seconds)} rows/s)`,
    ceiling: `${m.ceiling.toFixed(1)} s bare inserts`,
    ratio: `${((m.ceiling / m.seconds) * 100).toFixed(0)} %`,
    target: `≤ ${TARGET_S} s`,
  };
}

export async function benchImport(): Promise<Row[]> {
  const dir = mkdtempSync(join(tmpdir(), "gatehouse-bench-import-"));
  const cluster = process.env.GATEHOUSE_TEST_PG_URL ? null : await startThrowawayPostgres();
  const pgAdmin = process.env.GATEHOUSE_TEST_PG_URL ?? cluster!.url;
  const rows: Row[] = [];
  const n = ROWS.toLocaleString("en-US");
  try {
    const { file, hashes } = await writeCsv(dir);
    const sqliteUrl = () => `sqlite://${join(dir, `bench${databases++}.db`)}`;
    const pgUrl = () => postgresDatabase(pgAdmin);
    const sqlite = await bracketed(sqliteUrl, hashes, () => databaseFigure(file, sqliteUrl()));
    rows.push(row(`import ${n} pre-hashed users (SQLite)`, sqlite));
    const postgres = await bracketed(pgUrl, hashes, async () => databaseFigure(file, await pgUrl()));
    rows.push(row(`import ${n} pre-hashed users (PostgreSQL)`, postgres));
    const http = await bracketed(sqliteUrl, hashes, () => httpFigure(file, dir));
    rows.push(row(`import ${n} pre-hashed users (HTTP, SQLite)`, http));
  } finally {
    cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) printTable(await benchImport());
