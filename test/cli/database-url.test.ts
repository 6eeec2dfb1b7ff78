/**
 * `register_new_matrix_user --database-url`: accounts written straight into the database with no server running
 * (the first admin before the first start), on SQLite and on PostgreSQL, checked by starting a server afterwards.
 */
import { describe, expect, it } from "vitest";
import { hashToken } from "../../src/accounts/tokens.js";
import type { CliResult } from "../helpers/cli.js";
import { closedPort, readUser, sleep, STACK_LINE, withStores, writeTemp } from "../helpers/cli-tools.js";
import { createTestDatabase, forEachDatabase, type TestDatabase } from "../helpers/databases.js";
import { call } from "../helpers/http.js";
import { rawConfigFor, writeConfigFile } from "../helpers/server.js";
import type { RawConfig } from "../../src/config/validate.js";
import { runRegisterNewMatrixUser, startServeInProcess } from "./in-process.js";

const rnmu = (args: string[], options: { stdin?: string } = {}): Promise<CliResult> =>
  runRegisterNewMatrixUser(args, options);

/**
 * The servers that check what the command wrote run `gatehouse serve` in this process: each starts on a database no
 * command is writing any more, and what the tests read (answers, the first-admin hint) is the command's own output.
 */
const spawnServer = (args: string[]) => startServeInProcess(args);

/** Starts `gatehouse serve` on `db` (with `overrides`), runs `fn`, and always stops the server. */
async function withServer<T>(db: TestDatabase, overrides: RawConfig, fn: (url: string) => Promise<T>): Promise<T> {
  const server = await spawnServer(["-c", writeConfigFile(rawConfigFor(db, overrides))]);
  try {
    return await fn(server.url);
  } finally {
    await server.stop();
  }
}

const whoami = (url: string, token: string) => call(url, "GET", "/_matrix/client/v3/account/whoami", { token });

