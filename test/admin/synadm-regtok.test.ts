/**
 * synadm's `regtok` commands (Debian's synadm 0.38) against a real Gatehouse: new (generated and named), list (all,
 * valid, invalid), details, update (limits set and cleared with -1), delete, and the server's refusals.
 *
 * synadm exits 0 even when the server refuses, so every check reads its JSON output (`-o json`). `--ts` keeps
 * `expiry_time` as milliseconds (synadm otherwise rewrites it as a local date string).
 */
import { execFile, spawnSync } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tempDir } from "../helpers/databases.js";
import { ADMIN, closeAdminFixture, startAdminFixture, type AdminFixture } from "./support.js";

function synadmUnavailable(): string | null {
  const r = spawnSync("synadm", ["-h"], { encoding: "utf8" });
  return r.status === 0 ? null : "synadm is not installed (Debian: apt-get install -y synadm)";
}

const unavailable = synadmUnavailable();
if (unavailable) console.warn(`skipping synadm regtok tests: ${unavailable}`);

interface SynadmResult {
  stdout: string;
  stderr: string;
  /** Every line of stdout that is a JSON object or array, parsed. */
  json: unknown[];
}

describe.skipIf(unavailable !== null)("synadm regtok", () => {
  let fx: AdminFixture;
  let home: string;
  let configFile: string;

  function synadm(...args: string[]): Promise<SynadmResult> {
    return new Promise((resolve, reject) => {
      execFile(
        "synadm",
        ["--batch", "-c", configFile, "-o", "json", ...args],
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
          resolve({ stdout, stderr, json });
        },
      );
    });
  }

  async function answer(...args: string[]): Promise<Record<string, unknown>> {
    const r = await synadm(...args);
    expect(r.json.length, `synadm ${args.join(" ")}\n${r.stdout}\n${r.stderr}`).toBeGreaterThan(0);
    return r.json.at(-1) as Record<string, unknown>;
  }

  const tokensOf = (list: Record<string, unknown>) =>
    (list.registration_tokens as { token: string }[]).map((t) => t.token).sort();

  beforeAll(async () => {
    fx = await startAdminFixture("sqlite");
    home = tempDir("gatehouse-synadm-regtok-");
    configFile = join(home, "synadm.yaml");
    const port = new URL(fx.url).port;
    const r = spawnSync(
      "synadm",
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
  });
  afterAll(() => closeAdminFixture(fx));

  it("regtok new: a generated token (synadm always sends length 16 and null limits)", async () => {
    const t = await answer("regtok", "new");
    expect(t).toEqual({
      token: expect.stringMatching(/^[A-Za-z0-9._~-]{16}$/),
      uses_allowed: null,
      pending: 0,
      completed: 0,
      expiry_time: null,
    });
    expect((await answer("regtok", "new", "-l", "5")).token).toHaveLength(5);
  });

  it("regtok new: a named token with limits, and the refusals", async () => {
    const expiry = Date.now() + 3_600_000;
    expect(await answer("regtok", "new", "-n", "synadm-tok", "-u", "5", "-t", String(expiry))).toEqual({
      token: "synadm-tok",
      uses_allowed: 5,
      pending: 0,
      completed: 0,
      expiry_time: expiry,
    });
    expect(await answer("regtok", "new", "-n", "synadm-tok")).toEqual({
      errcode: "M_INVALID_PARAM",
      error: "Token already exists: synadm-tok",
    });
    expect(await answer("regtok", "new", "-n", "bad token")).toEqual({
      errcode: "M_INVALID_PARAM",
      error: "token must consist only of characters matched by the regex [A-Za-z0-9-_]",
    });
    expect(await answer("regtok", "new", "-l", "65")).toEqual({
      errcode: "M_INVALID_PARAM",
      error: "length must be greater than zero and not greater than 64",
    });
    expect(await answer("regtok", "new", "-u", "-3")).toEqual({
      errcode: "M_INVALID_PARAM",
      error: "uses_allowed must be a non-negative integer or null",
    });
    expect(await answer("regtok", "new", "-t", "1000")).toEqual({
      errcode: "M_INVALID_PARAM",
      error: "expiry_time must not be in the past",
    });
    expect(await answer("regtok", "new", "-n", "synadm-off", "-u", "0")).toMatchObject({ uses_allowed: 0 });
  });

  it("regtok list: all, valid, invalid", async () => {
    const all = await answer("regtok", "list", "--ts");
    expect(tokensOf(all)).toEqual(expect.arrayContaining(["synadm-off", "synadm-tok"]));
    expect(tokensOf(all)).toHaveLength(4);
    expect((all.registration_tokens as { token: string }[]).find((t) => t.token === "synadm-tok")).toMatchObject({
      uses_allowed: 5,
      expiry_time: expect.any(Number),
    });
    expect(tokensOf(await answer("regtok", "list", "--invalid"))).toEqual(["synadm-off"]);
    const valid = tokensOf(await answer("regtok", "list", "--valid"));
    expect(valid).toHaveLength(3);
    expect(valid).not.toContain("synadm-off");
  });

  it("regtok details, and an unknown token", async () => {
    expect(await answer("regtok", "details", "synadm-tok", "--ts")).toMatchObject({
      token: "synadm-tok",
      uses_allowed: 5,
      pending: 0,
      completed: 0,
      expiry_time: expect.any(Number),
    });
    // Without --ts synadm shows the expiry as a date string.
    expect((await answer("regtok", "details", "synadm-tok")).expiry_time).toEqual(expect.any(String));
    expect(await answer("regtok", "details", "missing")).toEqual({
      errcode: "M_NOT_FOUND",
      error: "No such registration token: missing",
    });
  });

  it("regtok update: set, clear with -1, refuse, unknown", async () => {
    const later = Date.now() + 7_200_000;
    expect(await answer("regtok", "update", "synadm-tok", "-u", "9", "-t", String(later))).toEqual({
      token: "synadm-tok",
      uses_allowed: 9,
      pending: 0,
      completed: 0,
      expiry_time: later,
    });
    expect(await answer("regtok", "update", "synadm-tok", "-u", "-1", "-t", "-1")).toEqual({
      token: "synadm-tok",
      uses_allowed: null,
      pending: 0,
      completed: 0,
      expiry_time: null,
    });
    expect(await answer("regtok", "update", "synadm-tok", "-t", "1000")).toEqual({
      errcode: "M_INVALID_PARAM",
      error: "expiry_time must not be in the past",
    });
    expect(await answer("regtok", "update", "missing", "-u", "1")).toEqual({
      errcode: "M_NOT_FOUND",
      error: "No such registration token: missing",
    });
  });

  it("regtok delete, then it is gone", async () => {
    const r = await synadm("regtok", "delete", "synadm-tok");
    expect(r.stdout).toContain("Registration token successfully deleted.");
    expect(r.json).toEqual([]);
    expect((await fx.as("GET", `${ADMIN}/v1/registration_tokens/synadm-tok`)).status).toBe(404);
    expect(await answer("regtok", "delete", "synadm-tok")).toEqual({
      errcode: "M_NOT_FOUND",
      error: "No such registration token: synadm-tok",
    });
  });
});
