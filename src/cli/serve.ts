/**
 * @module `gatehouse serve`: load the configuration (or make one on first run), start the server, stop cleanly.
 */
import { accessSync, constants, existsSync, realpathSync, statSync } from "node:fs";
import { delimiter, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { loadConfig } from "../config/load.js";
import { generateConfig } from "../config/generate.js";
import { formatProblem } from "../config/validate.js";
import { loadOrCreateSigningKeys, SigningKeyFileError } from "../config/signing-key.js";
import type { SigningKey } from "../matrix/signing.js";
import { WORKER_ENV } from "../metrics/metrics.js";
import { startServer, type RunningServer } from "../server.js";
import { VERSION } from "../version.js";
import { CliError, EXIT_USAGE, reportError } from "./errors.js";
import { configFromPrimary, isWorker, runPrimary, serveAsWorker } from "./workers.js";
import { cliIo, withCliIo } from "./io.js";

/** The config paths to use: `-c` as given, else `./homeserver.yaml`, else `./data/` (made on first run). */
export function defaultConfigPaths(given: string[] | undefined): { paths: string[]; generated: boolean } {
  if (given && given.length > 0) return { paths: given, generated: false };
  if (existsSync("homeserver.yaml")) return { paths: ["homeserver.yaml"], generated: false };
  const dataConfig = join("data", "homeserver.yaml");
  if (existsSync(dataConfig)) return { paths: [dataConfig], generated: false };
  generateConfig({ serverName: "localhost", dataDir: "data" });
  return { paths: [dataConfig], generated: true };
}

/** How to run one of our bins from here: by name if it is on PATH, else through node and its path. */
export function commandFor(bin: string, script: string): string {
  for (const dir of (cliIo().env.PATH ?? "").split(delimiter)) {
    const candidate = join(dir, bin);
    try {
      if (!statSync(candidate).isFile()) continue;
      accessSync(candidate, constants.X_OK);
    } catch {
      continue; // Not there, or not something the shell would run.
    }
    // The shell runs the first one on PATH: if that is another program (Synapse's script, say), name ours by path.
    if (realpathSync(candidate) === realpathSync(script)) return bin;
    break;
  }
  return `node ${shellQuote(relative(process.cwd(), script) || script)}`;
}

function shellQuote(s: string): string {
  return /^[\w./:=@+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

export async function runServe(configArgs: string[] | undefined, flags: { workers?: number } = {}): Promise<number> {
  // A cluster worker runs this same command line; it takes the configuration the primary validated.
  if (isWorker()) return runWorker();
  const { paths, generated } = defaultConfigPaths(configArgs);
  if (generated)
    cliIo().stderr.write(`No configuration given: generated ${paths[0]} (server_name: localhost, SQLite).\n`);
  let loaded;
  try {
    loaded = loadConfig(paths);
  } catch (err) {
    return reportError(err, EXIT_USAGE);
  }
  for (const w of loaded.warnings) cliIo().stderr.write(`warning: ${formatProblem(w)}\n`);
  let signing: { keys: SigningKey[]; created: boolean } | null;
  try {
    signing = prepareSigningKeys(loaded.config.signing_key_path);
  } catch (err) {
    return reportError(err, EXIT_USAGE);
  }

  const workers = flags.workers ?? loaded.config.workers;
  if (workers > 1) {
    const config = loaded.config;
    return runPrimary({
      config,
      workers,
      log: (line) => cliIo().stderr.write(`${line}\n`),
      announce: (urls, userCount) => {
        cliIo().stdout.write(`Gatehouse ${VERSION} serving ${config.server_name} on ${urls.join(", ")}\n`);
        if (userCount === 0) printFirstAdminHint(paths);
      },
    });
  }

  const server = await startServer(loaded.config, (m) => cliIo().stderr.write(`warning: ${m}\n`), {
    signingKeys: signing?.keys,
  });
  if (signing?.created) {
    server.app.log.info(
      { signing_key_path: loaded.config.signing_key_path, key_id: signing.keys[0]!.keyId },
      "generated a new signing key (mode 0600); back it up: it is this server's identity",
    );
  }
  // The handlers go in before the server says it is up, so a SIGTERM sent as soon as it has said so (by a service
  // manager or a test) is a clean stop, not the default action of the signal.
  const stopped = stopOnSignal(server, false);
  const urls = server.addresses.map((a) => a.url);
  cliIo().stdout.write(`Gatehouse ${VERSION} serving ${loaded.config.server_name} on ${urls.join(", ")}\n`);
  // A stop signal may already have closed the database; the hint is then moot.
  if ((await server.accounts.stores.users.count().catch(() => null)) === 0) printFirstAdminHint(paths);
  return stopped;
}

/**
 * Reads the signing key, creating the file on a first start (Synapse's `generate_missing_configs`), before any
 * worker is forked and before the database is opened, so a bad key file is one line and exit 2, and every worker
 * reads the same key.
 */
function prepareSigningKeys(path: string | null): { keys: SigningKey[]; created: boolean } | null {
  if (path === null) return null;
  try {
    return loadOrCreateSigningKeys(path);
  } catch (err) {
    if (err instanceof SigningKeyFileError) throw new CliError(`error: ${err.message}`, EXIT_USAGE);
    throw err;
  }
}

function printFirstAdminHint(paths: string[]): void {
  const script = fileURLToPath(new URL("./register-new-matrix-user.js", import.meta.url));
  const configFlags = paths.map((p) => `-c ${shellQuote(relative(process.cwd(), resolve(p)) || p)}`).join(" ");
  cliIo().stdout.write(
    `No accounts yet. Create the first admin with:\n  ${commandFor("register_new_matrix_user", script)} ${configFlags} --admin -u admin\n`,
  );
}

/** Stops this process's server once: on SIGTERM/SIGINT, or when the primary is gone (its IPC channel closed). */
function stopOnSignal(server: RunningServer, quiet: boolean): Promise<number> {
  return new Promise<number>((resolvePromise) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      if (!quiet) cliIo().stderr.write(`${signal}: finishing requests in flight, then stopping\n`);
      server.close().then(
        () => resolvePromise(0),
        (err: unknown) => resolvePromise(reportError(err)),
      );
    };
    // A handler runs in the context of whoever sent the signal: what stopping prints goes to this run's streams.
    const io = cliIo();
    const signals = io.signals ?? process;
    signals.on("SIGTERM", () => withCliIo(io, () => stop("SIGTERM")));
    signals.on("SIGINT", () => withCliIo(io, () => stop("SIGINT")));
    if (isWorker()) process.on("disconnect", () => stop("primary gone"));
  });
}

/** A `--workers` worker: the primary has validated, reported and migrated; this one serves. */
async function runWorker(): Promise<number> {
  const config = await configFromPrimary();
  // Only the first worker repeats start-up warnings (an IPv6 address skipped, say): N copies say nothing more.
  const first = process.env[WORKER_ENV] === "1";
  const server = await startServer(config, (m) => first && cliIo().stderr.write(`warning: ${m}\n`), {
    migrate: false,
    metrics: null,
  });
  const stopped = stopOnSignal(server, true);
  serveAsWorker(server);
  return stopped;
}
