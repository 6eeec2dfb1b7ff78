/**
 * @module Where the admin commands act: a running server (URL and admin token) or the database itself.
 *
 * Precedence (docs/cli.md, "Connecting"): `-c`/`--database-url` choose the database mode; otherwise the URL and the
 * token are each taken from the first of: the flags (`--url`, `--token`/`--token-file`), the environment
 * (`GATEHOUSE_URL`, `GATEHOUSE_TOKEN`), the admin config file (`--admin-config`, default
 * `$XDG_CONFIG_HOME/gatehouse/admin.yaml`). `resolveAdminConnection` is also what `user import` builds its importer
 * from, so every admin command connects the same way.
 */
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { Command, Option } from "commander";
import { parse as parseYaml } from "yaml";
import type { AdminActor } from "../../accounts/audit.js";
import type { AccountsContext } from "../../accounts/context.js";
import type { InvitationSettings } from "../../accounts/registration-tokens.js";
import { isReadableByOthers } from "../../config/load.js";
import type { MediaContext } from "../../media/context.js";
import type { RoomsContext } from "../../rooms/context.js";
import { errorMessage } from "../../config/validate.js";
import { readAllStdin } from "../prompts.js";
import type { AdminBackend } from "./backend.js";
import { configError } from "./exit-codes.js";
import { httpBackend } from "./http-backend.js";
import { cliIo } from "../io.js";

export interface ConnectionFlags {
  url?: string;
  token?: string;
  tokenFile?: string;
  adminConfig?: string;
  config?: string[];
  databaseUrl?: string;
  serverName?: string;
}

export type AdminConnection =
  | { kind: "http"; baseUrl: string; token: string }
  | {
      kind: "database";
      ctx: AccountsContext;
      rooms: RoomsContext;
      /** Null without a `-c` config naming `media_store_path`: the media files' location is unknown. */
      media: MediaContext | null;
      /** Why the commands that sign events cannot run here; null when the server's signing key was read. */
      noSigningKey: string | null;
      /** How the server mails an invitation (its `email` and `public_baseurl`), or why nothing can be mailed. */
      invitation: InvitationSettings | { none: string };
      actor: AdminActor;
      describe: string;
      close(): Promise<void>;
    };

export type DatabaseConnection = Extract<AdminConnection, { kind: "database" }>;

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** The connection flags every admin command takes (their help is the same everywhere). */
export function addConnectionOptions(cmd: Command): Command {
  return cmd
    .option("--url <url>", "the server's base URL, e.g. http://localhost:8008 (env GATEHOUSE_URL)")
    .addOption(
      new Option(
        "--token <token>",
        "an admin's access token (visible in the process list: prefer the others)",
      ).conflicts("tokenFile"),
    )
    .option(
      "--token-file <file>",
      "read the admin's access token from FILE; - reads standard input (env GATEHOUSE_TOKEN)",
    )
    .option("--admin-config <file>", "YAML file with url: and token: (default $XDG_CONFIG_HOME/gatehouse/admin.yaml)")
    .option("-c, --config <path>", "database mode: the server's config file or directory; may be repeated", collect)
    .option("--database-url <url>", "database mode: sqlite:///path/to.db or postgres://user:pass@host/db")
    .option("--server-name <name>", "database mode: the server name, if neither -c nor the database says it")
    .option("--json", "print the admin API's JSON instead of a table");
}

export function defaultAdminConfigPath(): string {
  const { env } = cliIo();
  const base = env.XDG_CONFIG_HOME || join(env.HOME || homedir(), ".config");
  return join(base, "gatehouse", "admin.yaml");
}

export function warn(message: string): void {
  cliIo().stderr.write(`warning: ${message}\n`);
}

interface AdminConfigFile {
  url?: string;
  token?: string;
}

