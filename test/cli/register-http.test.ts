/**
 * `register_new_matrix_user` (in this process: test/cli/in-process.ts) against a running `gatehouse serve` (built):
 * Synapse's output and exit codes, the flags, piped answers, the secret and URL taken from `-c`, and `--print-token`.
 */
import { mkdirSync } from "node:fs";
import { userInfo } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashToken } from "../../src/accounts/tokens.js";
import type { CliResult } from "../helpers/cli.js";
import {
  cliConfigFor,
  passwordMatches,
  readUser,
  serveFixture,
  sleep,
  STACK_LINE,
  withStores,
  writeTemp,
  type ServeFixture,
} from "../helpers/cli-tools.js";
import { createTestDatabase, tempDir, type TestDatabase } from "../helpers/databases.js";
import { call } from "../helpers/http.js";
import { SHARED_SECRET, writeConfigFile } from "../helpers/server.js";
import { runGatehouse, runRegisterNewMatrixUser } from "./in-process.js";

const rnmu = (args: string[], options: { stdin?: string } = {}): Promise<CliResult> =>
  runRegisterNewMatrixUser(args, options);

const SUCCESS = "Sending registration request...\nSuccess!\n";
const P_WARNING = /^warning: a password given with -p can be read by other users from the process list/;

let db: TestDatabase;
let fx: ServeFixture;
let pwFile: string;

beforeAll(async () => {
  db = await createTestDatabase("sqlite");
  fx = await serveFixture(db);
  pwFile = writeTemp("password", "  from-file \n");
});
afterAll(async () => {
  const code = await fx.stop();
  expect(code).toBe(0);
});

const uid = (localpart: string) => `@${localpart}:localhost`;

