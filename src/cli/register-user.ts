/**
 * @module `register_new_matrix_user` (and `gatehouse register-user`, the same code): creates an account through
 * shared-secret registration on a running server, or straight in the database with `--database-url`.
 *
 * Flags, prompts, output and exit codes are Synapse's (docs/cli.md lists them), so scripts and guides written for
 * Synapse keep working. Gatehouse adds `--no-input`, `--print-token`, `--token-validity`, `--database-url`,
 * `--server-name` and `--no-verify-config`, and turns every network or config failure into one line.
 */
import { userInfo } from "node:os";
import { readFileSync } from "node:fs";
import { Command, InvalidArgumentError, Option } from "commander";
import { computeRegistrationMac, TOKEN_LIFETIME_FIELD } from "../accounts/registration-mac.js";
import { readConfigFiles, isReadableByOthers } from "../config/load.js";
import type { Config } from "../config/schema.js";
import { ConfigError, errorMessage, formatProblem, validateConfig, type RawConfig } from "../config/validate.js";
import { databaseConfigFromUrl } from "../config/database-url.js";
import { ErrCode, MatrixError } from "../errors.js";
import { parseBoolean, PROMPT_YES } from "../shared/truth.js";
import { accountsConfigFrom, resolveServerName } from "./database-context.js";
import { CliError, EXIT_FAILURE, EXIT_OK, usageError } from "./errors.js";
import { requestJson, type ServerLocation } from "./http-client.js";
import { ask, askHidden, readAllStdin } from "./prompts.js";
import { cliIo } from "./io.js";

export const DEFAULT_SERVER_URL = "http://localhost:8008";
const REGISTER_PATH = "/_synapse/admin/v1/register";