forEachDatabase((kind) => {
  it.concurrent(
    "the first admin, with no server running: only the token on stdout, and it works once the server starts",
    async () => {
      const db = await createTestDatabase(kind);
      const configPath = writeConfigFile(rawConfigFor(db));
      const r = await rnmu([
        "--database-url",
        db.url,
        "-c",
        configPath,
        "--no-input",
        "--print-token",
        "-a",
        "-u",
        "admin",
        "-p",
        "first-admin-pw",
      ]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^syt_[A-Za-z0-9_]+\n$/);
      expect(r.stderr).toContain("Success!\n");
      expect(r.stderr).not.toContain("Sending registration request");
      const token = r.stdout.trim();

      // The account and the server name are in the database before any server has run on it.
      expect((await readUser(db.config, "@admin:localhost"))?.admin).toBe(true);
      expect(await withStores(db.config, (s) => s.serverMeta.get("server_name"))).toBe("localhost");

      const server = await spawnServer(["-c", configPath]);
      try {
        // No "No accounts yet" hint: the admin exists.
        expect(server.stdout()).not.toContain("No accounts yet");
        const who = await whoami(server.url, token);
        expect(who.status).toBe(200);
        expect(who.body.user_id).toBe("@admin:localhost");
        expect(typeof who.body.device_id).toBe("string");
      } finally {
        expect(await server.stop()).toBe(0);
      }
    },
  );

  it.concurrent("--server-name instead of -c, and without -a the user is not an admin", async () => {
    const db = await createTestDatabase(kind);
    const r = await rnmu([
      "--database-url",
      db.url,
      "--server-name",
      "example.org",
      "--no-input",
      "--print-token",
      "-u",
      "Bob",
      "-p",
      "pw",
    ]);
    expect(r.code, r.stderr).toBe(0);
    const token = r.stdout.trim();
    expect((await readUser(db.config, "@bob:example.org"))?.admin).toBe(false);
    await withServer(db, { server_name: "example.org" }, async (url) => {
      const who = await whoami(url, token);
      expect(who.status).toBe(200);
      expect(who.body.user_id).toBe("@bob:example.org");
    });
  });

  it.concurrent("--token-validity: the token has expired once its days are up (0.00001 days, 0.864 s)", async () => {
    const db = await createTestDatabase(kind);
    const base = ["--database-url", db.url, "--server-name", "localhost", "--no-input", "--print-token", "-p", "pw"];
    const started = Date.now();
    const short = await rnmu([...base, "-u", "brief", "--token-validity", "0.00001"]);
    expect(short.code, short.stderr).toBe(0);
    const lasting = await rnmu([...base, "-u", "lasting"]);
    expect(lasting.code, lasting.stderr).toBe(0);

    const shortToken = short.stdout.trim();
    const row = await withStores(db.config, (s) => s.accessTokens.getByHash(hashToken(shortToken)));
    expect(row?.validUntilMs).toBeGreaterThanOrEqual(started + 864);
    expect(row?.validUntilMs).toBeLessThanOrEqual(Date.now() + 864);
    await sleep(Math.max(0, row!.validUntilMs! - Date.now()) + 200);

    await withServer(db, {}, async (url) => {
      const expired = await whoami(url, shortToken);
      expect(expired.status).toBe(401);
      expect(expired.body.errcode).toBe("M_UNKNOWN_TOKEN");
      expect((await whoami(url, lasting.stdout.trim())).status).toBe(200);
    });
  });

  it.concurrent(
    "applies the -c config's password settings: its hashing algorithm and its password policy",
    async () => {
      const db = await createTestDatabase(kind);
      const configPath = writeConfigFile(
        rawConfigFor(db, {
          password_config: { algorithm: "bcrypt", policy: { enabled: true, minimum_length: 12 } },
          bcrypt_rounds: 4,
        }),
      );
      const weak = await rnmu(["--database-url", db.url, "-c", configPath, "--no-input", "-u", "weak", "-p", "short"]);
      expect(weak.code).toBe(1);
      expect(weak.stdout).toMatch(/^ERROR! /);
      expect(await readUser(db.config, "@weak:localhost")).toBeNull();

      const ok = await rnmu([
        "--database-url",
        db.url,
        "-c",
        configPath,
        "--no-input",
        "-u",
        "strong",
        "-p",
        "long enough password",
      ]);
      expect(ok.code, ok.stdout + ok.stderr).toBe(0);
      expect((await readUser(db.config, "@strong:localhost"))?.passwordHash).toMatch(/^\$2b\$04\$/);
    },
  );

  it.concurrent(
    "a taken user: 'ERROR!' and exit 1; with --exists-ok 'User already exists. Skipping.' and exit 0",
    async () => {
      const db = await createTestDatabase(kind);
      const base = ["--database-url", db.url, "--server-name", "localhost", "--no-input", "-u", "carol", "-p", "pw"];
      expect((await rnmu(base)).code).toBe(0);
      const again = await rnmu([...base, "-a"]);
      expect(again.code).toBe(1);
      expect(again.stdout).toBe("ERROR! User ID already taken.\n");
      const ok = await rnmu([...base, "-a", "--exists-ok"]);
      expect(ok.code).toBe(0);
      expect(ok.stdout).toBe("User already exists. Skipping.\n");
      expect((await readUser(db.config, "@carol:localhost"))?.admin).toBe(false);
    },
  );

  it.concurrent("prompts as over HTTP when answers are piped in", async () => {
    const db = await createTestDatabase(kind);
    const r = await rnmu(["--database-url", db.url, "--server-name", "localhost", "-u", "dave"], {
      stdin: "pw\npw\nyes\n",
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe("Password: \nConfirm password: \nMake admin [no]: \nSuccess!\n");
    expect((await readUser(db.config, "@dave:localhost"))?.admin).toBe(true);
  });

  it.concurrent("a database that belongs to another server_name is refused", async () => {
    const db = await createTestDatabase(kind);
    const first = await rnmu([
      "--database-url",
      db.url,
      "--server-name",
      "one.example",
      "--no-input",
      "-u",
      "erin",
      "-p",
      "pw",
    ]);
    expect(first.code, first.stderr).toBe(0);
    const r = await rnmu([
      "--database-url",
      db.url,
      "--server-name",
      "two.example",
      "--no-input",
      "-u",
      "frank",
      "-p",
      "pw",
    ]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe(
      'ERROR! this database belongs to server_name "one.example", but the configuration says "two.example"; ' +
        "user IDs cannot change, so use the original server_name\n",
    );
    expect(await readUser(db.config, "@frank:two.example")).toBeNull();
    expect(await readUser(db.config, "@frank:one.example")).toBeNull();
  });

  it.concurrent("a fresh database and no server name from anywhere: a clear error, exit 1", async () => {
    const db = await createTestDatabase(kind);
    const r = await rnmu(["--database-url", db.url, "--no-input", "-u", "gina", "-p", "pw"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("the server name is unknown");
    expect(r.stderr).toContain("--server-name");
  });
});

describe("--database-url that cannot be opened", () => {
  it("PostgreSQL refusing connections: one ERROR line, exit 1, no stack trace", async () => {
    const port = await closedPort();
    const r = await rnmu([
      "--database-url",
      `postgres://nobody@127.0.0.1:${port}/gatehouse`,
      "--server-name",
      "x.org",
      "--no-input",
      "-u",
      "a",
      "--password-file",
      writeTemp("pw", "pw"),
    ]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^ERROR! Cannot open the database: .*ECONNREFUSED.*\n$/);
    expect(r.stdout + r.stderr).not.toMatch(STACK_LINE);
  });

  it("SQLite in a directory that does not exist: one ERROR line, exit 1", async () => {
    const r = await rnmu([
      "--database-url",
      "sqlite:///nonexistent-gatehouse-dir/homeserver.db",
      "--server-name",
      "x.org",
      "--no-input",
      "-u",
      "a",
      "--password-file",
      writeTemp("pw", "pw"),
    ]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^ERROR! Cannot open the database: .+\n$/);
    expect(r.stdout + r.stderr).not.toMatch(STACK_LINE);
  });
});
