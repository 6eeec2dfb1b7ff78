/**
 * @module Opens the database a `DatabaseConfig` or URL names, on SQLite or PostgreSQL, behind one kysely type.
 *
 * Everything above this file is dialect-blind. The few places the databases differ (connection set-up, error codes
 * for a unique violation, PostgreSQL's int8 arriving as a string) are settled here.
 */
import { chmodSync, closeSync, constants as fsConstants, openSync } from "node:fs";
import SQLite from "better-sqlite3";
import { Kysely, Migrator, PostgresDialect, SqliteDialect, type Migration } from "kysely";
import pg from "pg";
import type { DatabaseConfig, PostgresDatabaseConfig } from "../config/schema.js";
import * as m0001 from "./migrations/0001_initial.js";
import * as m0002 from "./migrations/0002_client_sessions.js";
import * as m0003 from "./migrations/0003_one_time_key_order.js";
import * as m0004 from "./migrations/0004_admin_audit.js";
import * as m0005 from "./migrations/0005_user_search.js";
import * as m0006 from "./migrations/0006_registration_token_binding.js";
import * as m0007 from "./migrations/0007_ratelimit_buckets.js";
import * as m0008 from "./migrations/0008_scheduled_jobs.js";
import * as m0009 from "./migrations/0009_hardening.js";
import * as m0010 from "./migrations/0010_rooms.js";
import * as m0011 from "./migrations/0011_room_account_data.js";
import * as m0012 from "./migrations/0012_event_reports.js";
import * as m0013 from "./migrations/0013_room_admin.js";
import * as m0014 from "./migrations/0014_admin_overrides.js";
import * as m0015 from "./migrations/0015_event_txn_endpoints.js";
import * as m0016 from "./migrations/0016_to_device.js";
import * as m0017 from "./migrations/0017_device_lists.js";
import * as m0018 from "./migrations/0018_cross_signing.js";
import * as m0019 from "./migrations/0019_ephemeral.js";
import * as m0020 from "./migrations/0020_push.js";
import * as m0021 from "./migrations/0021_media.js";
import * as m0023 from "./migrations/0023_event_search.js";
import * as m0024 from "./migrations/0024_txn_expiry.js";
import * as m0025 from "./migrations/0025_captcha.js";
import * as m0026 from "./migrations/0026_url_cache.js";
import * as m0027 from "./migrations/0027_sso_logout.js";
import * as m0028 from "./migrations/0028_email.js";
import * as m0029 from "./migrations/0029_consent.js";
import * as m0030 from "./migrations/0030_device_auth_provider_cleanup.js";
import * as m0031 from "./migrations/0031_threepid_source.js";
import type { Database } from "./schema.js";
import { reusingStatements } from "./sqlite-statements.js";

export type Dialect = "sqlite" | "postgres";

export interface Db {
  kysely: Kysely<Database>;
  dialect: Dialect;
  /** A description safe to log: no password. */
  describe: string;
  /** PostgreSQL only: read for the pool gauges in the metrics. */
  pool?: pg.Pool;
  close(): Promise<void>;
}

const MIGRATIONS: Record<string, Migration> = {
  "0001_initial": m0001,
  "0002_client_sessions": m0002,
  "0003_one_time_key_order": m0003,
  "0004_admin_audit": m0004,
  "0005_user_search": m0005,
  "0006_registration_token_binding": m0006,
  "0007_ratelimit_buckets": m0007,
  "0008_scheduled_jobs": m0008,
  "0009_hardening": m0009,
  "0010_rooms": m0010,
  "0011_room_account_data": m0011,
  "0012_event_reports": m0012,
  "0013_room_admin": m0013,
  "0014_admin_overrides": m0014,
  "0015_event_txn_endpoints": m0015,
  "0016_to_device": m0016,
  "0017_device_lists": m0017,
  "0018_cross_signing": m0018,
  "0019_ephemeral": m0019,
  "0020_push": m0020,
  "0021_media": m0021,
  "0023_event_search": m0023,
  "0024_txn_expiry": m0024,
  "0025_captcha": m0025,
  "0026_url_cache": m0026,
  "0027_sso_logout": m0027,
  "0028_email": m0028,
  "0029_consent": m0029,
  "0030_device_auth_provider_cleanup": m0030,
  "0031_threepid_source": m0031,
};