export interface RegisterUserFlags {
  user?: string;
  password?: string;
  passwordFile?: string;
  user_type?: string;
  admin?: boolean;
  config?: string[];
  sharedSecret?: string;
  existsOk?: boolean;
  input: boolean;
  printToken?: boolean;
  tokenValidity?: number;
  databaseUrl?: string;
  serverName?: string;
  verifyConfig: boolean;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

function positiveDays(value: string): number {
  const n = Number(value);
  // Commander reports an InvalidArgumentError as a usage error (exit 2); anything else would escape as a crash.
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError("It must be a number of days above 0.");
  return n;
}

/** Declares the flags on `cmd`; the same declaration serves both programs. */
export function defineRegisterUser(cmd: Command): Command {
  return cmd
    .description(
      "Used to register new users with a given homeserver when registration has been disabled. The homeserver " +
        "must be configured with the 'registration_shared_secret' option set (or use --database-url).",
    )
    .option("-u, --user <localpart>", "Local part of the new user. Will prompt if omitted.")
    .option("--exists-ok", "Do not fail if user already exists.")
    .addOption(
      new Option(
        "-p, --password <password>",
        "New password for user. Will prompt for a password if this flag and --password-file are both omitted.",
      ).conflicts("passwordFile"),
    )
    .option("--password-file <file>", "File containing the new password for user; - reads standard input.")
    .option("-t, --user_type <type>", "User type as specified in synapse.api.constants.UserTypes (support, bot).")
    .option("-a, --admin", "Register new user as an admin. Will prompt if --no-admin is not set either.")
    .option("--no-admin", "Register new user as a regular user. Will prompt if --admin is not set either.")
    .option("-c, --config <path>", "Path to server config file (or directory). May be repeated.", collect)
    .option("-k, --shared-secret <secret>", "Shared secret as defined in server config file.")
    .option("--no-input", "Never prompt: a missing user or password is an error.")
    .option("--print-token", "Print the new user's access token on stdout (needs --no-input).")
    .option(
      "--token-validity <days>",
      "The printed token expires after this many days (needs --print-token).",
      positiveDays,
    )
    .option(
      "--database-url <url>",
      "Register straight into the database (sqlite:///path or postgres://...), no server needed.",
    )
    .option("--server-name <name>", "With --database-url: the server name, if neither -c nor the database says it.")
    .option("--no-verify-config", "Do not validate the configuration read with -c (only read the secret from it).")
    .argument(
      "[server_url]",
      "URL to use to talk to the homeserver. By default, tries to find a suitable URL from the configuration " +
        `file. Otherwise, defaults to '${DEFAULT_SERVER_URL}'.`,
    );
}

/** Records which of the paired flags were typed, since commander folds `--admin`/`--no-admin` into one value. */
export function trackAdminFlags(cmd: Command): { admin: boolean; noAdmin: boolean } {
  const seen = { admin: false, noAdmin: false };
  cmd.on("option:admin", () => (seen.admin = true));
  cmd.on("option:no-admin", () => (seen.noAdmin = true));
  return seen;
}

interface Plan {
  flags: RegisterUserFlags;
  admin: boolean | null;
  rawConfig: RawConfig | null;
  /** The validated config, when `-c` was given and not `--no-verify-config`. */
  config: Config | null;
}

function checkUsage(flags: RegisterUserFlags, seen: { admin: boolean; noAdmin: boolean }): boolean | null {
  if (seen.admin && seen.noAdmin) throw usageError("argument --no-admin: not allowed with argument -a/--admin");
  const hasConfig = (flags.config?.length ?? 0) > 0;
  if (hasConfig && flags.sharedSecret !== undefined) {
    throw usageError("argument -k/--shared-secret: not allowed with argument -c/--config");
  }
  if (flags.databaseUrl !== undefined) {
    // A URL that cannot work is a usage error now, not after the prompts have been answered.
    try {
      databaseConfigFromUrl(flags.databaseUrl);
    } catch (err) {
      throw usageError(`argument --database-url: ${(err as Error).message}`);
    }
  }
  if (flags.databaseUrl !== undefined && flags.sharedSecret !== undefined) {
    throw usageError("argument -k/--shared-secret: not used with --database-url (no server is asked)");
  }
  if (!hasConfig && flags.sharedSecret === undefined && flags.databaseUrl === undefined) {
    throw usageError("one of the arguments -c/--config -k/--shared-secret --database-url is required");
  }
  if (flags.printToken && flags.input) throw usageError("--print-token needs --no-input");
  if (flags.tokenValidity !== undefined && !flags.printToken) throw usageError("--token-validity needs --print-token");
  if (flags.databaseUrl !== undefined && hasConfig && !flags.verifyConfig) {
    throw usageError("--no-verify-config cannot be used with --database-url: hashing settings come from a valid -c");
  }
  if (flags.serverName !== undefined && flags.databaseUrl === undefined) {
    throw usageError("--server-name is only used with --database-url");
  }
  return seen.admin ? true : seen.noAdmin ? false : null;
}

function readTextFile(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    throw new CliError(`Error accessing file ${path}: ${errorMessage(err)}`, EXIT_FAILURE);
  }
}

/** Synapse's §1.2, with its messages: exactly one of the inline secret and the secret file. */
function secretFromConfig(raw: RawConfig, options: { quiet?: boolean } = {}): string {
  const inline = raw.registration_shared_secret;
  const path = raw.registration_shared_secret_path;
  if (inline !== undefined && inline !== null && typeof inline !== "string") {
    throw new CliError("registration_shared_secret is not a string.");
  }
  if (path !== undefined && path !== null && typeof path !== "string") {
    throw new CliError("registration_shared_secret_path is not a string.");
  }
  if (!inline && !path) {
    throw new CliError("No 'registration_shared_secret' or 'registration_shared_secret_path' defined in config.");
  }
  if (inline && path) {
    throw new CliError(
      "Conflicting options 'registration_shared_secret' and 'registration_shared_secret_path'\n" +
        "are both defined in config file.",
    );
  }
  if (inline) return inline;
  const secret = readTextFile(path as string).trim();
  if (secret === "") throw new CliError("The secret given via `registration_shared_secret_path` must not be empty.");
  if (!options.quiet && isReadableByOthers(path as string)) {
    cliIo().stderr.write(`warning: ${path} is readable by group or others; run: chmod 600 ${path}\n`);
  }
  return secret;
}