function readAdminConfig(explicit: string | undefined): AdminConfigFile {
  const path = explicit ?? defaultAdminConfigPath();
  if (!existsSync(path)) {
    if (explicit !== undefined) throw configError(`--admin-config ${path}: no such file`);
    return {};
  }
  let parsed: unknown;
  try {
    parsed = parseYaml(readFileSync(path, "utf8"));
  } catch (err) {
    throw configError(`${path}: ${errorMessage(err).split("\n")[0]}`);
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== "object" || Array.isArray(parsed))
    throw configError(`${path}: must be a mapping of url and token`);
  const { url, token } = parsed as Record<string, unknown>;
  if (url !== undefined && typeof url !== "string") throw configError(`${path}: url must be a string`);
  if (token !== undefined && typeof token !== "string") throw configError(`${path}: token must be a string`);
  if (token !== undefined && isReadableByOthers(path)) {
    warn(`${path} holds an access token and is readable by group or others; run: chmod 600 ${path}`);
  }
  return { url, token };
}

async function readTokenFile(path: string): Promise<string> {
  let text: string;
  if (path === "-") {
    text = await readAllStdin();
  } else {
    try {
      text = readFileSync(path, "utf8");
    } catch (err) {
      throw configError(`--token-file ${path}: ${errorMessage(err)}`);
    }
    if (isReadableByOthers(path))
      warn(`${path} holds an access token and is readable by group or others; run: chmod 600 ${path}`);
  }
  const token = text.trim();
  if (token === "") throw configError(`--token-file ${path} is empty`);
  return token;
}

/** The URL with no trailing slash, or exit 2 for one that is not http(s):// or unix:. */
export function checkUrl(url: string, source: string): string {
  if (url.startsWith("unix:")) return url;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw configError(`${source} ${JSON.stringify(url)} is not a URL (e.g. http://localhost:8008)`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw configError(`${source} must start with http:// or https:// or unix: (got ${url})`);
  }
  return url.replace(/\/+$/, "");
}

async function httpConnection(flags: ConnectionFlags): Promise<AdminConnection> {
  if (flags.serverName !== undefined)
    throw configError("--server-name is only used in database mode (-c or --database-url)");
  const file = readAdminConfig(flags.adminConfig);
  const envUrl = cliIo().env.GATEHOUSE_URL || undefined;
  const envToken = cliIo().env.GATEHOUSE_TOKEN || undefined;
  const url = flags.url
    ? checkUrl(flags.url, "--url")
    : envUrl
      ? checkUrl(envUrl, "GATEHOUSE_URL")
      : file.url
        ? checkUrl(file.url, "the admin config's url")
        : null;
  let token: string | undefined;
  if (flags.token !== undefined) {
    warn(
      "a token given with --token can be read by other users from the process list and your shell history; " +
        "prefer --token-file, GATEHOUSE_TOKEN or the admin config file",
    );
    token = flags.token;
  } else if (flags.tokenFile !== undefined) {
    token = await readTokenFile(flags.tokenFile);
  } else {
    token = envToken ?? file.token;
  }
  if (url === null) {
    throw configError(
      "no server to talk to: give --url and --token (or GATEHOUSE_URL and GATEHOUSE_TOKEN, or an admin config " +
        "file), or -c/--database-url to work on the database",
    );
  }
  if (!token)
    throw configError(`no access token for ${url}: give --token-file, GATEHOUSE_TOKEN or an admin config file`);
  return { kind: "http", baseUrl: url, token };
}

/** The connection the flags, the environment and the admin config file name (see the module comment). */
export async function resolveAdminConnection(flags: ConnectionFlags): Promise<AdminConnection> {
  const databaseMode = (flags.config?.length ?? 0) > 0 || flags.databaseUrl !== undefined;
  if (!databaseMode) return httpConnection(flags);
  // Loaded only when used: the database drivers and the services would slow every HTTP-mode command's start.
  const { databaseConnection } = await import("./database-connection.js");
  return databaseConnection(flags);
}

export async function openBackend(flags: ConnectionFlags): Promise<AdminBackend> {
  const c = await resolveAdminConnection(flags);
  if (c.kind === "http") return httpBackend(c.baseUrl, c.token);
  const { databaseBackend } = await import("./database-backend.js");
  return databaseBackend(c);
}
