/**
 * synadm (Debian's `synadm`, the Synapse admin CLI) against a real Gatehouse: user list, search, details, modify
 * (create, admin, deactivate, reactivate), password, whois, deactivate, login, shadow-ban, membership, version.
 *
 * synadm exits 0 even when the server refuses, so every check reads its JSON output (`-o json`: one `json.dumps`
 * line per answer, between the human-readable lines some commands print).
 */
import { execFile, spawnSync } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loginRequest } from "../api/account-support.js";
import { tempDir } from "../helpers/databases.js";
import { ADMIN, PASSWORD, closeAdminFixture, startAdminFixture, type AdminFixture } from "./support.js";

/** Why synadm cannot run here, or null when it can. */
function synadmUnavailable(): string | null {
  const r = spawnSync("synadm", ["-h"], { encoding: "utf8" });
  return r.status === 0 ? null : "synadm is not installed (Debian: apt-get install -y synadm)";
}

const unavailable = synadmUnavailable();
if (unavailable) console.warn(`skipping synadm tests: ${unavailable}`);

interface SynadmResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Every line of stdout that is a JSON object or array, parsed. */
  json: unknown[];
}

describe.skipIf(unavailable !== null)("synadm", () => {
  let fx: AdminFixture;
  let home: string;
  let configFile: string;

  function synadm(...args: string[]): Promise<SynadmResult> {
    return new Promise((resolve, reject) => {
      execFile(
        "synadm",
        ["--batch", "-c", configFile, "-o", "json", ...args],
        // Its debug log goes to ~/.local/share/synadm: keep it in a throwaway home.
        { env: { ...process.env, HOME: home }, timeout: 30_000 },
        (err, stdout, stderr) => {
          if (err && typeof err.code !== "number") {
            reject(new Error(`synadm ${args.join(" ")} failed: ${err.message}\n${stderr}`));
            return;
          }
          const json = stdout
            .split("\n")
            .filter((l) => l.startsWith("{") || l.startsWith("["))
            .map((l) => JSON.parse(l) as unknown);
          resolve({ code: err ? (err.code as number) : 0, stdout, stderr, json });
        },
      );
    });
  }

  /** The last JSON answer a command printed. */
  async function answer(...args: string[]): Promise<Record<string, unknown>> {
    const r = await synadm(...args);
    expect(r.json.length, `synadm ${args.join(" ")}\n${r.stdout}\n${r.stderr}`).toBeGreaterThan(0);
    return r.json.at(-1) as Record<string, unknown>;
  }

  beforeAll(async () => {
    fx = await startAdminFixture("sqlite");
    home = tempDir("gatehouse-synadm-");
    configFile = join(home, "synadm.yaml");
    const port = new URL(fx.url).port;
    const r = spawnSync(
      "synadm",
      // synadm's own flags: -u user, -t token, -b base URL, -p admin path, -m matrix path, -o output,
      // -w timeout (s), -d server discovery, -n homeserver name.
      [
        "--batch",
        "-c",
        configFile,
        "config",
        "-u",
        "root",
        "-t",
        fx.admin.token,
        "-b",
        `http://127.0.0.1:${port}`,
        "-p",
        "/_synapse/admin",
        "-m",
        "/_matrix",
        "-o",
        "json",
        "-w",
        "10",
        "-d",
        "well-known",
        "-n",
        "localhost",
      ],
      { encoding: "utf8", env: { ...process.env, HOME: home } },
    );
    expect(r.status, r.stdout + r.stderr).toBe(0);
    await fx.user("alice");
    await fx.user("bob");
  });
  afterAll(() => closeAdminFixture(fx));

  it("version", async () => {
    expect(await answer("version")).toEqual({ server_version: expect.stringMatching(/^Gatehouse /) });
  });

  it("user list, with name and deactivated filters", async () => {
    const all = await answer("user", "list");
    expect(all).toMatchObject({ total: 3 });
    expect((all.users as { name: string }[]).map((u) => u.name)).toEqual([
      "@alice:localhost",
      "@bob:localhost",
      "@root:localhost",
    ]);
    const named = await answer("user", "list", "-n", "ali");
    expect((named.users as { name: string }[]).map((u) => u.name)).toEqual(["@alice:localhost"]);
    const paged = await answer("user", "list", "-l", "1", "-f", "1");
    expect(paged).toMatchObject({ total: 3, next_token: "2" });
    expect((paged.users as { name: string }[]).map((u) => u.name)).toEqual(["@bob:localhost"]);
  });

  it("user search (both spellings synadm tries)", async () => {
    const r = await synadm("user", "search", "ALICE");
    expect(r.json).toHaveLength(2);
    for (const result of r.json as { users: { name: string }[] }[]) {
      expect(result.users.map((u) => u.name)).toEqual(["@alice:localhost"]);
    }
  });

  it("user details, by full ID and by localpart", async () => {
    const d = await answer("user", "details", "@alice:localhost");
    expect(d).toMatchObject({ name: "@alice:localhost", admin: false, deactivated: false, displayname: "alice" });
    expect(await answer("user", "details", "alice")).toEqual(d);
    expect(await answer("user", "details", "@nobody:localhost")).toEqual({
      errcode: "M_NOT_FOUND",
      error: "User not found",
    });
  });

  it("user modify: create, admin on, admin off, deactivate, reactivate", async () => {
    const created = await answer("user", "modify", "carol", "-P", "carol's password", "-n", "Carol C");
    expect(created).toMatchObject({ name: "@carol:localhost", displayname: "Carol C", admin: false });
    expect((await loginRequest(fx.url, "carol", "carol's password")).status).toBe(200);

    expect(await answer("user", "modify", "carol", "--admin")).toMatchObject({ admin: true });
    // synadm 0.38 sends `admin` only when it is true (`if admin:`), so --no-admin sends an empty body: the server
    // answers the unchanged account. Turning the flag off takes the admin endpoint synadm does not wrap.
    expect(await answer("user", "modify", "carol", "--no-admin")).toMatchObject({ admin: true });
    const off = await fx.as("PUT", `${ADMIN}/v1/users/@carol:localhost/admin`, { json: { admin: false } });
    expect(off.status).toBe(200);
    expect(await answer("user", "details", "carol")).toMatchObject({ admin: false });

    expect(await answer("user", "modify", "carol", "--deactivate")).toMatchObject({ deactivated: true });
    expect((await loginRequest(fx.url, "carol", "carol's password")).status).toBe(403);
    expect(await answer("user", "modify", "carol", "--activate")).toMatchObject({ deactivated: false });
    expect(await answer("user", "modify", "carol", "-P", "carol again")).toMatchObject({ deactivated: false });
    expect((await loginRequest(fx.url, "carol", "carol again")).status).toBe(200);
  });

  it("user modify reports the server's refusal", async () => {
    expect(await answer("user", "modify", "carol", "-v", "https://example.org/not-mxc.png")).toEqual({
      errcode: "M_INVALID_PARAM",
      error: "'avatar_url' must be an mxc:// URI",
    });
  });

  it("user password, with and without logout", async () => {
    expect(await answer("user", "password", "bob", "-p", "bob's new password", "--no-logout")).toEqual({});
    expect((await loginRequest(fx.url, "bob", PASSWORD)).status).toBe(403);
    expect((await loginRequest(fx.url, "bob", "bob's new password")).status).toBe(200);
    expect(await answer("user", "password", "@bob:localhost", "-p", "bob's third password")).toEqual({});
    expect((await fx.as("GET", `${ADMIN}/v2/users/@bob:localhost/devices`)).body).toEqual({ devices: [], total: 0 });
  });

  it("user whois", async () => {
    const w = await answer("user", "whois", "alice");
    expect(w).toEqual({
      user_id: "@alice:localhost",
      devices: { "": { sessions: [{ connections: expect.any(Array) }] } },
    });
  });

  it("user login, shadow-ban and membership", async () => {
    const l = await answer("user", "login", "alice");
    expect(l).toEqual({ access_token: expect.stringMatching(/^syt_/) });
    expect(await answer("user", "shadow-ban", "alice")).toEqual({});
    expect(await answer("user", "details", "alice")).toMatchObject({ shadow_banned: true });
    expect(await answer("user", "shadow-ban", "alice", "--unban")).toEqual({});
    expect(await answer("user", "membership", "alice")).toEqual({ joined_rooms: [], total: 0 });
  });

  it("user deactivate, then list -d shows the account", async () => {
    expect(await answer("user", "deactivate", "bob")).toEqual({ id_server_unbind_result: "success" });
    expect(await answer("user", "details", "bob")).toMatchObject({ deactivated: true });
    const without = await answer("user", "list");
    expect((without.users as { name: string }[]).map((u) => u.name)).not.toContain("@bob:localhost");
    const withDeactivated = await answer("user", "list", "-d");
    expect((withDeactivated.users as { name: string }[]).map((u) => u.name)).toContain("@bob:localhost");
  });
});
