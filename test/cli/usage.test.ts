/**
 * `register_new_matrix_user` and `gatehouse register-user` (the same code) refuse bad flag combinations as argparse
 * does in Synapse's script: a message on stderr, exit 2, before any prompt, file or network access.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CliResult } from "../helpers/cli.js";
import { STACK_LINE, startStandIn, writeTemp, type StandIn } from "../helpers/cli-tools.js";
import { tempDir } from "../helpers/databases.js";
import { SHARED_SECRET, writeConfigFile } from "../helpers/server.js";
import { runGatehouse, runRegisterNewMatrixUser } from "./in-process.js";

const PROGRAMS: { name: string; run: (args: string[], options?: { stdin?: string }) => Promise<CliResult> }[] = [
  { name: "register_new_matrix_user", run: (args, options) => runRegisterNewMatrixUser(args, options) },
  {
    name: "gatehouse register-user",
    run: (args, options) => runGatehouse(["register-user", ...args], options),
  },
];

/** Answers for every prompt, so a program that wrongly started asking would run on instead of stopping. */
const ANSWERS = "alice\npassword\npassword\nyes\n";

let standIn: StandIn;
let configPath: string;
let passwordFile: string;
let sqliteUrl: string;

beforeAll(async () => {
  // Anything that reaches the network lands here and is counted: no usage error may get that far.
  standIn = await startStandIn((_req, res) => {
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify({ nonce: "n" }));
  });
  configPath = writeConfigFile({
    server_name: "example.org",
    listeners: [
      {
        port: Number(new URL(standIn.url).port),
        bind_addresses: ["127.0.0.1"],
        type: "http",
        resources: [{ names: ["client"] }],
      },
    ],
    database: { name: "sqlite3", args: { database: join(tempDir(), "unused.db") } },
    registration_shared_secret: SHARED_SECRET,
  });
  passwordFile = writeTemp("password", "from-file\n");
  sqliteUrl = `sqlite://${join(tempDir(), "never-created.db")}`;
});
afterAll(() => standIn.close());

// Every case on Synapse's name for the program; the most common ones on `gatehouse register-user` too, to show it is
// the same command.
const SHARED_CASES = new Set([
  "neither -c nor -k (nor --database-url)",
  "-c with -k",
  "-a with --no-admin",
  "-p with --password-file",
  "--print-token without --no-input",
]);

