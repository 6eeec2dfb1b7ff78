/**
 * @module What a command needs to call the account services straight on the database, with no server running:
 * the hashing and username settings (from a validated `-c` config, or a fresh server's defaults) and the server
 * name (given, from the config, or recorded in the database by the first server or CLI that used it).
 *
 * Shared by `register-user --database-url` and the admin commands' database mode, so both build the same
 * `AccountsContext` a server built from the same config would.
 */
import type { AccountsConfig } from "../accounts/context.js";
import { DEFAULT_ARGON2, DEFAULT_PASSWORD_POLICY, type Config } from "../config/schema.js";
import { CliError } from "./errors.js";

/** Hashing and username settings from the validated `-c` config, or the defaults a fresh server would use. */
export function accountsConfigFrom(config: Config | null): Omit<AccountsConfig, "server_name"> {
  return {
    bcrypt_rounds: config?.bcrypt_rounds ?? 12,
    registration_shared_secret: null,
    allow_underscore_prefixed_localpart: config?.allow_underscore_prefixed_localpart ?? false,
    password_config: config?.password_config ?? {
      enabled: true,
      localdb_enabled: true,
      pepper: "",
      algorithm: "argon2id",
      argon2: DEFAULT_ARGON2,
      policy: DEFAULT_PASSWORD_POLICY,
      hashing_threads: null,
      hashing_queue_limit: 64,
    },
  };
}

/**
 * The server name: the one given (a flag or the config's `server_name`), else the one the database recorded.
 * A database no server has used yet, with no name given, cannot say which server its users belong to.
 */
export function resolveServerName(given: string | null, stored: string | null): string {
  if (given) return given;
  if (stored) return stored;
  throw new CliError(
    "error: the server name is unknown: this database has not been used by a server yet; pass -c homeserver.yaml or --server-name",
  );
}
