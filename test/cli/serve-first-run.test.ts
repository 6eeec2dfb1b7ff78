/**
 * `gatehouse serve` on a first run: which config it uses without `-c`, the config it generates when there is none,
 * and the command it prints for creating the first admin, which is run here exactly as printed.
 */
import { spawn } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { delimiter, join } from "node:path";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import type { CliResult } from "../helpers/cli.js";
import { closedPort, portIsFree, readUser, sleep } from "../helpers/cli-tools.js";
import { tempDir } from "../helpers/databases.js";
import { RNMU_BIN, SHARED_SECRET, spawnServer, writeConfigFile, type ServerProcess } from "../helpers/server.js";
import { databaseConfigFromUrl } from "../../src/config/database-url.js";

/** Runs a shell command line as a person would paste it. */
function shell(command: string, options: { cwd: string; stdin: string; env?: NodeJS.ProcessEnv }): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const proc = spawn("sh", ["-c", command], { cwd: options.cwd, env: { ...process.env, ...options.env } });
    let stdout = "";
    let stderr = "";
    proc.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    proc.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => proc.kill("SIGKILL"), 30_000);
    proc.on("error", reject);
    proc.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    proc.stdin.end(options.stdin);
  });
}

const HINT = /No accounts yet\. Create the first admin with:\n {2}(.+)\n/;

/** The command the server prints (just after the line `spawnServer` waits for). */
async function printedCommand(server: ServerProcess): Promise<string> {
  for (let i = 0; i < 100 && !HINT.test(server.stdout()); i++) await sleep(50);
  const m = HINT.exec(server.stdout());
  expect(m, server.stdout()).not.toBeNull();
  return m![1]!;
}

/** A config on a fixed port (the printed command must find the server from the config alone). */
async function configOnFixedPort(
  dir: string,
  name: string,
  serverName: string,
): Promise<{ path: string; port: number; dbFile: string }> {
  const port = await closedPort();
  const dbFile = join(dir, "homeserver.db");
  const path = writeConfigFile(
    {
      server_name: serverName,
      listeners: [{ port, bind_addresses: ["127.0.0.1"], type: "http", resources: [{ names: ["client"] }] }],
      database: { name: "sqlite3", args: { database: dbFile } },
      registration_shared_secret: SHARED_SECRET,
      log_level: "warn",
    },
    dir,
    name,
  );
  return { path, port, dbFile };
}

describe("gatehouse serve with no -c and no homeserver.yaml", () => {
  it("generates ./data/homeserver.yaml, serves on 127.0.0.1:8008, and the printed command creates the first admin", async (ctx) => {
    if (!(await portIsFree(8008))) {
      ctx.skip("port 8008 is in use on this machine; the generated config's port cannot be chosen by the test");
      return;
    }
    const cwd = tempDir("gatehouse-first-run-");
    const server = await spawnServer([], { cwd });
    try {
      expect(server.stderr()).toContain(
        "No configuration given: generated data/homeserver.yaml (server_name: localhost, SQLite).",
      );
      expect(server.url).toBe("http://127.0.0.1:8008");
      expect(server.stdout()).toMatch(
        /^Gatehouse \S+ serving localhost on http:\/\/127\.0\.0\.1:8008(, http:\/\/\[::1\]:8008)?\n/,
      );

      // The generated config: Synapse's keys, loopback on 8008, SQLite under ./data, the secret in a 0600 file.
      const config = parse(readFileSync(join(cwd, "data/homeserver.yaml"), "utf8")) as Record<string, unknown>;
      expect(config.server_name).toBe("localhost");
      expect(config.listeners).toEqual([
        expect.objectContaining({ port: 8008, bind_addresses: ["127.0.0.1", "::1"], type: "http", tls: false }),
      ]);
      expect(config.database).toEqual({ name: "sqlite3", args: { database: join(cwd, "data/homeserver.db") } });
      expect(config.registration_shared_secret).toBeUndefined();
      const secretPath = config.registration_shared_secret_path as string;
      expect(secretPath).toBe(join(cwd, "data/registration_shared_secret"));
      expect(statSync(secretPath).mode & 0o777).toBe(0o600);
      expect(readFileSync(secretPath, "utf8").trim()).toMatch(/^\S{50}$/);
      expect(existsSync(join(cwd, "data/homeserver.db"))).toBe(true);
      // And the signing key, next to the config, as Synapse names it.
      expect(config.signing_key_path).toBe(join(cwd, "data/localhost.signing.key"));
      expect(statSync(join(cwd, "data/localhost.signing.key")).mode & 0o777).toBe(0o600);

      const command = await printedCommand(server);
      expect(command).toMatch(/ -c data\/homeserver\.yaml --admin -u admin$/);
      const r = await shell(command, { cwd, stdin: "first-admin-pw\nfirst-admin-pw\n" });
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(r.stdout).toBe("Password: \nConfirm password: \nSending registration request...\nSuccess!\n");
      const admin = await readUser(
        databaseConfigFromUrl(`sqlite://${join(cwd, "data/homeserver.db")}`),
        "@admin:localhost",
      );
      expect(admin?.admin).toBe(true);
    } finally {
      expect(await server.stop()).toBe(0);
    }

    // The second start uses the config generated by the first, and says nothing about generating one.
    if (!(await portIsFree(8008))) return;
    const again = await spawnServer([], { cwd });
    try {
      expect(again.stderr()).not.toContain("generated");
      await sleep(500);
      expect(again.stdout()).not.toContain("No accounts yet");
    } finally {
      await again.stop();
    }
  });
});

