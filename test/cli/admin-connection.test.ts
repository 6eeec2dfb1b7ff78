/**
 * How the admin commands find their server or database (flags, then environment, then the admin config file),
 * the warnings about tokens in unsafe places, and every way of failing to connect: each one line and the
 * documented exit code.
 */
import { mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { PASSWORD } from "../admin/support.js";
import { closedPort, startStandIn, writeTemp, type StandIn } from "../helpers/cli-tools.js";
import { tempDir } from "../helpers/databases.js";
import { cleanEnv, expectFailure, okJson, startAdminCli, type AdminCli } from "./admin-support.js";
import { runGatehouse } from "./in-process.js";

const SHOW_ROOT = ["user", "show", "@root:localhost", "--json"];

describe("connecting", () => {
  let cli: AdminCli;
  let deadUrl: string;
  let standIn: StandIn;
  let plainToken: string;
  beforeAll(async () => {
    cli = await startAdminCli("sqlite");
    deadUrl = `http://127.0.0.1:${await closedPort()}`;
    standIn = await startStandIn((_req, res) => {
      res.writeHead(200, { "content-type": "text/html" });
      res.end("<html>a web page</html>");
    });
    plainToken = (await cli.fx.user("plain")).token;
  });
  afterAll(async () => {
    await standIn.close();
    await cli.close();
  });

  const gatehouse = (args: string[], env: NodeJS.ProcessEnv = {}, stdin?: string) =>
    runGatehouse(args, { env: cleanEnv(env), stdin });

  /** An XDG config home holding admin.yaml with `content`, mode `mode`. */
  function adminConfigHome(content: Record<string, unknown>, mode = 0o600): string {
    const home = tempDir();
    mkdirSync(join(home, "gatehouse"));
    writeFileSync(join(home, "gatehouse", "admin.yaml"), stringify(content), { mode });
    return home;
  }

  it("precedence: --url over GATEHOUSE_URL over the admin config; the same for the token", async () => {
    const good = { url: cli.fx.url, token: cli.fx.admin.token };
    // The file alone is enough, read from $XDG_CONFIG_HOME/gatehouse/admin.yaml, and makes no warning at 0600.
    const fileOnly = await gatehouse(SHOW_ROOT, { XDG_CONFIG_HOME: adminConfigHome(good) });
    expect(okJson(fileOnly)).toMatchObject({ name: "@root:localhost" });
    expect(fileOnly.stderr).toBe("");
    // The environment beats the file: a dead URL there is used, and fails with exit 6.
    const envWins = await gatehouse(SHOW_ROOT, { XDG_CONFIG_HOME: adminConfigHome(good), GATEHOUSE_URL: deadUrl });
    expectFailure(envWins, 6, /cannot reach/);
    // A flag beats the environment.
    const flagWins = await gatehouse([...SHOW_ROOT, "--url", cli.fx.url], {
      GATEHOUSE_URL: deadUrl,
      GATEHOUSE_TOKEN: cli.fx.admin.token,
    });
    expect(okJson(flagWins)).toMatchObject({ name: "@root:localhost" });
    // Tokens: the environment's bad token beats the file's good one (exit 5); --token-file beats the environment.
    const badEnvToken = await gatehouse(SHOW_ROOT, { XDG_CONFIG_HOME: adminConfigHome(good), GATEHOUSE_TOKEN: "nope" });
    expectFailure(badEnvToken, 5, /M_UNKNOWN_TOKEN/);
    const tokenFile = writeTemp("token", cli.fx.admin.token + "\n");
    const fileFlag = await gatehouse([...SHOW_ROOT, "--token-file", tokenFile], {
      GATEHOUSE_URL: cli.fx.url,
      GATEHOUSE_TOKEN: "nope",
    });
    expect(okJson(fileFlag)).toMatchObject({ name: "@root:localhost" });
    expect(fileFlag.stderr).toBe("");
    // --admin-config names another file.
    const explicit = writeTemp("admin.yaml", stringify(good));
    expect(okJson(await gatehouse([...SHOW_ROOT, "--admin-config", explicit]))).toMatchObject({ admin: true });
  });

  it("warnings: --token on the command line, and a token in a group- or world-readable file", async () => {
    const r = await gatehouse([...SHOW_ROOT, "--url", cli.fx.url, "--token", cli.fx.admin.token]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^warning: a token given with --token can be read by other users/);
    expect(r.stdout + r.stderr).not.toContain(cli.fx.admin.token);

    const home = adminConfigHome({ url: cli.fx.url, token: cli.fx.admin.token }, 0o644);
    const loose = await gatehouse(SHOW_ROOT, { XDG_CONFIG_HOME: home });
    expect(loose.code).toBe(0);
    expect(loose.stderr).toMatch(/^warning: .*admin\.yaml holds an access token and is readable by group or others/);

    const file = writeTemp("token", cli.fx.admin.token, 0o640);
    const looseFile = await gatehouse([...SHOW_ROOT, "--url", cli.fx.url, "--token-file", file]);
    expect(looseFile.code).toBe(0);
    expect(looseFile.stderr).toMatch(/readable by group or others; run: chmod 600/);
  });

  it("--token-file - reads the token from standard input; an empty or missing token file is exit 2", async () => {
    const r = await gatehouse([...SHOW_ROOT, "--url", cli.fx.url, "--token-file", "-"], {}, cli.fx.admin.token);
    expect(okJson(r)).toMatchObject({ name: "@root:localhost" });
    expectFailure(await gatehouse([...SHOW_ROOT, "--url", cli.fx.url, "--token-file", "-"]), 2, /is empty/);
    expectFailure(await gatehouse([...SHOW_ROOT, "--url", cli.fx.url, "--token-file", "/nonexistent/t"]), 2);
    expectFailure(await gatehouse([...SHOW_ROOT, "--admin-config", "/nonexistent/admin.yaml"]), 2, /no such file/);
  });

  it("nothing to connect to, or a URL without a token: exit 2", async () => {
    expectFailure(await gatehouse(SHOW_ROOT), 2, /no server to talk to/);
    expectFailure(await gatehouse(SHOW_ROOT, { GATEHOUSE_URL: cli.fx.url }), 2, /no access token/);
    expectFailure(await gatehouse([...SHOW_ROOT, "--url", "ftp://example.org", "--token-file", "-"], {}, "t"), 2);
    expectFailure(await gatehouse([...SHOW_ROOT, "--url", "not a url"], { GATEHOUSE_TOKEN: "t" }), 2, /not a URL/);
  });

  it("an unreachable server, or one that does not answer JSON: exit 6", async () => {
    const dead = await gatehouse(SHOW_ROOT, { GATEHOUSE_URL: deadUrl, GATEHOUSE_TOKEN: "t" });
    expectFailure(dead, 6, /^error: cannot reach http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED \(is the server running\?\)$/);
    const html = await gatehouse(SHOW_ROOT, { GATEHOUSE_URL: standIn.url, GATEHOUSE_TOKEN: "t" });
    expectFailure(html, 6, /without JSON/);
  });

  it("a token that is not an admin's, or no valid token at all: exit 5", async () => {
    const env = { GATEHOUSE_URL: cli.fx.url };
    expectFailure(
      await gatehouse(SHOW_ROOT, { ...env, GATEHOUSE_TOKEN: plainToken }),
      5,
      /^error: You are not a server admin \(M_FORBIDDEN\)$/,
    );
    expectFailure(await gatehouse(["token", "list"], { ...env, GATEHOUSE_TOKEN: "syt_bogus" }), 5, /M_UNKNOWN_TOKEN/);
    // A bare localpart needs the server name, learnt from whoami: a bad token fails there the same way.
    expectFailure(await gatehouse(["user", "show", "root"], { ...env, GATEHOUSE_TOKEN: "syt_bogus" }), 5);
  });

  it("database mode: a missing file, an unmigrated database, an unreachable PostgreSQL, mixed modes", async () => {
    const dir = tempDir();
    expectFailure(
      await gatehouse([...SHOW_ROOT, "--database-url", `sqlite://${join(dir, "missing.db")}`]),
      2,
      /no database at/,
    );
    const empty = join(dir, "empty.db");
    writeFileSync(empty, "");
    expectFailure(
      await gatehouse([...SHOW_ROOT, "--database-url", `sqlite://${empty}`]),
      2,
      /not up to date .* run gatehouse migrate first/,
    );
    const port = await closedPort();
    expectFailure(
      await gatehouse([...SHOW_ROOT, "--database-url", `postgres://gh@127.0.0.1:${port}/gh`]),
      6,
      /cannot reach .*ECONNREFUSED/,
    );
    expectFailure(
      await gatehouse([...SHOW_ROOT, "--database-url", cli.fx.db.url, "--url", cli.fx.url]),
      2,
      /cannot be combined/,
    );
    expectFailure(await gatehouse([...SHOW_ROOT, "--database-url", "mysql://x"]), 2, /--database-url/);
    // The environment's server does not matter once the database mode is chosen.
    const db = await gatehouse([...SHOW_ROOT, "--database-url", cli.fx.db.url], { GATEHOUSE_URL: deadUrl });
    expect(okJson(db)).toMatchObject({ name: "@root:localhost" });
  });

  it("admin-login writes the admin config file (0600) that later commands use; a non-admin is refused (exit 5)", async () => {
    const home = tempDir();
    const r = await gatehouse(
      ["admin-login", "--url", cli.fx.url, "--user", "root", "--password-file", "-"],
      { XDG_CONFIG_HOME: home },
      PASSWORD,
    );
    expect(r.code, r.stderr).toBe(0);
    const path = join(home, "gatehouse", "admin.yaml");
    expect(r.stdout).toBe(`Logged in as @root:localhost; wrote ${path} (mode 0600)\n`);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const saved = parse(readFileSync(path, "utf8")) as { url: string; token: string };
    expect(saved.url).toBe(cli.fx.url);
    expect(r.stdout + r.stderr).not.toContain(saved.token);
    expect(r.stdout + r.stderr).not.toContain(PASSWORD);
    const after = await gatehouse(SHOW_ROOT, { XDG_CONFIG_HOME: home });
    expect(okJson(after)).toMatchObject({ name: "@root:localhost" });
    expect(after.stderr).toBe("");

    const other = tempDir();
    const refused = await gatehouse(
      ["admin-login", "--url", cli.fx.url, "--user", "plain", "--password-file", "-"],
      { XDG_CONFIG_HOME: other },
      PASSWORD,
    );
    expectFailure(refused, 5, /^error: @plain:localhost is not a server admin$/);
    expect(() => statSync(join(other, "gatehouse", "admin.yaml"))).toThrow();
    const wrong = await gatehouse(
      ["admin-login", "--url", cli.fx.url, "--user", "root", "--password-file", "-"],
      {},
      "wrong",
    );
    expectFailure(wrong, 5, /M_FORBIDDEN/);
  });
});