/** What pg-types' parsers are (it declares them `any`): the column's text in, or a Buffer in binary format. */
type ValueParser = ((value: string) => unknown) | ((value: Buffer) => unknown);

/** int8 (bigint columns, `count(*)`) as numbers: every bigint Gatehouse stores (timestamps, counts) fits in 2^53. */
const pgTypes: pg.CustomTypesConfig = {
  getTypeParser: (oid, format): ValueParser =>
    oid === pg.types.builtins.INT8 ? (v: string) => Number(v) : (pg.types.getTypeParser(oid, format) as ValueParser),
};

/** Where and how to connect, for the pool and for any connection of its own (the LISTEN connection). */
export function pgConnectionOptions(a: PostgresDatabaseConfig["args"]): pg.ClientConfig {
  return {
    host: a.host ?? undefined,
    port: a.port ?? undefined,
    user: a.user ?? undefined,
    password: a.password ?? undefined,
    database: a.database,
    connectionTimeoutMillis: a.connect_timeout * 1000,
    keepAlive: true,
  };
}

export function openDatabase(config: DatabaseConfig): Db {
  if (config.name === "sqlite3") return openSqlite(config.args.database);
  const a = config.args;
  const pool = new pg.Pool({
    ...pgConnectionOptions(a),
    min: a.cp_min,
    max: a.cp_max,
    types: pgTypes,
    // connect_timeout also bounds the wait for a free client when the pool is full, so no request queues forever.
    statement_timeout: a.statement_timeout,
    // PostgreSQL cannot cancel a statement on a connection that silently died; the client-side timer can.
    query_timeout: a.statement_timeout + 1_000,
  });
  return wrapPool(pool, `postgresql ${a.user ?? ""}@${a.host ?? "localhost"}:${a.port ?? 5432}/${a.database}`);
}

/** An on-disk SQLite file, not `:memory:` or a `file:` URI (whose path SQLite resolves itself). */
function isPlainFile(file: string): boolean {
  return file !== "" && file !== ":memory:" && !file.startsWith("file:");
}

/**
 * The database holds password and token hashes: it is created readable by its owner only, whatever the umask.
 * SQLite gives `-wal` and `-shm` the database file's mode; they are set again after WAL mode opens them, in case an
 * earlier process left them with another.
 */
function createPrivately(file: string): void {
  try {
    closeSync(openSync(file, fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_WRONLY, 0o600));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  }
}

function tightenSidecars(file: string): void {
  for (const suffix of ["-wal", "-shm"]) {
    try {
      chmodSync(file + suffix, 0o600);
    } catch (err) {
      // Absent (no write yet), or owned by someone else (whose files are theirs to guard): not ours to refuse.
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== "ENOENT" && code !== "EPERM") throw err;
    }
  }
}

function openSqlite(file: string): Db {
  const plain = isPlainFile(file);
  if (plain) createPrivately(file);
  const sqlite = new SQLite(file);
  sqlite.pragma("journal_mode = WAL");
  if (plain) tightenSidecars(file);
  sqlite.pragma("busy_timeout = 5000");
  sqlite.pragma("foreign_keys = ON");
  // NORMAL is durable across process crashes in WAL mode; only a power loss can drop the last commits.
  sqlite.pragma("synchronous = NORMAL");
  const kysely = new Kysely<Database>({ dialect: new SqliteDialect({ database: reusingStatements(sqlite) }) });
  return {
    kysely,
    dialect: "sqlite",
    describe: `sqlite ${file}`,
    close: () => kysely.destroy(),
  };
}

function wrapPool(pool: pg.Pool, describe: string): Db {
  // An idle client losing its connection (PostgreSQL restarted) must not crash the process: the pool drops it.
  pool.on("error", () => {});
  // pg-pool listens for errors only on idle clients. One checked out between two queries of a transaction (while a
  // password is hashed, say) would raise an unhandled 'error' and end the process; its next query fails instead,
  // and the pool discards it on release because it is no longer queryable.
  pool.on("connect", (client) => void client.on("error", () => {}));
  const kysely = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return { kysely, dialect: "postgres", describe, pool, close: () => kysely.destroy() };
}

