/**
 * How `gatehouse serve -c …` reads its configuration: several files and directories merged as Synapse merges them,
 * unknown keys as warnings naming file and key, and an invalid configuration reported whole (every problem, each with
 * its file and key path), exit 2, no stack trace.
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { CliResult } from "../helpers/cli.js";
import { STACK_LINE } from "../helpers/cli-tools.js";
import { tempDir } from "../helpers/databases.js";
import { registerShared } from "../helpers/register.js";
import { runRefusedServe, startServeInProcess } from "../cli/in-process.js";
import { SHARED_SECRET, writeConfigFile } from "../helpers/server.js";
import type { RawConfig } from "../../src/config/validate.js";

/** A start that is refused before anything serves, run in this process (it needs no process of its own). */
const serve = (args: string[]): Promise<CliResult> => runRefusedServe(args);

/**
 * A server that starts, run in this process as well: what these tests read (the `serving … on` line, the warnings,
 * the files written, the answers) is the same, and five concurrent starts cost no five Node start-ups.
 */
const spawnServer = (args: string[]) => startServeInProcess(args);

const TCP = [{ port: 0, bind_addresses: ["127.0.0.1"], type: "http", resources: [{ names: ["client"] }] }];

function baseConfig(dir: string, overrides: RawConfig = {}): RawConfig {
  return {
    server_name: "first.example",
    listeners: TCP,
    database: { name: "sqlite3", args: { database: join(dir, "first.db") } },
    registration_shared_secret: SHARED_SECRET,
    log_level: "warn",
    ...overrides,
  };
}

/** Starts `serve` with `args`, hands over its first output, and stops it. */
async function started(args: string[]): Promise<{ stdout: string; stderr: string; url: string }> {
  const server = await spawnServer(args);
  try {
    return { stdout: server.stdout(), stderr: server.stderr(), url: server.url };
  } finally {
    expect(await server.stop()).toBe(0);
  }
}

describe.concurrent("several -c files", () => {
  it("later files replace earlier top-level keys whole (lists and mappings are not merged)", async () => {
    const dir = tempDir();
    const socket = join(dir, "first.sock");
    const first = writeConfigFile(
      baseConfig(dir, {
        listeners: [{ path: socket, type: "http", resources: [{ names: ["client"] }] }],
        database: { name: "psycopg2", args: { user: "nobody", host: "127.0.0.1", dbname: "nothing" } },
        password_config: { policy: { enabled: true, minimum_length: 40 } },
      }),
      dir,
      "first.yaml",
    );
    const second = writeConfigFile(
      {
        server_name: "second.example",
        listeners: TCP,
        database: { name: "sqlite3", args: { database: join(dir, "second.db") } },
        password_config: { algorithm: "bcrypt" },
      },
      dir,
      "second.yaml",
    );
    const server = await spawnServer(["-c", first, "-c", second]);
    try {
      // server_name and listeners from the second file; nothing of the first file's socket listener is left.
      expect(server.stdout()).toMatch(/serving second\.example on http:\/\/127\.0\.0\.1:\d+\n/);
      expect(server.stdout()).not.toContain("unix:");
      expect(existsSync(socket)).toBe(false);
      // database replaced whole: a deep merge would have left psycopg2's user/host/dbname in sqlite3's args.
      expect(server.stderr()).not.toContain("warning");
      expect(existsSync(join(dir, "second.db"))).toBe(true);
      // password_config replaced whole: the first file's 40-character minimum is gone.
      const r = await registerShared(server.url, { username: "short", password: "short" });
      expect(r.status, r.text).toBe(200);
    } finally {
      await server.stop();
    }
  });

  it("in the other order, the other file wins", async () => {
    // A fresh database each time: the first start records its server_name.
    const pair = () => {
      const dir = tempDir();
      return [
        writeConfigFile(baseConfig(dir), dir, "first.yaml"),
        writeConfigFile({ server_name: "second.example" }, dir, "second.yaml"),
      ];
    };
    const [first1, second1] = pair();
    expect((await started(["-c", second1!, "-c", first1!])).stdout).toContain("serving first.example on");
    const [first2, second2] = pair();
    expect((await started(["-c", first2!, "-c", second2!])).stdout).toContain("serving second.example on");
  });
});