/** Synapse's §1.4, except that a UNIX-socket listener is used rather than crashing on it. */
export function serverLocationFromConfig(raw: RawConfig): ServerLocation | null {
  const listeners = Array.isArray(raw.listeners) ? (raw.listeners as unknown[]) : [];
  for (const l of listeners) {
    if (!l || typeof l !== "object") continue;
    const listener = l as Record<string, unknown>;
    if ((listener.type ?? "http") !== "http" || listener.tls) continue;
    const resources = Array.isArray(listener.resources) ? (listener.resources as Record<string, unknown>[]) : [];
    const servesClient = resources.some((r) => Array.isArray(r.names) && (r.names as unknown[]).includes("client"));
    if (!servesClient) continue;
    if (typeof listener.path === "string") return `unix:${listener.path}`;
    if (typeof listener.port !== "number") continue;
    // A listener bound only to one loopback family is reached there; "localhost" may resolve to the other.
    const bind = Array.isArray(listener.bind_addresses) ? (listener.bind_addresses as unknown[]) : [];
    const host = bind.includes("127.0.0.1")
      ? "127.0.0.1"
      : bind.includes("::1") && bind.length === 1
        ? "[::1]"
        : "localhost";
    return `http://${host}:${listener.port}`;
  }
  return null;
}

function loadPlanConfig(flags: RegisterUserFlags): { raw: RawConfig | null; config: Config | null } {
  if (!flags.config || flags.config.length === 0) return { raw: null, config: null };
  let merged;
  try {
    merged = readConfigFiles(flags.config);
  } catch (err) {
    if (
      err instanceof ConfigError &&
      err.problems.every((p) => p.key === "(file)" && p.message.startsWith("cannot read"))
    ) {
      const p = err.problems[0]!;
      throw usageError(`argument -c/--config: can't open '${p.file}': ${p.message.replace(/^cannot read: /, "")}`);
    }
    throw err;
  }
  for (const w of merged.warnings) cliIo().stderr.write(`warning: ${formatProblem(w)}\n`);
  // Synapse's own checks of the secret come first, so a missing, empty or doubly set secret gets Synapse's message
  // rather than the general validation's (which would catch the same problem in other words).
  if (flags.databaseUrl === undefined) secretFromConfig(merged.raw);
  if (!flags.verifyConfig) return { raw: merged.raw, config: null };
  // The same validation the server runs at start, so a config the server would refuse is caught here too.
  const { config } = validateConfig(merged.raw, merged.origins, {
    readSecretFile: (p) => readFileSync(p, "utf8"),
    files: merged.files,
  });
  return { raw: merged.raw, config };
}

async function resolveLocalpart(flags: RegisterUserFlags): Promise<string> {
  if (flags.user) return flags.user;
  if (!flags.input) throw new CliError("error: --no-input needs the user's localpart (-u)");
  let fallback: string | null;
  try {
    fallback = userInfo().username || null;
  } catch {
    fallback = null;
  }
  const answer = await ask(fallback ? `New user localpart [${fallback}]: ` : "New user localpart: ");
  const user = answer || fallback;
  if (!user) throw new CliError("Invalid user name", EXIT_FAILURE, true);
  return user;
}

