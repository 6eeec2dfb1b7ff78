/**
 * @module The admin commands' database mode: the database a `-c` config or `--database-url` names, checked to be
 * migrated (never migrated here), and an `AccountsContext` built as a server built from the same config would
 * build it, with the CLI as the actor.
 */
import { existsSync } from "node:fs";
import { createAccountsContext, type AccountsContext } from "../../accounts/context.js";
import { RateLimiter } from "../../accounts/ratelimit.js";
import { readSigningKeys, SigningKeyFileError } from "../../config/signing-key.js";
import { loadConfig } from "../../config/load.js";
import type { Config, DatabaseConfig } from "../../config/schema.js";
import { ConfigError, errorMessage, formatProblem } from "../../config/validate.js";
import { databaseConfigFromUrl, openDatabase, pendingMigrations, type Db } from "../../db/database.js";
import { rateLimitBucketsStore } from "../../db/ratelimit-buckets.js";
import { createStores } from "../../db/stores.js";
import { createRoomsContext, type RoomsContext } from "../../rooms/context.js";
import { accountsConfigFrom } from "../database-context.js";
import { warn, type AdminConnection, type ConnectionFlags } from "./connection.js";
import { cliActor } from "./database-backend.js";
import { configError, unreachable } from "./exit-codes.js";

const UNREACHABLE_CODES = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EAI_AGAIN",
]);

/** One line for a database that would not open; unreachable PostgreSQL is exit 6 like an unreachable server. */
function openFailure(describe: string, err: unknown): Error {
  const raw = (err as { code?: unknown } | null)?.code;
  const code = typeof raw === "string" ? raw : "";
  const message = errorMessage(err).split("\n")[0] ?? "";
  if (UNREACHABLE_CODES.has(code) || /timeout/i.test(message))
    return unreachable(`cannot reach ${describe}: ${code || message}`);
  // Anything else (a bad password, no such database or role, an unreadable file) means the flags are wrong.
  return configError(`cannot open ${describe}: ${message}`);
}

/**
 * The room services' context a server with this config would have: its settings, and the key it signs events with,
 * read from `signing_key_path` (never created here: a key the server has not published would sign events no other
 * server could check). Without `-c` there is neither.
 */
function roomsContextFor(ctx: AccountsContext, config: Config | null, db: Db): RoomsContext {
  if (config === null) {
    throw configError("this command needs the server's config in database mode (-c homeserver.yaml), or --url");
  }
  if (config.signing_key_path === null) throw configError("the config names no signing_key_path");
  let keys;
  try {
    keys = readSigningKeys(config.signing_key_path);
  } catch (err) {
    if (err instanceof SigningKeyFileError) throw configError(`${err.message} (start the server once to create it)`);
    throw err;
  }
  return createRoomsContext(ctx, keys[0]!, config, new RateLimiter(rateLimitBucketsStore(db)));
}

export async function databaseConnection(flags: ConnectionFlags): Promise<AdminConnection> {
  if (flags.url !== undefined || flags.token !== undefined || flags.tokenFile !== undefined) {
    throw configError("--url/--token/--token-file cannot be combined with -c or --database-url (database mode)");
  }
  let config: Config | null = null;
  if (flags.config && flags.config.length > 0) {
    try {
      const loaded = loadConfig(flags.config);
      for (const w of loaded.warnings) warn(formatProblem(w));
      config = loaded.config;
    } catch (err) {
      if (err instanceof ConfigError) {
        throw configError(`the configuration is not valid: ${err.problems.map(formatProblem).join("; ")}`);
      }
      throw err;
    }
  }
  let database: DatabaseConfig;
  if (flags.databaseUrl !== undefined) {
    try {
      database = databaseConfigFromUrl(flags.databaseUrl);
    } catch (err) {
      throw configError(`--database-url: ${errorMessage(err)}`);
    }
  } else {
    database = config!.database;
  }
  // better-sqlite3 would create a missing file: a mistyped path must not become an empty database.
  if (database.name === "sqlite3" && database.args.database !== ":memory:" && !existsSync(database.args.database)) {
    throw configError(`no database at ${database.args.database}`);
  }
  let db: Db;
  try {
    db = openDatabase(database);
  } catch (err) {
    throw openFailure(database.name === "sqlite3" ? database.args.database : "the database", err);
  }
  try {
    let pending: string[];
    try {
      pending = await pendingMigrations(db);
    } catch (err) {
      throw openFailure(db.describe, err);
    }
    if (pending.length > 0) {
      throw configError(
        `the database schema is not up to date (${pending.length} migration(s) pending): run gatehouse migrate first`,
      );
    }
    const stores = createStores(db);
    const stored = await stores.serverMeta.get("server_name");
    const given = flags.serverName ?? config?.server_name ?? null;
    if (given && stored && given !== stored) {
      throw configError(`this database belongs to server_name ${JSON.stringify(stored)}, not ${JSON.stringify(given)}`);
    }
    const serverName = given ?? stored;
    if (!serverName) {
      throw configError("the server name is unknown: no server has used this database yet; pass -c or --server-name");
    }
    const ctx = createAccountsContext({ ...accountsConfigFrom(config), server_name: serverName }, stores);
    let rooms: RoomsContext | null = null;
    const roomsContext = () => (rooms ??= roomsContextFor(ctx, config, db));
    return {
      kind: "database",
      ctx,
      rooms: roomsContext,
      actor: cliActor(),
      describe: db.describe,
      close: () => db.close(),
    };
  } catch (err) {
    await db.close();
    throw err;
  }
}
