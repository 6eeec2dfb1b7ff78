/**
 * @module Writes a new, commented configuration, its shared-secret file and the server's signing key.
 *
 * The signing key goes next to the config as `<server_name>.signing.key` (Synapse's place and format), mode 0600; an
 * existing key file is kept as it is, never replaced. The secret goes to a file of its own (mode 0600) named by `registration_shared_secret_path`, never inline: the
 * config can then be readable by others (or checked into a repository) without handing out the power to mint admins.
 */
import { randomInt } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parse } from "yaml";
import { createSigningKeyFile } from "./signing-key.js";
import { validateConfig, type RawConfig } from "./validate.js";

/** Synapse's alphabet for generated secrets. */
const SECRET_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.,;:^&*-_+=#~@";

export function generateSecret(length = 50): string {
  let out = "";
  for (let i = 0; i < length; i++) out += SECRET_ALPHABET.charAt(randomInt(SECRET_ALPHABET.length));
  return out;
}

export interface GenerateOptions {
  serverName: string;
  /** Where the database and the secret go. */
  dataDir: string;
  /** The config file to write; defaults to `<dataDir>/homeserver.yaml`. */
  configPath?: string;
  port?: number;
  bindAddresses?: string[];
}

export interface GeneratedFiles {
  configPath: string;
  secretPath: string;
  databasePath: string;
  signingKeyPath: string;
  /** False when a key file was already there (it is kept). */
  signingKeyCreated: boolean;
}

export class AlreadyExistsError extends Error {}

export function generateConfig(options: GenerateOptions): GeneratedFiles {
  const dataDir = resolve(options.dataDir);
  const configPath = resolve(options.configPath ?? `${dataDir}/homeserver.yaml`);
  const secretPath = `${dataDir}/registration_shared_secret`;
  const databasePath = `${dataDir}/homeserver.db`;
  const signingKeyPath = `${dirname(configPath)}/${options.serverName}.signing.key`;
  if (existsSync(configPath)) throw new AlreadyExistsError(`${configPath} already exists; not overwriting it`);
  const port = options.port ?? 8008;
  const bind = options.bindAddresses ?? ["127.0.0.1", "::1"];
  const text = renderConfig(
    options.serverName,
    port,
    bind,
    databasePath,
    secretPath,
    signingKeyPath,
    `${dataDir}/media_store`,
  );
  // Nothing is written unless the server would accept it (a server name with a space, say, would not).
  const raw = parse(text) as RawConfig;
  validateConfig(raw, new Map(Object.keys(raw).map((k) => [k, configPath])), {
    readSecretFile: () => "not yet written",
  });
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  mkdirSync(dirname(configPath), { recursive: true });
  if (!existsSync(secretPath)) {
    writeFileSync(secretPath, generateSecret() + "\n", { mode: 0o600, flag: "wx" });
  }
  // writeFileSync's mode is masked by the umask, and an existing file keeps its mode: set it outright.
  chmodSync(secretPath, 0o600);
  const signingKeyCreated = !existsSync(signingKeyPath) && createSigningKeyFile(signingKeyPath) !== null;
  writeFileSync(configPath, text, { mode: 0o644 });
  return { configPath, secretPath, databasePath, signingKeyPath, signingKeyCreated };
}

function renderConfig(
  serverName: string,
  port: number,
  bind: string[],
  databasePath: string,
  secretPath: string,
  signingKeyPath: string,
  mediaStorePath: string,
): string {
  return `# Gatehouse configuration. Key names are Synapse's, so a Synapse homeserver.yaml works here too.
# Reference: docs/configuration.md. Pass several files with -c (later files override earlier top-level keys).

# The domain in your users' IDs (@alice:${serverName}). It cannot be changed once accounts exist.
server_name: ${JSON.stringify(serverName)}

# The URL clients reach this server at, if it differs from http://<server_name>/ (behind a reverse proxy, say).
# public_baseurl: https://matrix.example.com/

listeners:
  # Plain HTTP on loopback; put a TLS-terminating reverse proxy in front for the outside world
  # (and set x_forwarded: true so the client's address is taken from X-Forwarded-For).
  - port: ${port}
    bind_addresses: ${JSON.stringify(bind)}
    type: http
    tls: false
    x_forwarded: false
    resources:
      # client: the client API, the admin API and the web console. federation: this server's public signing keys
      # (/_matrix/key/v2/server); the rest of the federation API is not served yet.
      - names: [client, federation]
        compress: false

database:
  # The embedded default. For several processes or a large server use PostgreSQL:
  #   name: psycopg2
  #   args: { user: gatehouse, password: ..., dbname: gatehouse, host: localhost, cp_min: 5, cp_max: 10 }
  name: sqlite3
  args:
    database: ${JSON.stringify(databasePath)}

# Public sign-up. Off by default; with it on, require a registration token, turn on a CAPTCHA, or set
# enable_registration_without_verification: true to accept anyone.
enable_registration: false
# registration_requires_token: true
# A proof-of-work CAPTCHA the server runs itself (no third party sees who signs up):
# altcha:
#   enabled: true

# The secret that lets register_new_matrix_user create accounts (admins included). Kept in its own file, mode 0600,
# readable only by the user the server runs as.
registration_shared_secret_path: ${JSON.stringify(secretPath)}

# The server's signing key (Synapse's format: "ed25519 <version> <seed>"), mode 0600. It is the server's identity
# to other servers: back it up, and never replace it; a key retired for good goes in old_signing_keys.
signing_key_path: ${JSON.stringify(signingKeyPath)}

password_config:
  # argon2id (default) or bcrypt for new hashes; both, and Synapse's bcrypt hashes, are always accepted.
  algorithm: argon2id
  # Threads that hash passwords, per process, below the priority of request handling. Default: the cores, shared
  # among the --workers processes.
  # hashing_threads: 2
  # Hashes a client's request may find waiting before it is refused with 429 (default 64).
  # hashing_queue_limit: 64
  policy:
    enabled: false
    # minimum_length: 12
    # require_digit: true
    # require_symbol: true
    # require_lowercase: true
    # require_uppercase: true

# bcrypt cost, used when password_config.algorithm is bcrypt.
bcrypt_rounds: 12

# Uploaded media (avatars, images, files) and their thumbnails, mode 0700. Back it up with the database: the
# database says which media exist, this directory holds their bytes.
media_store_path: ${JSON.stringify(mediaStorePath)}
# The largest upload (K, M, G suffixes). Clients are told it by /_matrix/client/v1/media/config.
max_upload_size: 50M
`;
}