async function resolvePassword(flags: RegisterUserFlags): Promise<string> {
  let password: string | undefined;
  if (flags.passwordFile !== undefined) {
    password = (flags.passwordFile === "-" ? await readAllStdin() : readTextFile(flags.passwordFile)).trim();
  } else if (flags.password !== undefined) {
    cliIo().stderr.write(
      "warning: a password given with -p can be read by other users from the process list and your shell history; " +
        "prefer --password-file or the prompt\n",
    );
    password = flags.password;
  }
  if (password) return password;
  if (!flags.input) throw new CliError("error: --no-input needs a password (-p or --password-file)");
  const first = await askHidden("Password: ");
  if (!first) throw new CliError("Password cannot be blank.", EXIT_FAILURE, true);
  const second = await askHidden("Confirm password: ");
  if (first !== second) throw new CliError("Passwords do not match", EXIT_FAILURE, true);
  return first;
}

async function resolveAdmin(plan: Plan): Promise<boolean> {
  if (plan.admin !== null) return plan.admin;
  // Without a terminal to ask, the prompt's own default applies: not an admin.
  if (!plan.flags.input) return false;
  const answer = await ask("Make admin [no]: ");
  return answer !== null && parseBoolean(answer, PROMPT_YES) === true;
}

/** Lines that a `--print-token` caller captures must be the token alone, so progress goes to stderr then. */
function progress(flags: RegisterUserFlags, line: string): void {
  (flags.printToken ? cliIo().stderr : cliIo().stdout).write(line + "\n");
}

function tokenLifetimeMs(flags: RegisterUserFlags): number | null {
  return flags.tokenValidity === undefined ? null : Math.round(flags.tokenValidity * 24 * 60 * 60 * 1000);
}

export async function runRegisterUser(
  flags: RegisterUserFlags,
  seen: { admin: boolean; noAdmin: boolean },
  serverUrl: string | undefined,
): Promise<number> {
  const admin = checkUsage(flags, seen);
  const { raw, config } = loadPlanConfig(flags);
  const plan: Plan = { flags, admin, rawConfig: raw, config };

  // As in Synapse, the secret and the server's URL are settled before anyone is asked anything.
  let http: { secret: string; location: ServerLocation } | null = null;
  if (flags.databaseUrl === undefined) {
    const secret = flags.sharedSecret ?? secretFromConfig(raw!, { quiet: true });
    let location: ServerLocation;
    if (serverUrl) {
      location = serverUrl;
    } else if (raw) {
      const found = serverLocationFromConfig(raw);
      if (!found) {
        cliIo().stderr.write(
          `Unable to find a suitable HTTP listener in the configuration file. Trying ${DEFAULT_SERVER_URL} as a last resort.\n`,
        );
      }
      location = found ?? DEFAULT_SERVER_URL;
    } else {
      cliIo().stderr.write(`No server url or configuration file given. Defaulting to ${DEFAULT_SERVER_URL}.\n`);
      location = DEFAULT_SERVER_URL;
    }
    http = { secret, location: location.replace(/\/+$/, "") };
  }

  const localpart = await resolveLocalpart(flags);
  const password = await resolvePassword(flags);
  const isAdmin = await resolveAdmin(plan);
  const userType = flags.user_type ?? null;

  if (http === null) return registerInDatabase(plan, localpart, password, isAdmin, userType);
  return registerOverHttp(flags, http.location, http.secret, localpart, password, isAdmin, userType);
}

function failure(status: number, reason: string, body: unknown): CliError {
  let message = `ERROR! Received ${status} ${reason}`;
  if (status >= 400 && status < 500 && body && typeof body === "object" && "error" in body) {
    message += `\n${String(body.error)}`;
  } else if (body === undefined) {
    message += " (the response is not JSON: is this URL a Matrix homeserver?)";
  }
  return new CliError(message, EXIT_FAILURE, true);
}

