/**
 * @module The admin commands' database mode: the database a `-c` config or `--database-url` names, checked to be
 * migrated (never migrated here), and the accounts and rooms contexts built as a server built from the same config
 * would build them (the same signing key), with the CLI as the actor. On PostgreSQL its writes wake the waiting
 * `/sync`s of servers on the same database, as a server's own writes do.
 */
import { existsSync } from "node:fs";
import { createAccountsContext } from "../../accounts/context.js";
import { RateLimiter } from "../../accounts/ratelimit.js";
import { invitationSettings, type InvitationSettings } from "../../accounts/registration-tokens.js";
import { loadConfig } from "../../config/load.js";
import type { Config, DatabaseConfig } from "../../config/schema.js";
import { readSigningKeys, SigningKeyFileError } from "../../config/signing-key.js";
import { ConfigError, errorMessage, formatProblem, validateConfig } from "../../config/validate.js";
import { openDatabase, pendingMigrations, type Db } from "../../db/database.js";
import { databaseConfigFromUrl } from "../../config/database-url.js";
import { rateLimitBucketsStore } from "../../db/ratelimit-buckets.js";
import { createStores } from "../../db/stores.js";
import type { SigningKey } from "../../matrix/signing.js";
import { relaySyncNotices } from "../../process-notices.js";
import { createMediaContext } from "../../media/context.js";
import { createRoomsContext, type RoomsConfig } from "../../rooms/context.js";
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
 * The server's signing keys, read from `signing_key_path` as `serve` reads them (never created here: a key made by
 * an admin command would not be the one the server publishes), or why there are none. Only the commands that sign
 * events need them, so a missing key is a reason to give then, not an error now.
 */
function serverSigningKeys(config: Config | null): { keys: SigningKey[] } | { missing: string } {
  const path = config?.signing_key_path ?? null;
  if (config === null || path === null) {
    return { missing: "this command signs events with the server's key: give -c with the server's configuration" };
  }
  if (!existsSync(path)) {
    return {
      missing: `no signing key at ${path} (signing_key_path): start the server once (it creates the key), or point signing_key_path at the server's key`,
    };
  }
  try {
    return { keys: readSigningKeys(path) };
  } catch (err) {
    if (err instanceof SigningKeyFileError) return { missing: err.message };
    throw err;
  }
}

/**
 * The server's invitation settings from `-c`: the mail is queued in the outbox the server's job sends from, so it
 * must be written as that server would write it (its `notif_from`, subjects and links).
 */
function serverInvitation(config: Config | null): InvitationSettings | { none: string } {
  if (config === null) return { none: "give -c with the server's configuration (its email settings) to mail one" };
  return invitationSettings(config) ?? { none: "the configuration has no email section" };
}

/** The room settings of a server configured with nothing but its name (no `-c` given). */
function roomDefaults(serverName: string): RoomsConfig {
  // The config requires a database; this one is never opened, only the room settings are read.
  const raw = { server_name: serverName, database: { name: "sqlite3", args: { database: ":memory:" } } };
  return validateConfig(raw, new Map(), { readSecretFile: () => "" }).config;
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
    const signing = serverSigningKeys(config);
    const ctx = createAccountsContext(
      { ...accountsConfigFrom(config), server_name: serverName },
      stores,
      Date.now,
      "keys" in signing ? signing.keys : undefined,
    );
    // As `serve` builds it, so room writes (and the member events that follow a profile change or a deactivation)
    // are the server's. Without the server's key nothing may sign: the accounts keep a hook that sends nothing.
    const rooms = createRoomsContext(
      "keys" in signing ? ctx : { ...ctx, userHooks: { ...ctx.userHooks } },
      ctx.signingKey,
      config ?? roomDefaults(serverName),
      new RateLimiter(rateLimitBucketsStore(db)),
    );
    const stopRelay = relaySyncNotices(db, stores);
    return {
      kind: "database",
      ctx,
      rooms,
      // As `serve` builds it, so deletes remove the server's files; none without a store on disk to name.
      media: config?.media_store_path ? createMediaContext(ctx, config) : null,
      noSigningKey: "missing" in signing ? signing.missing : null,
      invitation: serverInvitation(config),
      actor: cliActor(),
      describe: db.describe,
      async close() {
        await stopRelay();
        await db.close();
      },
    };
  } catch (err) {
    await db.close();
    throw err;
  }
}