for (const program of PROGRAMS) {
  const full = program.name === "register_new_matrix_user";
  describe.concurrent(program.name, () => {
    const usageCases: [string, () => string[], RegExp][] = [
      [
        "neither -c nor -k (nor --database-url)",
        () => ["-u", "alice"],
        /one of the arguments -c\/--config -k\/--shared-secret/,
      ],
      [
        "-c with -k",
        () => ["-c", configPath, "-k", "secret", "-u", "alice"],
        /-k\/--shared-secret: not allowed with argument -c\/--config/,
      ],
      [
        "-a with --no-admin",
        () => ["-k", "s", "-a", "--no-admin", standIn.url],
        /--no-admin: not allowed with argument -a\/--admin/,
      ],
      [
        "--no-admin with -a (other order)",
        () => ["-k", "s", "--no-admin", "-a", standIn.url],
        /not allowed with argument -a\/--admin/,
      ],
      ["--admin with --no-admin (long forms)", () => ["-k", "s", "--admin", "--no-admin", standIn.url], /not allowed/],
      [
        "-p with --password-file",
        () => ["-k", "s", "-p", "x", "--password-file", passwordFile, standIn.url],
        /cannot be used with/,
      ],
      [
        "--password-file with -p (other order)",
        () => ["-k", "s", "--password-file", passwordFile, "-p", "x", standIn.url],
        /cannot be used with/,
      ],
      [
        "--print-token without --no-input",
        () => ["-k", "s", "-u", "a", "-p", "x", "--no-admin", "--print-token", standIn.url],
        /--print-token needs --no-input/,
      ],
      [
        "--token-validity without --print-token",
        () => ["-k", "s", "--no-input", "-u", "a", "-p", "x", "--token-validity", "1", standIn.url],
        /--token-validity needs --print-token/,
      ],
      [
        "--token-validity 0",
        () => ["-k", "s", "--no-input", "--print-token", "--token-validity", "0", standIn.url],
        /--token-validity <days>.*'0' is invalid/,
      ],
      [
        "--token-validity -1",
        () => ["-k", "s", "--no-input", "--print-token", "--token-validity=-1", standIn.url],
        /'-1' is invalid/,
      ],
      [
        "--token-validity abc",
        () => ["-k", "s", "--no-input", "--print-token", "--token-validity", "abc", standIn.url],
        /'abc' is invalid/,
      ],
      [
        "a -c file that cannot be opened",
        () => ["-c", join(tempDir(), "missing.yaml"), "-u", "a"],
        /argument -c\/--config: can't open '.*missing\.yaml'/,
      ],
      [
        "an unknown --database-url scheme",
        () => ["--database-url", "mysql://db/x", "-u", "a", "-p", "x"],
        /argument --database-url: .*sqlite:\/\/ or postgres:\/\//,
      ],
      [
        "-k with --database-url",
        () => ["-k", "s", "--database-url", sqliteUrl, "-u", "a", "-p", "x"],
        /-k\/--shared-secret/,
      ],
      [
        "--server-name without --database-url",
        () => ["-k", "s", "--server-name", "example.org", standIn.url],
        /--server-name is only used with --database-url/,
      ],
      [
        "--no-verify-config with --database-url",
        () => ["--database-url", sqliteUrl, "-c", configPath, "--no-verify-config", "-u", "a", "-p", "x"],
        /--no-verify-config cannot be used with --database-url/,
      ],
      ["an unknown flag", () => ["-k", "s", "--frobnicate", standIn.url], /unknown option '--frobnicate'/],
      ["two server URLs", () => ["-k", "s", standIn.url, standIn.url], /too many arguments/],
      ["-u without its value", () => ["-k", "s", "-u"], /argument missing/],
    ];

    for (const [what, args, message] of usageCases) {
      if (!full && !SHARED_CASES.has(what)) continue;
      it(`${what}: exit 2, a message on stderr, nothing asked or sent`, async () => {
        const r = await program.run(args(), { stdin: ANSWERS });
        expect(r.code, r.stderr).toBe(2);
        expect(r.stderr).toMatch(message);
        expect(r.stderr).not.toMatch(STACK_LINE);
        // No prompt was shown and nothing was sent.
        expect(r.stdout).toBe("");
        expect(standIn.requests).toEqual([]);
      });
    }

    if (!full) return;

    it("--database-url usage errors create no database file", async () => {
      const r = await program.run(["-k", "s", "--database-url", sqliteUrl, "-u", "a", "-p", "x"]);
      expect(r.code).toBe(2);
      expect(existsSync(sqliteUrl.replace("sqlite://", ""))).toBe(false);
    });

    it("--help lists every Synapse flag and exits 0", async () => {
      const r = await program.run(["--help"]);
      expect(r.code).toBe(0);
      for (const flag of [
        "-u, --user",
        "-p, --password",
        "--password-file",
        "-t, --user_type",
        "-a, --admin",
        "--no-admin",
        "-c, --config",
        "-k, --shared-secret",
        "--exists-ok",
        "server_url",
        "--no-input",
        "--print-token",
        "--token-validity",
        "--database-url",
        "--no-verify-config",
      ]) {
        expect(r.stdout).toContain(flag);
      }
    });

    describe("--no-input", () => {
      it("without -u: exit 1 with a message, no prompt, nothing sent", async () => {
        const r = await program.run(["-k", "s", "--no-input", "--password-file", passwordFile, standIn.url], {
          stdin: ANSWERS,
        });
        expect(r.code).toBe(1);
        expect(r.stderr).toMatch(/--no-input needs the user's localpart \(-u\)/);
        expect(r.stdout).not.toContain("New user localpart");
        expect(standIn.requests).toEqual([]);
      });

      it("without a password: exit 1 with a message, no prompt, nothing sent", async () => {
        const r = await program.run(["-k", "s", "--no-input", "-u", "alice", standIn.url], { stdin: ANSWERS });
        expect(r.code).toBe(1);
        expect(r.stderr).toMatch(/--no-input needs a password/);
        expect(r.stdout).not.toContain("Password:");
        expect(standIn.requests).toEqual([]);
      });

      it("with an empty --password-file: exit 1, no prompt (an empty file does not count as a password)", async () => {
        const empty = writeTemp("empty", "  \n");
        const r = await program.run(["-k", "s", "--no-input", "-u", "alice", "--password-file", empty, standIn.url], {
          stdin: ANSWERS,
        });
        expect(r.code).toBe(1);
        expect(r.stderr).toMatch(/--no-input needs a password/);
        expect(r.stdout).not.toContain("Password:");
      });
    });

    it("--password-file naming a missing file: Synapse's 'Error accessing file', exit 1", async () => {
      const missing = join(tempDir(), "no-password-here");
      const r = await program.run(["-k", "s", "-u", "alice", "--password-file", missing, "--no-admin", standIn.url]);
      expect(r.code).toBe(1);
      expect(r.stderr.trim()).toBe(`Error accessing file ${missing}: no such file`);
    });
  });
}
