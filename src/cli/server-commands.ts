/**
 * @module The `gatehouse` commands that run or prepare a server: serve, generate-config, migrate, register-user.
 * Kept apart from the admin commands so that those can start without loading the server (see gatehouse.ts).
 */
import { Command, InvalidArgumentError, Option } from "commander";
import { generateConfig, AlreadyExistsError } from "../config/generate.js";
import { loadConfig } from "../config/load.js";
import { databaseConfigFromUrl } from "../config/database-url.js";
import { ConfigError, formatProblem } from "../config/validate.js";
import { CliError, EXIT_USAGE, reportError, runCommand, usageError } from "./errors.js";
import { defineRegisterUser, runRegisterUser, trackAdminFlags, type RegisterUserFlags } from "./register-user.js";
import { cliIo } from "./io.js";

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** `--workers`: a whole number from 1 up; anything else is a usage error, not NaN workers. */
export function parseWorkers(value: string): number {
  const n = Number(value);
  // Commander reports an InvalidArgumentError as a usage error (exit 2); anything else would escape as a crash.
  if (!/^\d+$/.test(value) || n < 1 || n > 256)
    throw new InvalidArgumentError("It must be a whole number from 1 to 256.");
  return n;
}

// `serve` and `migrate` load the server and the database drivers when they run, not when the program starts:
// `generate-config` and `register-user` over HTTP (which scripts and first-run guides run) start without them.

export function defineServerCommands(program: Command): void {
  program
    .command("serve")
    .description(
      "Start the server. Without -c: ./homeserver.yaml, else ./data/homeserver.yaml (generated on first run).",
    )
    .option(
      "-c, --config <path>",
      "config file or directory of *.yaml files; may be repeated, later files win",
      collect,
    )
    .option(
      "--workers <n>",
      "worker processes sharing the listeners (PostgreSQL only; default: workers in the config, 1)",
      parseWorkers,
    )
    .action((opts: { config?: string[]; workers?: number }) =>
      runCommand(async () => {
        const { runServe } = await import("./serve.js");
        return runServe(opts.config, { workers: opts.workers });
      }),
    );

  program
    .command("generate-config")
    .description("Write a commented config, a shared-secret file and a signing-key file (both mode 0600).")
    .requiredOption("--server-name <name>", "the domain in your users' IDs, e.g. example.com")
    .option("-c, --config <file>", "where to write the config (default: <data-dir>/homeserver.yaml)")
    .option("--data-dir <dir>", "where the database and the secret file go", "data")
    .addOption(new Option("--port <port>", "listener port").default(8008).argParser((v) => Number(v)))
    .action((opts: { serverName: string; config?: string; dataDir: string; port: number }) =>
      runCommand(async () => {
        if (!Number.isInteger(opts.port) || opts.port < 1 || opts.port > 65535)
          throw usageError("--port must be 1-65535");
        try {
          const files = generateConfig({
            serverName: opts.serverName,
            dataDir: opts.dataDir,
            configPath: opts.config,
            port: opts.port,
          });
          cliIo().stdout.write(
            `Wrote ${files.configPath}\nWrote ${files.secretPath} (mode 0600: keep it readable only by the server's user)\n` +
              (files.signingKeyCreated
                ? `Wrote ${files.signingKeyPath} (mode 0600: the server's signing key; back it up)\n`
                : `Kept the existing signing key ${files.signingKeyPath}\n`),
          );
        } catch (err) {
          if (err instanceof AlreadyExistsError) throw new CliError(`error: ${err.message}`);
          if (err instanceof ConfigError) {
            throw usageError(err.problems.map((p) => `${p.key}: ${p.message}`).join("; "));
          }
          throw err;
        }
      }),
    );

  program
    .command("migrate")
    .description("Bring the database schema up to date (serve does this at start too).")
    .option("-c, --config <path>", "config file or directory; may be repeated", collect)
    .option("--database-url <url>", "sqlite:///path/to.db or postgres://user:pass@host/db instead of -c")
    .action((opts: { config?: string[]; databaseUrl?: string }) =>
      runCommand(async () => {
        if (!opts.config && !opts.databaseUrl) throw usageError("one of -c/--config or --database-url is required");
        let database;
        if (opts.databaseUrl) {
          try {
            database = databaseConfigFromUrl(opts.databaseUrl);
          } catch (err) {
            throw usageError(`argument --database-url: ${(err as Error).message}`);
          }
        } else {
          try {
            const loaded = loadConfig(opts.config!);
            for (const w of loaded.warnings) cliIo().stderr.write(`warning: ${formatProblem(w)}\n`);
            database = loaded.config.database;
          } catch (err) {
            return reportError(err, EXIT_USAGE);
          }
        }
        const { migrate, openDatabase } = await import("../db/database.js");
        const db = openDatabase(database);
        try {
          const applied = await migrate(db);
          cliIo().stdout.write(applied.length ? `Applied: ${applied.join(", ")}\n` : "Already up to date.\n");
        } finally {
          await db.close();
        }
      }),
    );

  const register = defineRegisterUser(program.command("register-user"));
  const seen = trackAdminFlags(register);
  register.action((serverUrl: string | undefined, flags: RegisterUserFlags) =>
    runCommand(() => runRegisterUser(flags, seen, serverUrl)),
  );
}
