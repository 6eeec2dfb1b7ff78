/**
 * Pieces the CLI and config tests share: a real pseudo-terminal (through test/helpers/pty-run.py), a `gatehouse
 * serve` child on a config written for a test database, a look at the rows the programs wrote, and stand-in servers
 * that are not Matrix homeservers at all.
 */
import { execFile, spawnSync } from "node:child_process";
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { createServer as createNetServer, type AddressInfo } from "node:net";
import { join } from "node:path";
import { expect } from "vitest";
import { PasswordHasher } from "../../src/accounts/passwords.js";
import type { DatabaseConfig } from "../../src/config/schema.js";
import type { RawConfig } from "../../src/config/validate.js";
import { openDatabase } from "../../src/db/database.js";
import { createStores, type Stores } from "../../src/db/stores.js";
import type { User } from "../../src/db/users.js";
import type { CliResult } from "./cli.js";
import { tempDir, type TestDatabase } from "./databases.js";
import { rawConfigFor, REPO, spawnServer, writeConfigFile, type ServerProcess } from "./server.js";

export const PTY_RUNNER = join(REPO, "test/helpers/pty-run.py");

/** Why the pseudo-terminal tests cannot run here, or null when they can. */
export function ptyUnavailable(): string | null {
  const r = spawnSync("python3", ["-c", "import pty, json, select"], { encoding: "utf8" });
  return r.status === 0 ? null : "python3 with the pty module is not available";
}

export interface PtyStep {
  /** Text the program prints; the step waits for it (after the previous step's match). */
  expect: string;
  /** What to type once it appeared: "\r" is the Enter key, "\u0003" Ctrl-C. */
  send: string;
}

export interface PtyResult {
  /** Everything the terminal showed, as bytes decoded. */
  transcript: string;
  /** The transcript without terminal control sequences and carriage returns: what a person reads. */
  text: string;
  code: number | null;
  /** The index of the step whose text never appeared, or null. */
  failedStep: number | null;
  timedOut: boolean;
}

const ESC = String.fromCharCode(27);
const CSI_SEQUENCE = new RegExp(`${ESC}\\[[0-9;?]*[A-Za-z]`, "g");
const CHARSET_SEQUENCE = new RegExp(`${ESC}[()][A-Za-z0-9]`, "g");

export function stripTerminal(s: string): string {
  return s.replace(CSI_SEQUENCE, "").replace(CHARSET_SEQUENCE, "").replace(/\r\n/g, "\n").replace(/\r/g, "");
}

/** Runs `node bin args…` on a pseudo-terminal (stdin, stdout and stderr all on it) and answers its prompts. */
export function runInPty(
  bin: string,
  args: string[],
  steps: PtyStep[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutSeconds?: number } = {},
): Promise<PtyResult> {
  const spec = {
    argv: [process.execPath, bin, ...args],
    cwd: options.cwd ?? null,
    env: options.env ?? {},
    timeout: options.timeoutSeconds ?? 30,
    steps,
  };
  return new Promise((resolve, reject) => {
    execFile("python3", [PTY_RUNNER, JSON.stringify(spec)], { maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err) {
        reject(new Error(`pty-run.py failed: ${err.message}\n${stderr}`));
        return;
      }
      const r = JSON.parse(stdout) as {
        transcript: string;
        code: number | null;
        failed_step: number | null;
        timed_out: boolean;
      };
      resolve({
        transcript: r.transcript,
        text: stripTerminal(r.transcript),
        code: r.code,
        failedStep: r.failed_step,
        timedOut: r.timed_out,
      });
    });
  });
}

/** A TCP port on 127.0.0.1 that nothing listens on (at the moment it is returned). */
export function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createNetServer();
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as AddressInfo).port;
      s.close(() => resolve(port));
    });
    s.on("error", reject);
  });
}

/** True when something can bind 127.0.0.1:`port` right now. */
export function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createNetServer();
    s.once("error", () => resolve(false));
    s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
  });
}

/** The lines of a stack trace, as Node prints them ("    at fn (file:line:col)"). */
export const STACK_LINE = /^\s+at\s/m;

/** A failure reported as Gatehouse promises: one line starting `ERROR!` on stdout, exit 1, no stack trace. */
export function expectOneLineError(r: CliResult): string {
  expect(r.code, r.stdout + r.stderr).toBe(1);
  expect(r.stdout + r.stderr).not.toMatch(STACK_LINE);
  const lines = r.stdout.split("\n").filter((l) => l !== "");
  expect(lines, r.stdout).toHaveLength(1);
  expect(lines[0]).toMatch(/^ERROR! /);
  // Nothing on stderr but the warnings a caller chose to get (none, unless -p was used).
  expect(r.stderr.split("\n").filter((l) => l !== "" && !l.startsWith("warning: "))).toEqual([]);
  return lines[0]!;
}