/**
 * Applies every pending migration (or those up to `upTo`, for tests and benchmarks that load rows into an older
 * schema); safe to run from several processes at once (kysely takes a lock).
 */
export async function migrate(db: Db, upTo?: string): Promise<string[]> {
  const migrator = new Migrator({
    db: db.kysely,
    provider: { getMigrations: () => Promise.resolve(MIGRATIONS) },
  });
  const { error, results } = await (upTo === undefined ? migrator.migrateToLatest() : migrator.migrateTo(upTo));
  if (error instanceof Error) throw error;
  if (error !== undefined) {
    // A migration can throw anything; keep it as the cause and name the migration that failed.
    const failed = results?.find((r) => r.status === "Error")?.migrationName ?? "unknown";
    throw new Error(`migration ${failed} failed`, { cause: error });
  }
  return (results ?? []).filter((r) => r.status === "Success").map((r) => r.migrationName);
}

/** The migrations not yet applied, without applying them (the admin CLI refuses a database that is behind). */
export async function pendingMigrations(db: Db): Promise<string[]> {
  const migrator = new Migrator({
    db: db.kysely,
    provider: { getMigrations: () => Promise.resolve(MIGRATIONS) },
  });
  return (await migrator.getMigrations()).filter((m) => m.executedAt === undefined).map((m) => m.name);
}

/** PostgreSQL conditions that say "the server is not there (now)", not "this statement is wrong". */
const UNAVAILABLE_SQLSTATES = new Set([
  "57014", // query_canceled: statement_timeout
  "57P01", // admin_shutdown
  "57P02", // crash_shutdown
  "57P03", // cannot_connect_now: starting up or shutting down
  "53300", // too_many_connections
  "55P03", // lock_not_available
  "40001", // serialization_failure
  "40P01", // deadlock_detected
]);
const UNAVAILABLE_NODE_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "SQLITE_BUSY",
  "SQLITE_LOCKED",
]);
/** pg raises these as plain Errors without a code. */
const UNAVAILABLE_MESSAGES = [
  "Connection terminated",
  "timeout exceeded when trying to connect",
  "Query read timeout",
  "is not queryable",
  "Client was closed and is not queryable",
  "Cannot use a pool after calling end on the pool",
];

/**
 * True when `err` means the database cannot serve the request right now (unreachable, restarting, overloaded, a
 * statement timed out): the request may succeed if retried, so it is answered 503 rather than 500.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === "string") {
    if (UNAVAILABLE_NODE_CODES.has(code) || UNAVAILABLE_SQLSTATES.has(code)) return true;
    // A UNIX socket that is gone while PostgreSQL is stopped; a missing file is something else.
    if (code === "ENOENT" && (err as { syscall?: unknown }).syscall === "connect") return true;
    // Class 08: connection exception.
    if (/^08[0-9A-Z]{3}$/.test(code)) return true;
  }
  if (UNAVAILABLE_MESSAGES.some((m) => err.message.includes(m))) return true;
  const nested = (err as { cause?: unknown }).cause;
  if (nested !== undefined && nested !== err && isDatabaseUnavailable(nested)) return true;
  // Node's connect errors for several addresses (localhost: ::1 and 127.0.0.1) arrive as an AggregateError.
  return err instanceof AggregateError && err.errors.some((e) => isDatabaseUnavailable(e));
}

/**
 * PostgreSQL refusing a value itself: text holding NUL (which SQLite stores), or a key too long for its index. The
 * request is at fault, not the server: the error handler answers 400.
 */
export function isUnstorableValue(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  // 22021 character_not_in_repertoire ("invalid byte sequence": NUL), 22P05 untranslatable_character,
  // 54000 program_limit_exceeded ("index row size exceeds maximum").
  return code === "22021" || code === "22P05" || code === "54000";
}

/** A duplicate key, whichever database said it. */
export function isUniqueViolation(err: unknown): boolean {
  if (!err || typeof err !== "object" || !("code" in err)) return false;
  const { code } = err;
  return code === "23505" || code === "SQLITE_CONSTRAINT_UNIQUE" || code === "SQLITE_CONSTRAINT_PRIMARYKEY";
}