async function registerOverHttp(
  flags: RegisterUserFlags,
  location: ServerLocation,
  secret: string,
  localpart: string,
  password: string,
  admin: boolean,
  userType: string | null,
): Promise<number> {
  const nonceRes = await requestJson(location, "GET", REGISTER_PATH);
  if (nonceRes.status !== 200) throw failure(nonceRes.status, nonceRes.reason, nonceRes.body);
  const nonce = (nonceRes.body as { nonce?: unknown } | undefined)?.nonce;
  if (typeof nonce !== "string") throw failure(nonceRes.status, nonceRes.reason, undefined);

  const body: Record<string, unknown> = {
    nonce,
    username: localpart,
    password,
    mac: computeRegistrationMac(secret, nonce, localpart, password, admin, userType),
    admin,
    user_type: userType,
  };
  const lifetime = tokenLifetimeMs(flags);
  if (lifetime !== null) body[TOKEN_LIFETIME_FIELD] = lifetime;

  progress(flags, "Sending registration request...");
  const res = await requestJson(location, "POST", REGISTER_PATH, body);
  if (res.status !== 200) {
    const errcode = (res.body as { errcode?: unknown } | undefined)?.errcode;
    if (flags.existsOk && errcode === ErrCode.UserInUse) {
      progress(flags, "User already exists. Skipping.");
      return EXIT_OK;
    }
    throw failure(res.status, res.reason, res.body);
  }
  progress(flags, "Success!");
  if (flags.printToken) {
    const token = (res.body as { access_token?: unknown }).access_token;
    if (typeof token !== "string") throw new CliError("ERROR! The server returned no access token", EXIT_FAILURE, true);
    cliIo().stdout.write(token + "\n");
  }
  return EXIT_OK;
}

async function registerInDatabase(
  plan: Plan,
  localpart: string,
  password: string,
  admin: boolean,
  userType: string | null,
): Promise<number> {
  const { flags, rawConfig } = plan;
  let database;
  try {
    database = databaseConfigFromUrl(flags.databaseUrl!);
  } catch (err) {
    throw usageError(`argument --database-url: ${(err as Error).message}`);
  }
  // Only this mode needs the server's code (fastify, every route); `register_new_matrix_user` over HTTP, which
  // scripts run in loops, starts faster without it.
  const [{ createAccountsContext }, { registerUser }, { checkServerName, openAndMigrate }] = await Promise.all([
    import("../accounts/context.js"),
    import("../accounts/registration.js"),
    import("../server.js"),
  ]);
  const accountsConfig = accountsConfigFrom(plan.config);
  const { db, stores } = await openAndMigrate({ database }).catch((err: unknown) => {
    const message = err instanceof Error ? err.message : String(err);
    throw new CliError(`ERROR! Cannot open the database: ${message.split("\n")[0]}`, EXIT_FAILURE, true);
  });
  try {
    const fromConfig = typeof rawConfig?.server_name === "string" ? rawConfig.server_name : null;
    const serverName = resolveServerName(flags.serverName ?? fromConfig, await stores.serverMeta.get("server_name"));
    await checkServerName(stores, serverName).catch((err: unknown) => {
      throw new CliError(`ERROR! ${err instanceof Error ? err.message : String(err)}`, EXIT_FAILURE, true);
    });
    const ctx = createAccountsContext({ ...accountsConfig, server_name: serverName }, stores);
    const lifetime = tokenLifetimeMs(flags);
    try {
      const result = await registerUser(ctx, {
        localpart: localpart.toLowerCase(),
        password,
        admin,
        userType,
        displayname: null,
        login: flags.printToken
          ? {
              deviceId: null,
              initialDeviceDisplayName: null,
              validUntilMs: lifetime === null ? null : Date.now() + lifetime,
            }
          : null,
      });
      progress(flags, "Success!");
      if (flags.printToken && result.session) cliIo().stdout.write(result.session.accessToken + "\n");
      return EXIT_OK;
    } catch (err) {
      if (err instanceof MatrixError) {
        if (flags.existsOk && err.errcode === ErrCode.UserInUse) {
          progress(flags, "User already exists. Skipping.");
          return EXIT_OK;
        }
        throw new CliError(`ERROR! ${err.message}`, EXIT_FAILURE, true);
      }
      throw err;
    }
  } finally {
    await db.close();
  }
}
