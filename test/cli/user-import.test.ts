/**
 * `runUserImport`, the runner behind `gatehouse user import`, through both importers (the database directly, a
 * running server over HTTP) on SQLite and PostgreSQL: the summary and exit codes, the generated-password file
 * (0600, appended to and never overwritten, written before the accounts exist), safe re-runs after an import that
 * stopped half-way, and the progress bar (on a terminal only; nothing on a pipe), the last as a real program.
 */
import { chmodSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AdminActor } from "../../src/accounts/audit.js";
import { createAccountsContext } from "../../src/accounts/context.js";
import type { RawConfig } from "../../src/config/validate.js";
import { databaseImporter, httpImporter, runUserImport, type Importer } from "../../src/cli/user-import.js";
import { createStores } from "../../src/db/stores.js";
import { loginRequest } from "../api/account-support.js";
import { closeAdminFixture, startAdminFixture, type AdminFixture } from "../admin/support.js";
import { ptyUnavailable, runInPty, stripTerminal } from "../helpers/cli-tools.js";
import { forEachDatabase, tempDir } from "../helpers/databases.js";
import { REPO, configFrom, rawConfigFor } from "../helpers/server.js";
import { runGatehouse } from "./in-process.js";

const GATEHOUSE = join(REPO, "dist/cli/gatehouse.js");
const SYNAPSE_HASH = "$2b$04$yEMxJvSR1Hm71ofdVTW89eDhlAVzO/FWg/DiQz/Cpd7aVBjK0v2CS";
const SYNAPSE_PASSWORD = "correct horse battery staple";
const CONFIG: RawConfig = { bcrypt_rounds: 4, password_config: { algorithm: "bcrypt" } };
const ACTOR: AdminActor = { userId: "cli:tester@host", deviceId: null, tokenHash: "", ip: "local" };