/** Runs `fn` on the stores of `config` over a connection of its own (not the server's). */
export async function withStores<T>(config: DatabaseConfig, fn: (stores: Stores) => Promise<T>): Promise<T> {
  const db = openDatabase(config);
  try {
    return await fn(createStores(db));
  } finally {
    await db.close();
  }
}

export function readUser(config: DatabaseConfig, userId: string): Promise<User | null> {
  return withStores(config, (s) => s.users.get(userId));
}

/** Whether `password` is the one stored for `userId` (default hashing settings, no pepper). */
export async function passwordMatches(config: DatabaseConfig, userId: string, password: string): Promise<boolean> {
  const user = await readUser(config, userId);
  return new PasswordHasher({ algorithm: "argon2id", bcryptRounds: 12, pepper: "" }).verify(
    password,
    user?.passwordHash ?? null,
  );
}

export interface ServeFixture {
  /** Where the server listens: `http://127.0.0.1:port` or `unix:/path`. */
  url: string;
  configPath: string;
  raw: RawConfig;
  server: ServerProcess;
  stop(): Promise<number | null>;
}

/** Writes a config for `db` (mode 0600) and runs the built `gatehouse serve -c` on it. */
export async function serveFixture(db: TestDatabase, overrides: RawConfig = {}): Promise<ServeFixture> {
  const raw = rawConfigFor(db, overrides);
  const configPath = writeConfigFile(raw);
  const server = await spawnServer(["-c", configPath]);
  return { url: server.url, configPath, raw, server, stop: () => server.stop() };
}

/**
 * A config for the CLI that names the port `url` actually listens on (the server's own config asks for port 0),
 * with everything else as the server has it.
 */
export function cliConfigFor(fixture: ServeFixture, listeners?: unknown[]): string {
  const port = Number(new URL(fixture.url).port);
  const raw = {
    ...fixture.raw,
    listeners: listeners ?? [{ port, bind_addresses: ["127.0.0.1"], type: "http", resources: [{ names: ["client"] }] }],
  };
  return writeConfigFile(raw, tempDir(), "cli.yaml");
}

export interface StandIn {
  url: string;
  requests: { method: string; url: string }[];
  close(): Promise<void>;
}

function standIn(server: Server, scheme: "http" | "https", requests: StandIn["requests"]): Promise<StandIn> {
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        url: `${scheme}://127.0.0.1:${port}`,
        requests,
        close: () =>
          new Promise<void>((done) => {
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}

/** A plain HTTP server that answers with `handler`: a reverse proxy's error page, say. */
export function startStandIn(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<StandIn> {
  const requests: StandIn["requests"] = [];
  const server = createHttpServer((req, res) => {
    requests.push({ method: req.method ?? "", url: req.url ?? "" });
    handler(req, res);
  });
  return standIn(server, "http", requests);
}

/** An HTTPS server with a fresh self-signed certificate for localhost/127.0.0.1 (made with openssl). */
export function startSelfSignedStandIn(): Promise<StandIn> {
  const dir = tempDir("gatehouse-tls-");
  const key = join(dir, "key.pem");
  const cert = join(dir, "cert.pem");
  const r = spawnSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      key,
      "-out",
      cert,
      "-days",
      "1",
      "-subj",
      "/CN=localhost",
      "-addext",
      "subjectAltName=DNS:localhost,IP:127.0.0.1",
    ],
    { encoding: "utf8" },
  );
  if (r.status !== 0) throw new Error(`openssl failed: ${r.stderr}`);
  const requests: StandIn["requests"] = [];
  const server = createHttpsServer({ key: readFileSync(key), cert: readFileSync(cert) }, (req, res) => {
    requests.push({ method: req.method ?? "", url: req.url ?? "" });
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify({ nonce: "n" }));
  }) as unknown as Server;
  return standIn(server, "https", requests);
}

export function opensslAvailable(): boolean {
  return spawnSync("openssl", ["version"], { encoding: "utf8" }).status === 0;
}

/** Writes `text` to a new file in a fresh directory and returns its path. */
export function writeTemp(name: string, text: string, mode = 0o600): string {
  const path = join(tempDir(), name);
  writeFileSync(path, text);
  chmodSync(path, mode);
  return path;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