describe.concurrent("a -c directory", () => {
  it("reads its *.yaml files in name order (later wins) and nothing else", async () => {
    const dir = tempDir();
    const conf = join(dir, "conf.d");
    mkdirSync(conf);
    writeConfigFile(baseConfig(dir), conf, "10-base.yaml");
    writeConfigFile({ server_name: "twenty.example" }, conf, "20-name.yaml");
    // Name order, not number order: "9-…" comes after "20-…".
    writeConfigFile({ server_name: "nine.example" }, conf, "9-last.yaml");
    // Not *.yaml: ignored, even though neither would load.
    writeFileSync(join(conf, "30-other.yml"), "server_name: [unclosed\n");
    writeFileSync(join(conf, "README"), "not: [yaml\n");
    const r = await started(["-c", conf]);
    expect(r.stdout).toContain("serving nine.example on");
    expect(r.stderr).toBe("");
  });

  it("can be combined with files; a file after the directory overrides it", async () => {
    const setup = () => {
      const dir = tempDir();
      const conf = join(dir, "conf.d");
      mkdirSync(conf);
      writeConfigFile(baseConfig(dir), conf, "base.yaml");
      return { conf, after: writeConfigFile({ server_name: "after.example" }, dir, "after.yaml") };
    };
    const a = setup();
    expect((await started(["-c", a.conf, "-c", a.after])).stdout).toContain("serving after.example on");
    const b = setup();
    expect((await started(["-c", b.after, "-c", b.conf])).stdout).toContain("serving first.example on");
  });

  it("a directory with no *.yaml files is worth a warning", async () => {
    const dir = tempDir();
    const empty = join(dir, "empty.d");
    mkdirSync(empty);
    const base = writeConfigFile(baseConfig(dir), dir, "base.yaml");
    const r = await started(["-c", base, "-c", empty]);
    expect(r.stderr).toContain(`warning: ${empty}: (directory): holds no *.yaml files`);
  });
});

describe.concurrent("unknown keys", () => {
  it("are warnings naming the file the key came from and the key's full path; the server still starts", async () => {
    const dir = tempDir();
    const base = writeConfigFile(baseConfig(dir), dir, "base.yaml");
    const extra = writeConfigFile(
      {
        frobnicate: true,
        listeners: [{ ...TCP[0], colour: "blue", resources: [{ names: ["client"], shade: 1 }] }],
        password_config: { policy: { minimum_lenght: 3 } },
      },
      dir,
      "extra.yaml",
    );
    const r = await started(["-c", base, "-c", extra]);
    expect(r.stdout).toContain("serving first.example on");
    const warnings = r.stderr.trim().split("\n").sort();
    expect(warnings).toEqual(
      [
        `warning: ${extra}: frobnicate: unknown key, ignored`,
        `warning: ${extra}: listeners[0].colour: unknown key, ignored`,
        `warning: ${extra}: listeners[0].resources[0].shade: unknown key, ignored`,
        `warning: ${extra}: password_config.policy.minimum_lenght: unknown key, ignored`,
      ].sort(),
    );
  });

  it("a Synapse homeserver.yaml's keys that Gatehouse does not use are warnings too, not errors", async () => {
    const dir = tempDir();
    const config = writeConfigFile(
      baseConfig(dir, {
        report_stats: false,
        federation_domain_whitelist: ["matrix.org"],
        trusted_key_servers: [{ server_name: "matrix.org" }],
        // Synapse's signing-key keys are Gatehouse's too (test/config/signing-key.test.ts): no warning.
        old_signing_keys: {},
        key_refresh_interval: "1d",
      }),
      dir,
    );
    const r = await started(["-c", config]);
    for (const key of ["report_stats", "federation_domain_whitelist", "trusted_key_servers"]) {
      expect(r.stderr).toContain(`warning: ${config}: ${key}: unknown key, ignored`);
    }
    expect(r.stderr).not.toContain("signing");
    expect(r.stderr).not.toContain("key_refresh_interval");
  });
});