/** A stream that keeps what is written to it; a terminal when `tty`. */
class Capture extends Writable {
  text = "";
  isTTY: boolean;
  constructor(tty = false) {
    super();
    this.isTTY = tty;
  }
  override _write(chunk: Buffer, _enc: string, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

function csvFile(dir: string, name: string, lines: string[]): string {
  const file = join(dir, name);
  writeFileSync(file, lines.join("\n") + "\n");
  return file;
}

forEachDatabase((kind) => {
  let fx: AdminFixture;
  let importers: Record<"database" | "http", Importer>;
  beforeAll(async () => {
    fx = await startAdminFixture(kind, CONFIG);
    const ctx = createAccountsContext(configFrom(rawConfigFor(fx.db, CONFIG)), createStores(fx.look));
    importers = { database: databaseImporter(ctx, ACTOR), http: httpImporter(fx.url, fx.admin.token) };
  });
  afterAll(() => closeAdminFixture(fx));

  const exists = async (localpart: string) =>
    (await fx.as("GET", `/_synapse/admin/v2/users/${encodeURIComponent(`@${localpart}:localhost`)}`)).status === 200;

  for (const via of ["database", "http"] as const) {
    describe(`through the ${via} importer`, () => {
      const p = via === "database" ? "d" : "h";
      const run = async (file: string, options: Record<string, unknown> = {}, tty = false) => {
        const stdout = new Capture();
        const stderr = new Capture(tty);
        const code = await runUserImport(importers[via], { file, stdout, stderr, ...options });
        return { code, stdout: stdout.text, stderr: stderr.text };
      };

      it("imports a file, prints the summary and exits 0; nothing on stderr when it is not a terminal", async () => {
        const dir = tempDir();
        const file = csvFile(dir, "users.csv", [
          "username,password_hash,displayname,admin,email",
          `${p}-ann,${SYNAPSE_HASH},"Ann, the first",yes,${p}-ann@example.org`,
          `${p}-ben,${SYNAPSE_HASH},,,`,
        ]);
        const r = await run(file);
        expect(r).toEqual({
          code: 0,
          stdout: `Imported ${file}: 2 created, 0 updated, 0 skipped, 0 errors (2 rows)\n`,
          stderr: "",
        });
        expect((await loginRequest(fx.url, `${p}-ann`, SYNAPSE_PASSWORD)).status).toBe(200);
      });

      it("draws a progress bar on a terminal, and clears it before the summary", async () => {
        const dir = tempDir();
        const rows = Array.from({ length: 5 }, (_, i) => `${p}-bar${i},${SYNAPSE_HASH}`);
        const file = csvFile(dir, "bar.csv", ["username,password_hash", ...rows]);
        const r = await run(file, { batchSize: 2 }, true);
        expect(r.code).toBe(0);
        expect(r.stderr).toContain("\r[" + ".".repeat(30) + "] 0/5 rows");
        expect(r.stderr).toMatch(/\r\[#{12}\.{18}\] 2\/5 rows {2}[\d,]+ rows\/s {2}ETA \d+s/);
        expect(r.stderr).toContain(`\r[${"#".repeat(30)}] 5/5 rows`);
        expect(r.stderr.endsWith("\r\x1b[K")).toBe(true);
      });

      it("stops at a bad row with exit 1; fixed and re-run with skip, it creates nobody twice", async () => {
        const dir = tempDir();
        const good = (n: string) => `${p}-re${n},,`;
        const lines = ["username,password,password_hash", good("1"), good("2"), `${p}-re3,,md5:abc`, good("4")];
        const file = csvFile(dir, "half.csv", lines);
        const passwords = join(dir, "passwords.csv");
        const first = await run(file, { generatePasswords: passwords });
        expect(first.code).toBe(1);
        expect(first.stdout).toBe(
          `Imported ${file}: 2 created, 0 updated, 0 skipped, 1 error (4 rows)\n` +
            `  line 4: @${p}-re3:localhost: password_hash is not a bcrypt ($2a$, $2b$, $2y$) or argon2id ($argon2id$v=19$...) hash (M_INVALID_PARAM)\n` +
            "Stopped at line 4 (--on-conflict stop): the rows after it were not imported.\n" +
            `2 generated passwords written to ${passwords}\n`,
        );
        expect(statSync(passwords).mode & 0o777).toBe(0o600);
        expect([await exists(`${p}-re2`), await exists(`${p}-re3`), await exists(`${p}-re4`)]).toEqual([
          true,
          false,
          false,
        ]);
        const firstFile = readFileSync(passwords, "utf8");

        lines[3] = good("3");
        writeFileSync(file, lines.join("\n") + "\n");
        const again = await run(file, { generatePasswords: passwords, onConflict: "skip" });
        expect(again.code).toBe(0);
        expect(again.stdout).toContain("2 created, 0 updated, 2 skipped, 0 errors (4 rows)");
        const all = readFileSync(passwords, "utf8");
        // Appended, never overwritten: the first run's passwords are still there, and nobody got a second one.
        expect(all.startsWith(firstFile)).toBe(true);
        const entries = all
          .trim()
          .split("\n")
          .map((l) => l.split(","));
        expect(entries.map((e) => e[0])).toEqual([
          "user_id",
          `@${p}-re1:localhost`,
          `@${p}-re2:localhost`,
          `@${p}-re3:localhost`,
          `@${p}-re4:localhost`,
        ]);
        for (const [userId, password] of entries.slice(1)) {
          const localpart = userId!.slice(1, userId!.indexOf(":"));
          expect((await loginRequest(fx.url, localpart, password!)).status, userId).toBe(200);
        }
        // And a third run has nothing to do.
        const third = await run(file, { generatePasswords: passwords, onConflict: "skip" });
        expect(third.stdout).toContain("0 created, 0 updated, 4 skipped, 0 errors");
        expect(readFileSync(passwords, "utf8")).toBe(all);
      });

      it("without --generate-passwords a new account's row with no password is an error; a dry run writes nothing", async () => {
        const dir = tempDir();
        const file = csvFile(dir, "dry.csv", ["username,password", `${p}-dry1,`, `${p}-dry2,long enough pw`]);
        const passwords = join(dir, "never.csv");
        const dry = await run(file, { dryRun: true, generatePasswords: passwords, onConflict: "skip" });
        expect(dry).toEqual({
          code: 0,
          stdout: `Dry run of ${file}: 2 to create, 0 to update, 0 to skip, 0 errors (2 rows)\nDry run: nothing was written.\n`,
          stderr: "",
        });
        expect(() => statSync(passwords)).toThrow();
        const plain = await run(file, { onConflict: "skip" });
        expect(plain.code).toBe(1);
        expect(plain.stdout).toContain(
          `  line 2: @${p}-dry1:localhost: a new account needs a password or a password_hash (M_MISSING_PARAM)\n`,
        );
        expect([await exists(`${p}-dry1`), await exists(`${p}-dry2`)]).toEqual([false, true]);
      });

      it("reports duplicates across batches on the later line, and updates with --on-conflict update", async () => {
        const dir = tempDir();
        const file = csvFile(dir, "dup.csv", [
          "username,password_hash,displayname",
          `${p}-dupa,${SYNAPSE_HASH},First`,
          `${p}-dupb,${SYNAPSE_HASH},`,
          `@${p}-dupa:localhost,${SYNAPSE_HASH},Second`,
        ]);
        const r = await run(file, { batchSize: 1, onConflict: "skip" });
        expect(r.code).toBe(1);
        expect(r.stdout).toBe(
          `Imported ${file}: 2 created, 0 updated, 0 skipped, 1 error (3 rows)\n` +
            `  line 4: @${p}-dupa:localhost is already on line 2 (M_INVALID_PARAM)\n`,
        );
        writeFileSync(file, `username,displayname\n${p}-dupa,Renamed\n${p}-dupb,\n`);
        const u = await run(file, { onConflict: "update" });
        expect(u.stdout).toContain("0 created, 1 updated, 1 skipped, 0 errors");
        const got = await fx.as("GET", `/_synapse/admin/v2/users/${encodeURIComponent(`@${p}-dupa:localhost`)}`);
        expect(got.body.displayname).toBe("Renamed");
      });

      it("refuses an unreadable file and a parse error with exit 2 before sending anything", async () => {
        const dir = tempDir();
        const file = csvFile(dir, "broken.csv", ["username,password_hash", `${p}-never,${SYNAPSE_HASH}`, '"open']);
        await expect(run(file)).rejects.toMatchObject({
          exitCode: 2,
          message: `error: ${file}: line 3: a quoted field is not closed`,
        });
        expect(await exists(`${p}-never`)).toBe(false);
        await expect(run(join(dir, "missing.csv"))).rejects.toMatchObject({ exitCode: 2 });
      });
    });
  }

  describe("as a program", () => {
    // The token travels in the environment: on the command line it would draw the `ps` warning on stderr.
    const env = (token = fx.admin.token) => ({ GATEHOUSE_URL: fx.url, GATEHOUSE_TOKEN: token });
    const gatehouse = (args: string[], token?: string) =>
      runGatehouse(["user", "import", ...args], { env: env(token) });

    it("on a pipe: no progress bar, the summary on stdout, exit codes 0, 1 and 2", async () => {
      const dir = tempDir();
      const ok = csvFile(dir, "ok.csv", ["username,password_hash", `prog-a,${SYNAPSE_HASH}`]);
      const r = await gatehouse([ok]);
      expect(r).toEqual({
        code: 0,
        stdout: `Imported ${ok}: 1 created, 0 updated, 0 skipped, 0 errors (1 rows)\n`,
        stderr: "",
      });
      const again = await gatehouse([ok]);
      expect(again.code).toBe(1);
      expect(again.stdout).toContain("line 2: @prog-a:localhost: User ID already taken. (M_USER_IN_USE)");
      const bad = csvFile(dir, "bad.csv", ["username,nickname", "x,y"]);
      const b = await gatehouse([bad]);
      expect(b.code).toBe(2);
      expect(b.stderr).toBe(
        `error: ${bad}: line 1: unknown column "nickname" (known: username, password, password_hash, displayname, admin, email)\n`,
      );
      const usage = await gatehouse([ok, "--on-conflict", "overwrite"]);
      expect(usage.code).toBe(2);
    });

    it("--json: the counts and each row's result; a dry run writes nothing", async () => {
      const dir = tempDir();
      const file = csvFile(dir, "json.csv", ["username,password_hash", `prog-json,${SYNAPSE_HASH}`, "Bad Name,x"]);
      const r = await gatehouse([file, "--json", "--dry-run", "--on-conflict", "skip"]);
      expect(r.code).toBe(1);
      expect(JSON.parse(r.stdout)).toMatchObject({
        file,
        dry_run: true,
        stopped: false,
        rows: 2,
        created: 1,
        errors: 1,
        results: [
          { line: 2, user_id: "@prog-json:localhost", outcome: "would_create" },
          { line: 3, outcome: "error" },
        ],
      });
      expect(await exists("prog-json")).toBe(false);
    });

    it("a token that is not an admin's exits 5, a server that does not answer 6, and nothing is imported", async () => {
      const dir = tempDir();
      const file = csvFile(dir, "refused.csv", ["username,password_hash", `prog-refused,${SYNAPSE_HASH}`]);
      const user = await fx.user("prog-plain");
      const r = await gatehouse([file], user.token);
      expect(r).toEqual({ code: 5, stdout: "", stderr: "error: You are not a server admin (M_FORBIDDEN)\n" });
      const down = await gatehouse([file, "--url", "http://127.0.0.1:9"]);
      expect(down.code).toBe(6);
      expect(down.stderr).toMatch(/^error: cannot reach http:\/\/127\.0\.0\.1:9: ECONNREFUSED/);
      expect(await exists("prog-refused")).toBe(false);
    });

    it("straight to the database with --database-url", async () => {
      const dir = tempDir();
      const file = csvFile(dir, "db.csv", ["username,password", "prog-db,long enough pw"]);
      const r = await runGatehouse(["user", "import", file, "--database-url", fx.db.url, "--server-name", "localhost"]);
      expect(r.stdout + r.stderr).toBe(`Imported ${file}: 1 created, 0 updated, 0 skipped, 0 errors (1 rows)\n`);
      expect((await loginRequest(fx.url, "prog-db", "long enough pw")).status).toBe(200);
    });

    it("warns when the password file is readable by others, and appends to it", async () => {
      const dir = tempDir();
      const passwords = join(dir, "shared.csv");
      writeFileSync(passwords, "kept line\n");
      chmodSync(passwords, 0o644);
      const file = csvFile(dir, "gen.csv", ["username", "prog-gen"]);
      const r = await gatehouse([file, "--generate-passwords", passwords]);
      expect(r.code).toBe(0);
      expect(r.stderr).toBe(`warning: ${passwords} is readable by others (mode 644): chmod 600 it\n`);
      expect(r.stdout).not.toMatch(/prog-gen,/);
      const content = readFileSync(passwords, "utf8");
      expect(content).toMatch(/^kept line\n@prog-gen:localhost,\S{24}\n$/);
    });

    it.skipIf(ptyUnavailable())("on a real terminal: the progress bar, then the summary", async () => {
      const dir = tempDir();
      const rows = Array.from({ length: 30 }, (_, i) => `prog-tty${i},${SYNAPSE_HASH}`);
      const file = csvFile(dir, "tty.csv", ["username,password_hash", ...rows]);
      const r = await runInPty(GATEHOUSE, ["user", "import", file, "--batch-size", "10"], [], { env: env() });
      expect(r.code).toBe(0);
      expect(r.transcript).toMatch(/\r\[#{10}\.{20}\] 10\/30 rows/);
      expect(stripTerminal(r.transcript)).toContain(`Imported ${file}: 30 created`);
    });
  });
});