describe.concurrent("flags", () => {
  it("creates an ordinary user: Synapse's two lines on stdout, nothing on stderr, exit 0", async () => {
    const r = await rnmu(["-k", SHARED_SECRET, "-u", "alice", "--password-file", pwFile, "--no-admin", fx.url]);
    expect(r).toEqual({ code: 0, stdout: SUCCESS, stderr: "" });
    const user = await readUser(db.config, uid("alice"));
    expect(user?.admin).toBe(false);
    expect(user?.userType).toBeNull();
    // The file's surrounding whitespace is not part of the password.
    expect(await passwordMatches(db.config, uid("alice"), "from-file")).toBe(true);
    expect(await passwordMatches(db.config, uid("alice"), "  from-file ")).toBe(false);
  });

  it("-a and --admin make an admin", async () => {
    for (const [flag, name] of [
      ["-a", "admin1"],
      ["--admin", "admin2"],
    ] as const) {
      const r = await rnmu(["-k", SHARED_SECRET, "-u", name, "--password-file", pwFile, flag, fx.url]);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect((await readUser(db.config, uid(name)))?.admin).toBe(true);
    }
  });

  it("-t / --user_type set the user type", async () => {
    for (const [flag, type, name] of [
      ["-t", "bot", "botty"],
      ["--user_type", "support", "helper"],
    ] as const) {
      const r = await rnmu([
        "-k",
        SHARED_SECRET,
        "-u",
        name,
        "--password-file",
        pwFile,
        "--no-admin",
        flag,
        type,
        fx.url,
      ]);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect((await readUser(db.config, uid(name)))?.userType).toBe(type);
    }
  });

  it("an unknown user type is the server's 400, exit 1", async () => {
    const r = await rnmu([
      "-k",
      SHARED_SECRET,
      "-u",
      "typo",
      "--password-file",
      pwFile,
      "--no-admin",
      "-t",
      "robot",
      fx.url,
    ]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("Sending registration request...\nERROR! Received 400 Bad Request\nInvalid user type\n");
    expect(await readUser(db.config, uid("typo"))).toBeNull();
  });

  it("the localpart is lower-cased by the server, as in Synapse", async () => {
    const r = await rnmu(["-k", SHARED_SECRET, "-u", "MiXeD", "--password-file", pwFile, "--no-admin", fx.url]);
    expect(r.code).toBe(0);
    expect(await readUser(db.config, uid("mixed"))).not.toBeNull();
  });

  it("-p works and warns on stderr that the password is visible to others", async () => {
    const r = await rnmu(["-k", SHARED_SECRET, "-u", "pflag", "-p", "on-the-command-line", "--no-admin", fx.url]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(SUCCESS);
    const lines = r.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(P_WARNING);
    expect(r.stderr).toMatch(/--password-file/);
    expect(await passwordMatches(db.config, uid("pflag"), "on-the-command-line")).toBe(true);
  });

  it("--password-file - reads the password from standard input, without prompting", async () => {
    const r = await rnmu(["-k", SHARED_SECRET, "-u", "stdinpw", "--password-file", "-", "--no-admin", fx.url], {
      stdin: "from stdin\n",
    });
    expect(r).toEqual({ code: 0, stdout: SUCCESS, stderr: "" });
    expect(await passwordMatches(db.config, uid("stdinpw"), "from stdin")).toBe(true);
  });

  it("a trailing slash on the server URL is fine", async () => {
    const r = await rnmu(["-k", SHARED_SECRET, "-u", "slash", "--password-file", pwFile, "--no-admin", `${fx.url}/`]);
    expect(r.code, r.stdout).toBe(0);
  });

  it("gatehouse register-user is the same command", async () => {
    const r = await runGatehouse([
      "register-user",
      "-k",
      SHARED_SECRET,
      "-u",
      "viagatehouse",
      "--password-file",
      pwFile,
      "-a",
      fx.url,
    ]);
    expect(r).toEqual({ code: 0, stdout: SUCCESS, stderr: "" });
    expect((await readUser(db.config, uid("viagatehouse")))?.admin).toBe(true);
  });
});

describe.concurrent("failures reported by the server", () => {
  it("a taken user ID: Synapse's two ERROR lines, exit 1, the account untouched", async () => {
    const first = await rnmu(["-k", SHARED_SECRET, "-u", "taken", "--password-file", pwFile, "--no-admin", fx.url]);
    expect(first.code).toBe(0);
    const r = await rnmu(["-k", SHARED_SECRET, "-u", "taken", "-p", "another", "-a", fx.url]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("Sending registration request...\nERROR! Received 400 Bad Request\nUser ID already taken.\n");
    expect(r.stdout + r.stderr).not.toMatch(STACK_LINE);
    expect((await readUser(db.config, uid("taken")))?.admin).toBe(false);
  });

  it("--exists-ok: 'User already exists. Skipping.', exit 0, and the existing account is not changed", async () => {
    await rnmu(["-k", SHARED_SECRET, "-u", "existing", "--password-file", pwFile, "--no-admin", fx.url]);
    const r = await rnmu(["-k", SHARED_SECRET, "-u", "existing", "-p", "new-password", "-a", "--exists-ok", fx.url]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("Sending registration request...\nUser already exists. Skipping.\n");
    const user = await readUser(db.config, uid("existing"));
    expect(user?.admin).toBe(false);
    expect(await passwordMatches(db.config, uid("existing"), "from-file")).toBe(true);
    expect(await passwordMatches(db.config, uid("existing"), "new-password")).toBe(false);
  });

  it("--exists-ok still creates a user that does not exist", async () => {
    const r = await rnmu([
      "-k",
      SHARED_SECRET,
      "-u",
      "fresh",
      "--password-file",
      pwFile,
      "--no-admin",
      "--exists-ok",
      fx.url,
    ]);
    expect(r).toEqual({ code: 0, stdout: SUCCESS, stderr: "" });
    expect(await readUser(db.config, uid("fresh"))).not.toBeNull();
  });

  it("--exists-ok does not hide other failures", async () => {
    const r = await rnmu([
      "-k",
      "wrong secret",
      "-u",
      "existing",
      "--password-file",
      pwFile,
      "--no-admin",
      "--exists-ok",
      fx.url,
    ]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("ERROR! Received 403 Forbidden\nHMAC incorrect\n");
  });

  it("a wrong secret: 'ERROR! Received 403 Forbidden' and 'HMAC incorrect', exit 1, no account", async () => {
    const r = await rnmu(["-k", "not the secret", "-u", "intruder", "--password-file", pwFile, "-a", fx.url]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("Sending registration request...\nERROR! Received 403 Forbidden\nHMAC incorrect\n");
    expect(await readUser(db.config, uid("intruder"))).toBeNull();
  });
});

describe.concurrent("answers piped on standard input (not a terminal)", () => {
  const me = userInfo().username;

  it("asks Synapse's questions in Synapse's order and uses the answers", async () => {
    const r = await rnmu(["-k", SHARED_SECRET, fx.url], { stdin: "Piped\npiped-pw\npiped-pw\nyes\n" });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(
      `New user localpart [${me}]: \nPassword: \nConfirm password: \nMake admin [no]: \n` + SUCCESS,
    );
    expect(r.stdout).not.toContain("piped-pw");
    const user = await readUser(db.config, uid("piped"));
    expect(user?.admin).toBe(true);
    expect(await passwordMatches(db.config, uid("piped"), "piped-pw")).toBe(true);
  });

  it("an empty localpart answer takes the login name offered in brackets", async () => {
    const r = await rnmu(["-k", SHARED_SECRET, "--no-admin", fx.url], { stdin: "\npw\npw\n" });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(await readUser(db.config, uid(me.toLowerCase()))).not.toBeNull();
  });

  // Synapse: admin iff the answer is exactly y, yes or true; case matters.
  const adminAnswers: [string, boolean][] = [
    ["yes", true],
    ["y", true],
    ["true", true],
    ["Y", false],
    ["Yes", false],
    ["TRUE", false],
    ["no", false],
    ["", false],
  ];
  for (const [i, [answer, admin]] of adminAnswers.entries()) {
    it(`'Make admin [no]: ' answered ${JSON.stringify(answer)} gives admin=${admin}`, async () => {
      const name = `answer${i}`;
      const r = await rnmu(["-k", SHARED_SECRET, "-u", name, "--password-file", pwFile, fx.url], {
        stdin: `${answer}\n`,
      });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toBe("Make admin [no]: \n" + SUCCESS);
      expect((await readUser(db.config, uid(name)))?.admin).toBe(admin);
    });
  }

  it("a different confirmation: 'Passwords do not match', exit 1, no account", async () => {
    const r = await rnmu(["-k", SHARED_SECRET, "-u", "mismatch", "--no-admin", fx.url], { stdin: "one\ntwo\n" });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("Password: \nConfirm password: \nPasswords do not match\n");
    expect(await readUser(db.config, uid("mismatch"))).toBeNull();
  });

  it("a blank password: 'Password cannot be blank.', exit 1, no confirmation asked", async () => {
    const r = await rnmu(["-k", SHARED_SECRET, "-u", "blank", "--no-admin", fx.url], { stdin: "\n\n" });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("Password: \nPassword cannot be blank.\n");
    expect(await readUser(db.config, uid("blank"))).toBeNull();
  });

  it("an empty --password-file falls through to the prompt, as in Synapse", async () => {
    const empty = writeTemp("empty-password", "\n");
    const r = await rnmu(["-k", SHARED_SECRET, "-u", "emptyfile", "--password-file", empty, "--no-admin", fx.url], {
      stdin: "prompted\nprompted\n",
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe("Password: \nConfirm password: \n" + SUCCESS);
    expect(await passwordMatches(db.config, uid("emptyfile"), "prompted")).toBe(true);
  });

  it("--no-input asks nothing and reads nothing from stdin; without -a the user is not an admin", async () => {
    const r = await rnmu(["-k", SHARED_SECRET, "-u", "noinput", "--password-file", pwFile, "--no-input", fx.url], {
      stdin: "yes\n",
    });
    expect(r).toEqual({ code: 0, stdout: SUCCESS, stderr: "" });
    expect((await readUser(db.config, uid("noinput")))?.admin).toBe(false);
  });
});

describe("--print-token", () => {
  it("prints the token alone on stdout (progress on stderr) and the token works", async () => {
    const r = await rnmu([
      "-k",
      SHARED_SECRET,
      "-u",
      "tokened",
      "--password-file",
      pwFile,
      "-a",
      "--no-input",
      "--print-token",
      fx.url,
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^syt_[A-Za-z0-9_]+\n$/);
    expect(r.stderr).toBe(SUCCESS);
    const token = r.stdout.trim();
    const who = await call(fx.url, "GET", "/_matrix/client/v3/account/whoami", { token });
    expect(who.status).toBe(200);
    expect(who.body.user_id).toBe(uid("tokened"));
    // Without --token-validity the token does not expire.
    const row = await withStores(db.config, (s) => s.accessTokens.getByHash(hashToken(token)));
    expect(row?.validUntilMs).toBeNull();
  });

  it("--token-validity DAYS: the token works, then expires", async () => {
    const days = 0.0001; // 8.64 seconds
    const started = Date.now();
    const r = await rnmu([
      "-k",
      SHARED_SECRET,
      "-u",
      "shortlived",
      "--password-file",
      pwFile,
      "--no-admin",
      "--no-input",
      "--print-token",
      "--token-validity",
      String(days),
      fx.url,
    ]);
    expect(r.code, r.stderr).toBe(0);
    const token = r.stdout.trim();
    const row = await withStores(db.config, (s) => s.accessTokens.getByHash(hashToken(token)));
    const lifetime = days * 86_400_000;
    expect(row?.validUntilMs).toBeGreaterThanOrEqual(started + lifetime);
    expect(row?.validUntilMs).toBeLessThanOrEqual(Date.now() + lifetime);
    expect((await call(fx.url, "GET", "/_matrix/client/v3/account/whoami", { token })).status).toBe(200);
    await sleep(Math.max(0, row!.validUntilMs! - Date.now()) + 300);
    const expired = await call(fx.url, "GET", "/_matrix/client/v3/account/whoami", { token });
    expect(expired.status).toBe(401);
    expect(expired.body.errcode).toBe("M_UNKNOWN_TOKEN");
  });

  it("with --exists-ok and a taken user: nothing on stdout, exit 0", async () => {
    await rnmu(["-k", SHARED_SECRET, "-u", "tokentaken", "--password-file", pwFile, "--no-admin", fx.url]);
    const r = await rnmu([
      "-k",
      SHARED_SECRET,
      "-u",
      "tokentaken",
      "--password-file",
      pwFile,
      "--no-admin",
      "--no-input",
      "--print-token",
      "--exists-ok",
      fx.url,
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain("User already exists. Skipping.");
  });
});

describe.concurrent("-c: the secret and the server's address from the config", () => {
  it("finds the first plain-HTTP client listener and reads the inline secret", async () => {
    const config = cliConfigFor(fx);
    const r = await rnmu(["-c", config, "-u", "fromconfig", "--password-file", pwFile, "--no-admin"]);
    expect(r).toEqual({ code: 0, stdout: SUCCESS, stderr: "" });
    expect(await readUser(db.config, uid("fromconfig"))).not.toBeNull();
  });

  it("skips TLS listeners, other types and listeners without 'client' to reach the right one", async () => {
    const port = Number(new URL(fx.url).port);
    const config = cliConfigFor(fx, [
      { port: 1, bind_addresses: ["127.0.0.1"], type: "http", tls: true, resources: [{ names: ["client"] }] },
      { port: 2, bind_addresses: ["127.0.0.1"], type: "metrics", resources: [{ names: ["client"] }] },
      { port: 3, bind_addresses: ["127.0.0.1"], type: "http", resources: [{ names: ["federation"] }] },
      { port, bind_addresses: ["127.0.0.1"], type: "http", resources: [{ names: ["federation", "client"] }] },
    ]);
    // The TLS listener makes the config need a certificate to validate; this test is about discovery only.
    const r = await rnmu([
      "-c",
      config,
      "--no-verify-config",
      "-u",
      "skipper",
      "--password-file",
      pwFile,
      "--no-admin",
    ]);
    expect(r).toEqual({ code: 0, stdout: SUCCESS, stderr: "" });
  });

  it("the positional server_url wins over the config's listener", async () => {
    const config = cliConfigFor(fx, [
      { port: 1, bind_addresses: ["127.0.0.1"], type: "http", resources: [{ names: ["client"] }] },
    ]);
    const r = await rnmu(["-c", config, "-u", "positional", "--password-file", pwFile, "--no-admin", fx.url]);
    expect(r.code, r.stdout).toBe(0);
  });

  it("-c may be repeated: the secret can come from a second file", async () => {
    const dir = tempDir();
    const { registration_shared_secret: _secret, ...rest } = fx.raw;
    const port = Number(new URL(fx.url).port);
    const base = writeConfigFile(
      {
        ...rest,
        listeners: [{ port, bind_addresses: ["127.0.0.1"], type: "http", resources: [{ names: ["client"] }] }],
      },
      dir,
      "base.yaml",
    );
    const secret = writeConfigFile({ registration_shared_secret: SHARED_SECRET }, dir, "secret.yaml");
    const r = await rnmu(["-c", base, "-c", secret, "-u", "twofiles", "--password-file", pwFile, "--no-admin"]);
    expect(r).toEqual({ code: 0, stdout: SUCCESS, stderr: "" });
    // Alone, the first file has no secret.
    const alone = await rnmu(["-c", base, "-u", "twofiles2", "--password-file", pwFile, "--no-admin"]);
    expect(alone.code).toBe(1);
    expect(alone.stderr).toContain(
      "No 'registration_shared_secret' or 'registration_shared_secret_path' defined in config.",
    );
  });

  it("-c may name a directory: its *.yaml files in name order", async () => {
    const dir = join(tempDir(), "conf.d");
    mkdirSync(dir);
    const port = Number(new URL(fx.url).port);
    const { registration_shared_secret: _secret, ...rest } = fx.raw;
    writeConfigFile(
      { ...rest, listeners: [{ port: 1, type: "http", resources: [{ names: ["client"] }] }] },
      dir,
      "10-base.yaml",
    );
    writeConfigFile({ registration_shared_secret: "a stale secret" }, dir, "20-secret.yaml");
    // Sorted by name, "30-…" comes last and wins both keys.
    writeConfigFile(
      {
        registration_shared_secret: SHARED_SECRET,
        listeners: [{ port, bind_addresses: ["127.0.0.1"], type: "http", resources: [{ names: ["client"] }] }],
      },
      dir,
      "30-local.yaml",
    );
    const r = await rnmu(["-c", dir, "-u", "fromdir", "--password-file", pwFile, "--no-admin"]);
    expect(r).toEqual({ code: 0, stdout: SUCCESS, stderr: "" });
  });

  it("reads the secret from registration_shared_secret_path, and warns if that file is readable by others", async () => {
    const { registration_shared_secret: _secret, ...rest } = fx.raw;
    const secretFile = writeTemp("secret", `${SHARED_SECRET}\n`, 0o600);
    const port = Number(new URL(fx.url).port);
    const config = writeConfigFile({
      ...rest,
      listeners: [{ port, bind_addresses: ["127.0.0.1"], type: "http", resources: [{ names: ["client"] }] }],
      registration_shared_secret_path: secretFile,
    });
    const quiet = await rnmu(["-c", config, "-u", "secretfile", "--password-file", pwFile, "--no-admin"]);
    expect(quiet).toEqual({ code: 0, stdout: SUCCESS, stderr: "" });

    const loose = writeTemp("secret", `${SHARED_SECRET}\n`, 0o644);
    const looseConfig = writeConfigFile({
      ...rest,
      listeners: [{ port, bind_addresses: ["127.0.0.1"], type: "http", resources: [{ names: ["client"] }] }],
      registration_shared_secret_path: loose,
    });
    const warned = await rnmu(["-c", looseConfig, "-u", "secretfile2", "--password-file", pwFile, "--no-admin"]);
    expect(warned.code).toBe(0);
    expect(warned.stderr).toBe(`warning: ${loose} is readable by group or others; run: chmod 600 ${loose}\n`);
  });

  it("a config that fails validation: every problem listed, exit 1; --no-verify-config reads only what it needs", async () => {
    const port = Number(new URL(fx.url).port);
    const config = writeConfigFile({
      ...fx.raw,
      listeners: [{ port, bind_addresses: ["127.0.0.1"], type: "http", resources: [{ names: ["client"] }] }],
      bcrypt_rounds: 2,
      log_level: "loud",
    });
    const r = await rnmu(["-c", config, "-u", "unverified", "--password-file", pwFile, "--no-admin"]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain("error: the configuration is not valid:");
    expect(r.stderr).toContain(`${config}: bcrypt_rounds: must be between 4 and 31 (got 2)`);
    expect(r.stderr).toContain(`${config}: log_level: must be one of`);
    expect(r.stderr).not.toMatch(STACK_LINE);
    expect(await readUser(db.config, uid("unverified"))).toBeNull();

    const skipped = await rnmu([
      "-c",
      config,
      "--no-verify-config",
      "-u",
      "unverified",
      "--password-file",
      pwFile,
      "--no-admin",
    ]);
    expect(skipped).toEqual({ code: 0, stdout: SUCCESS, stderr: "" });
  });

  it("a UNIX-socket listener is reached through its socket", async () => {
    const sockDb = await createTestDatabase("sqlite");
    const dir = tempDir("gh-sock-");
    const socket = join(dir, "client.sock");
    const sockFx = await serveFixture(sockDb, {
      listeners: [{ path: socket, type: "http", resources: [{ names: ["client"] }] }],
    });
    try {
      expect(sockFx.url).toBe(`unix:${socket}`);
      const r = await rnmu(["-c", sockFx.configPath, "-u", "oversocket", "--password-file", pwFile, "-a"]);
      expect(r).toEqual({ code: 0, stdout: SUCCESS, stderr: "" });
      expect((await readUser(sockDb.config, uid("oversocket")))?.admin).toBe(true);
    } finally {
      await sockFx.stop();
    }
  });

  it("a UNIX socket nobody listens on: one ERROR line, exit 1", async () => {
    const dir = tempDir("gh-sock-");
    mkdirSync(join(dir, "sub"));
    const config = writeConfigFile({
      ...fx.raw,
      listeners: [{ path: join(dir, "sub", "nobody.sock"), type: "http", resources: [{ names: ["client"] }] }],
    });
    const r = await rnmu(["-c", config, "-u", "nobody", "--password-file", pwFile, "--no-admin"]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^ERROR! Could not reach unix:.*nobody\.sock: ENOENT \(is the server running\?\)\n$/);
    expect(r.stderr).not.toMatch(STACK_LINE);
  });
});

describe.concurrent("where the server is, when nothing says", () => {
  // These stop at the missing localpart (--no-input without -u), after the address is settled and before anything
  // is sent, so whatever listens on localhost:8008 on this machine cannot change the outcome.
  it("only TLS listeners in the config: Synapse's 'Unable to find a suitable HTTP listener' message", async () => {
    const config = writeConfigFile({
      ...fx.raw,
      listeners: [{ port: 8448, type: "http", tls: true, resources: [{ names: ["client"] }] }],
      tls_certificate_path: "/nonexistent/cert.pem",
      tls_private_key_path: "/nonexistent/key.pem",
    });
    const r = await rnmu(["-c", config, "--no-input", "--password-file", pwFile]);
    expect(r.stderr).toContain(
      "Unable to find a suitable HTTP listener in the configuration file. Trying http://localhost:8008 as a last resort.\n",
    );
    expect(r.code).toBe(1);
  });

  it("no listeners at all: the same message", async () => {
    const config = writeConfigFile({ ...fx.raw, listeners: [] });
    const r = await rnmu(["-c", config, "--no-input", "--password-file", pwFile]);
    expect(r.stderr).toContain("Unable to find a suitable HTTP listener in the configuration file.");
  });

  it("only -k: 'No server url or configuration file given. Defaulting to http://localhost:8008.'", async () => {
    const r = await rnmu(["-k", SHARED_SECRET, "--no-input", "--password-file", pwFile]);
    expect(r.stderr).toContain("No server url or configuration file given. Defaulting to http://localhost:8008.\n");
    expect(r.code).toBe(1);
  });

  it("with a listener found, neither message is printed", async () => {
    const r = await rnmu(["-c", cliConfigFor(fx), "--no-input", "--password-file", pwFile]);
    expect(r.stderr).not.toContain("Unable to find");
    expect(r.stderr).not.toContain("Defaulting to");
    expect(r.code).toBe(1);
  });
});