describe.concurrent("an invalid configuration", () => {
  it("lists every problem, each with its file and key path; exit 2; no stack trace; nothing started", async () => {
    const dir = tempDir();
    const first = writeConfigFile(
      {
        server_name: "not a name!",
        listeners: [{ port: "eighty", type: "http", resources: [{ names: "client" }] }],
        database: { name: "sqlite3", args: { database: join(dir, "never.db") } },
      },
      dir,
      "first.yaml",
    );
    const second = writeConfigFile(
      { bcrypt_rounds: 2, log_level: "loud", password_config: { algorithm: "md5", policy: { minimum_length: -1 } } },
      dir,
      "second.yaml",
    );
    const r = await serve(["-c", first, "-c", second]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr + r.stdout).not.toMatch(STACK_LINE);
    const lines = r.stderr.trimEnd().split("\n");
    expect(lines[0]).toBe("error: the configuration is not valid:");
    expect(lines.slice(1).sort()).toEqual(
      [
        `  ${first}: server_name: is not a valid server name: "not a name!"`,
        `  ${first}: listeners[0].port: must be a whole number (got "eighty")`,
        `  ${first}: listeners[0].resources[0].names: must be a list of resource names (client, federation, ...)`,
        `  ${second}: bcrypt_rounds: must be between 4 and 31 (got 2)`,
        `  ${second}: log_level: must be one of trace, debug, info, warn, error, fatal, silent`,
        `  ${second}: password_config.algorithm: must be argon2id or bcrypt (got "md5")`,
        `  ${second}: password_config.policy.minimum_length: must be between 0 and 512 (got -1)`,
      ].sort(),
    );
    expect(existsSync(join(dir, "never.db"))).toBe(false);
  });

  it("missing required keys name the file they are missing from", async () => {
    const dir = tempDir();
    const empty = join(dir, "empty.yaml");
    writeFileSync(empty, "# nothing here yet\n");
    const r = await serve(["-c", empty]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`  ${empty}: server_name: is required`);
    expect(r.stderr).toContain(`  ${empty}: database: is required`);
    expect(r.stderr).not.toContain("<config>");
  });

  it("YAML that does not parse: the file and the line, for every broken file", async () => {
    const dir = tempDir();
    const broken = join(dir, "broken.yaml");
    writeFileSync(broken, "server_name: example.org\nlisteners: [\n");
    const dup = join(dir, "dup.yaml");
    writeFileSync(dup, "a: 1\nb: 2\na: 3\n");
    const list = join(dir, "list.yaml");
    writeFileSync(list, "- server_name: example.org\n");
    const r = await serve(["-c", broken, "-c", dup, "-c", list]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`  ${broken}: line \\d+: not valid YAML: .+\\n`));
    expect(r.stderr).toContain(`  ${dup}: line 3: not valid YAML: Map keys must be unique\n`);
    expect(r.stderr).toContain(`  ${list}: (file): does not hold a mapping of keys to values\n`);
    expect(r.stderr).not.toMatch(STACK_LINE);
  });

  it("a -c path that does not exist: exit 2, the path named", async () => {
    const missing = join(tempDir(), "nowhere.yaml");
    const r = await serve(["-c", missing]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`  ${missing}: (file): cannot read: no such file`);
  });

  it("the shared secret: missing file, empty file, a directory, or both keys set: exit 2, each named", async () => {
    const dir = tempDir();
    const emptySecret = join(dir, "empty-secret");
    writeFileSync(emptySecret, "\n", { mode: 0o600 });
    const secretFile = join(dir, "secret");
    writeFileSync(secretFile, "s3cret\n", { mode: 0o600 });
    const cases: [string, RawConfig, RegExp][] = [
      [
        "missing",
        { registration_shared_secret_path: join(dir, "absent") },
        /registration_shared_secret_path: cannot read .*absent: no such file/,
      ],
      [
        "empty",
        { registration_shared_secret_path: emptySecret },
        /registration_shared_secret_path: the secret file .*empty-secret is empty/,
      ],
      [
        "a directory",
        { registration_shared_secret_path: dir },
        /registration_shared_secret_path: cannot read .*: is a directory/,
      ],
      [
        "both",
        { registration_shared_secret_path: secretFile },
        /registration_shared_secret_path: registration_shared_secret and registration_shared_secret_path are both set/,
      ],
    ];
    for (const [what, overrides, message] of cases) {
      const raw = baseConfig(dir, overrides);
      if (what !== "both") delete raw.registration_shared_secret;
      const config = writeConfigFile(raw, dir, `${what.replace(" ", "-")}.yaml`);
      const r = await serve(["-c", config]);
      expect(r.code, `${what}: ${r.stderr}`).toBe(2);
      expect(r.stderr, what).toMatch(message);
      expect(r.stderr).toContain(`  ${config}: registration_shared_secret_path: `);
      expect(r.stderr).not.toMatch(STACK_LINE);
    }
  });
});