describe("gatehouse serve: the printed first-admin command works as printed", () => {
  it("without -c it uses ./homeserver.yaml; with register_new_matrix_user on PATH the command uses that name", async () => {
    const cwd = tempDir("gatehouse-cwd-");
    const { dbFile } = await configOnFixedPort(cwd, "homeserver.yaml", "example.org");
    const bin = join(tempDir("gatehouse-bin-"), "bin");
    mkdirSync(bin);
    symlinkSync(RNMU_BIN, join(bin, "register_new_matrix_user"));
    // npm makes a package's bin files executable when it installs them; tsc does not.
    const mode = statSync(RNMU_BIN).mode & 0o777;
    chmodSync(RNMU_BIN, mode | 0o755);
    const env = { PATH: `${bin}${delimiter}${process.env.PATH ?? ""}` };
    const server = await spawnServer([], { cwd, env });
    try {
      expect(server.stdout()).toContain("serving example.org on");
      expect(existsSync(join(cwd, "data"))).toBe(false);
      const command = await printedCommand(server);
      expect(command).toBe("register_new_matrix_user -c homeserver.yaml --admin -u admin");
      const r = await shell(command, { cwd, env, stdin: "pw\npw\n" });
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect((await readUser(databaseConfigFromUrl(`sqlite://${dbFile}`), "@admin:example.org"))?.admin).toBe(true);
    } finally {
      chmodSync(RNMU_BIN, mode);
      await server.stop();
    }
  });

  it("when another register_new_matrix_user comes first on PATH (Synapse's), the command names ours by path", async () => {
    const cwd = tempDir("gatehouse-cwd-");
    const { dbFile } = await configOnFixedPort(cwd, "homeserver.yaml", "example.org");
    const synapseBin = join(tempDir("synapse-bin-"), "bin");
    mkdirSync(synapseBin);
    writeFileSync(join(synapseBin, "register_new_matrix_user"), "#!/bin/sh\necho 'not gatehouse'\nexit 3\n", {
      mode: 0o755,
    });
    const ourBin = join(tempDir("gatehouse-bin-"), "bin");
    mkdirSync(ourBin);
    symlinkSync(RNMU_BIN, join(ourBin, "register_new_matrix_user"));
    const env = { PATH: [synapseBin, ourBin, process.env.PATH ?? ""].join(delimiter) };
    // Ours is runnable by name too (as npm installs it), so only PATH order can tell them apart.
    const mode = statSync(RNMU_BIN).mode & 0o777;
    chmodSync(RNMU_BIN, mode | 0o755);
    const server = await spawnServer([], { cwd, env });
    try {
      const command = await printedCommand(server);
      expect(command).toMatch(/^node \S*register-new-matrix-user\.js -c homeserver\.yaml --admin -u admin$/);
      const r = await shell(command, { cwd, env, stdin: "pw\npw\n" });
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(r.stdout).not.toContain("not gatehouse");
      expect((await readUser(databaseConfigFromUrl(`sqlite://${dbFile}`), "@admin:example.org"))?.admin).toBe(true);
    } finally {
      chmodSync(RNMU_BIN, mode);
      await server.stop();
    }
  });

  it("a -c path with spaces is quoted so the command still works", async () => {
    const cwd = tempDir("gatehouse-cwd-");
    const dir = join(cwd, "my config");
    mkdirSync(dir);
    const { path, dbFile } = await configOnFixedPort(dir, "home server.yaml", "spaces.example");
    const server = await spawnServer(["-c", path], { cwd });
    try {
      const command = await printedCommand(server);
      expect(command).toContain("-c 'my config/home server.yaml' --admin -u admin");
      const r = await shell(command, { cwd, stdin: "pw\npw\n" });
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect((await readUser(databaseConfigFromUrl(`sqlite://${dbFile}`), "@admin:spaces.example"))?.admin).toBe(true);
    } finally {
      await server.stop();
    }
  });

  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    it(`${signal} stops the server cleanly: exit 0`, async () => {
      const cwd = tempDir("gatehouse-cwd-");
      const { path } = await configOnFixedPort(cwd, "homeserver.yaml", "example.org");
      const server = await spawnServer(["-c", path], { cwd });
      expect(await server.stop(signal)).toBe(0);
      expect(server.stderr()).toContain(`${signal}: finishing requests in flight, then stopping`);
    });
  }
});
