/**
 * synadm (Debian's `synadm`, the Synapse admin CLI) configured against a test server, for the synadm suites.
 *
 * synadm exits 0 even when the server refuses, so callers read its JSON output (`-o json`: one `json.dumps` line per
 * answer, between the human-readable lines some commands print).
 */
import { execFile, spawnSync } from "node:child_process";
import { join } from "node:path";
import { expect } from "vitest";
import { tempDir } from "../helpers/databases.js";

/** Why synadm cannot run here, or null when it can. */
export function synadmUnavailable(): string | null {
  const r = spawnSync("synadm", ["-h"], { encoding: "utf8" });
  return r.status === 0 ? null : "synadm is not installed (Debian: apt-get install -y synadm)";
}

export interface SynadmResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Every line of stdout that is a JSON object or array, parsed. */
  json: unknown[];
}

export interface Synadm {
  run: (...args: string[]) => Promise<SynadmResult>;
  /** The last JSON answer a command printed (the test fails if it printed none). */
  answer: (...args: string[]) => Promise<Record<string, unknown>>;
}

/** Writes a synadm config for `serverUrl` with an admin's `token`, in a throwaway home, and returns a runner. */
export function configureSynadm(serverUrl: string, token: string, user = "root"): Synadm {
  // Its debug log goes to ~/.local/share/synadm: keep it in a throwaway home.
  const home = tempDir("gatehouse-synadm-");
  const configFile = join(home, "synadm.yaml");
  const env = { ...process.env, HOME: home };
  // synadm's own flags: -u user, -t token, -b base URL, -p admin path, -m matrix path, -o output, -w timeout (s),
  // -d server discovery, -n homeserver name.
  const r = spawnSync(
    "synadm",
    [
      "--batch",
      "-c",
      configFile,
      "config",
      "-u",
      user,
      "-t",
      token,
      "-b",
      serverUrl,
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
    { encoding: "utf8", env },
  );
  expect(r.status, r.stdout + r.stderr).toBe(0);

  const run = (...args: string[]): Promise<SynadmResult> =>
    new Promise((resolve, reject) => {
      execFile(
        "synadm",
        ["--batch", "-c", configFile, "-o", "json", ...args],
        { env, timeout: 30_000 },
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

  return {
    run,
    async answer(...args) {
      const res = await run(...args);
      expect(res.json.length, `synadm ${args.join(" ")}\n${res.stdout}\n${res.stderr}`).toBeGreaterThan(0);
      return res.json.at(-1) as Record<string, unknown>;
    },
  };
}
