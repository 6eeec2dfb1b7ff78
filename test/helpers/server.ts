/**
 * Real Gatehouse servers for tests, on loopback with a port the OS picks: in this process (fast, for API tests) or
 * as a child process running the built `gatehouse serve` (for CLI and multi-process tests).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import type { Config } from "../../src/config/schema.js";
import { validateConfig, type RawConfig } from "../../src/config/validate.js";
import { startServer, type RunningServer } from "../../src/server.js";
import { tempDir, type TestDatabase } from "./databases.js";

export const SHARED_SECRET = "test shared secret ❄ with symbols;:^&*";
export const REPO = new URL("../../", import.meta.url).pathname;
export const GATEHOUSE_BIN = join(REPO, "dist/cli/gatehouse.js");
export const RNMU_BIN = join(REPO, "dist/cli/register-new-matrix-user.js");

/**
 * The cheapest hashing the config allows, for every test server and context: hashing cost is the suite's largest
 * CPU bill otherwise. The tests of hashing itself (test/accounts/passwords.test.ts, hash-pool.test.ts) build their
 * hashers with the real parameters.
 */
export const CHEAP_ARGON2 = { memory_cost: 8, time_cost: 1, parallelism: 1 };

/**
 * A raw config (as it would be in YAML) for `db`, listening on an OS-chosen loopback port, with cheap hashing
 * (`bcrypt_rounds` and `password_config.argon2` unless `overrides` set them; `password_config` is merged).
 */
export function rawConfigFor(db: TestDatabase, overrides: RawConfig = {}): RawConfig {
  const database =
    db.config.name === "sqlite3"
      ? { name: "sqlite3", args: { database: db.config.args.database } }
      : {
          name: "psycopg2",
          args: {
            user: db.config.args.user,
            password: db.config.args.password,
            dbname: db.config.args.database,
            host: db.config.args.host,
            port: db.config.args.port,
            cp_min: 1,
            cp_max: 20,
          },
        };
  return {
    server_name: "localhost",
    listeners: [{ port: 0, bind_addresses: ["127.0.0.1"], type: "http", resources: [{ names: ["client"] }] }],
    database,
    registration_shared_secret: SHARED_SECRET,
    log_level: "warn",
    bcrypt_rounds: 4,
    ...overrides,
    password_config: { argon2: CHEAP_ARGON2, ...(overrides.password_config as RawConfig | undefined) },
  };
}

export function configFrom(raw: RawConfig): Config {
  const origins = new Map(Object.keys(raw).map((k) => [k, "test.yaml"]));
  return validateConfig(raw, origins, { readSecretFile: () => SHARED_SECRET }).config;
}

export interface TestServer {
  url: string;
  server: RunningServer;
  close(): Promise<void>;
}

/** Real time plus an offset the test moves forward: expiry without waiting, and time still passes in between. */
export interface TestClock {
  now: () => number;
  advance(ms: number): void;
}

export function testClock(): TestClock {
  let offset = 0;
  return {
    now: () => Date.now() + offset,
    advance: (ms) => void (offset += ms),
  };
}

export async function startTestServer(
  db: TestDatabase,
  overrides: RawConfig = {},
  options: { clock?: TestClock } = {},
): Promise<TestServer> {
  const server = await startServer(configFrom(rawConfigFor(db, overrides)), () => {}, { now: options.clock?.now });
  const url = server.addresses[0]!.url;
  return { url, server, close: () => server.close() };
}

/** Writes `raw` as YAML into a fresh directory (mode 0600) and returns the file's path. */
export function writeConfigFile(raw: RawConfig, dir = tempDir(), name = "homeserver.yaml"): string {
  const path = join(dir, name);
  writeFileSync(path, stringify(raw), { mode: 0o600 });
  return path;
}

export interface ServerProcess {
  url: string;
  proc: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** Sends the signal and waits for the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Runs `gatehouse serve` with the given arguments and waits until it says where it listens. */
export function spawnServer(
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<ServerProcess> {
  const proc = spawn(process.execPath, [GATEHOUSE_BIN, "serve", ...args], {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  const exited = new Promise<number | null>((resolve) => proc.on("exit", (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill("SIGKILL");
      reject(new Error(`server did not start in time:\n${out}\n${err}`));
    }, 30_000);
    proc.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      const m = / on (\S+?)(,|\n)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({
          url: m[1]!,
          proc,
          stdout: () => out,
          stderr: () => err,
          stop: (signal = "SIGTERM") => {
            if (proc.exitCode === null) proc.kill(signal);
            return exited;
          },
        });
      }
    });
    proc.stderr.on("data", (d: Buffer) => (err += d.toString()));
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before listening:\n${out}\n${err}`));
    });
  });
}
