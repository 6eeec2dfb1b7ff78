/**
 * The `gatehouse` program's smaller commands: --version, migrate, and its usage errors. The first two run the built
 * program (exit codes through a real process), the rest run it in this process (test/cli/in-process.ts).
 */
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { STACK_LINE } from "../helpers/cli-tools.js";
import { createTestDatabase, forEachDatabase } from "../helpers/databases.js";
import { GATEHOUSE_BIN, rawConfigFor, writeConfigFile } from "../helpers/server.js";
import { VERSION } from "../../src/version.js";
import { runGatehouse } from "./in-process.js";

const built = (args: string[]) => runCli(GATEHOUSE_BIN, args);
const gatehouse = (args: string[]) => runGatehouse(args);

describe("gatehouse", () => {
  it("--version prints the version, exit 0", async () => {
    expect(await built(["--version"])).toEqual({ code: 0, stdout: `${VERSION}\n`, stderr: "" });
  });

  it("an unknown command: exit 2", async () => {
    const r = await built(["frobnicate"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown command 'frobnicate'/);
  });

  it("migrate with neither -c nor --database-url: exit 2", async () => {
    const r = await gatehouse(["migrate"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("one of -c/--config or --database-url is required");
  });

  it("migrate with an invalid config: every problem, exit 2", async () => {
    const config = writeConfigFile({ server_name: "example.org", bcrypt_rounds: 1 });
    const r = await gatehouse(["migrate", "-c", config]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${config}: database: is required`);
    expect(r.stderr).toContain(`${config}: bcrypt_rounds: must be between 4 and 31`);
    expect(r.stderr).not.toMatch(STACK_LINE);
  });
});

forEachDatabase((kind) => {
  it("migrate applies the schema once, by -c or by --database-url", async () => {
    const db = await createTestDatabase(kind, { empty: true });
    const first = await gatehouse(["migrate", "--database-url", db.url]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/^Applied: 0001_initial(, \w+)*\n$/);
    const again = await gatehouse(["migrate", "-c", writeConfigFile(rawConfigFor(db))]);
    expect(again).toEqual({ code: 0, stdout: "Already up to date.\n", stderr: "" });
  });
});
