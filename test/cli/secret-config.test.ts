/**
 * The shared secret as `register_new_matrix_user -c` reads it (Synapse's §1.2): exactly one of
 * registration_shared_secret and registration_shared_secret_path, with Synapse's messages on stderr and exit 1 for
 * each way it can be wrong, before any question is asked or anything is sent.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { STACK_LINE, startStandIn, type StandIn } from "../helpers/cli-tools.js";
import { tempDir } from "../helpers/databases.js";
import { writeConfigFile } from "../helpers/server.js";
import type { RawConfig } from "../../src/config/validate.js";
import { runRegisterNewMatrixUser } from "./in-process.js";

let standIn: StandIn;
let dir: string;

beforeAll(async () => {
  standIn = await startStandIn((_req, res) => {
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify({ nonce: "n" }));
  });
  dir = tempDir();
});
afterAll(() => standIn.close());

function config(overrides: RawConfig): string {
  return writeConfigFile(
    {
      server_name: "example.org",
      listeners: [
        {
          port: Number(new URL(standIn.url).port),
          bind_addresses: ["127.0.0.1"],
          type: "http",
          resources: [{ names: ["client"] }],
        },
      ],
      database: { name: "sqlite3", args: { database: join(dir, "unused.db") } },
      ...overrides,
    },
    tempDir(),
  );
}

function secretFile(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content, { mode: 0o600 });
  return path;
}

const cases: [string, () => RawConfig, (r: RawConfig) => string][] = [
  [
    "neither key",
    () => ({}),
    () => "No 'registration_shared_secret' or 'registration_shared_secret_path' defined in config.\n",
  ],
  [
    "both keys",
    () => ({ registration_shared_secret: "inline", registration_shared_secret_path: secretFile("both", "s\n") }),
    () =>
      "Conflicting options 'registration_shared_secret' and 'registration_shared_secret_path'\n" +
      "are both defined in config file.\n",
  ],
  [
    "a secret file that does not exist",
    () => ({ registration_shared_secret_path: join(dir, "absent") }),
    (r) => `Error accessing file ${r.registration_shared_secret_path as string}: no such file\n`,
  ],
  [
    "a secret path that is a directory",
    () => ({ registration_shared_secret_path: dir }),
    () => `Error accessing file ${dir}: is a directory\n`,
  ],
  [
    "an empty secret file",
    () => ({ registration_shared_secret_path: secretFile("empty", " \n\n") }),
    () => "The secret given via `registration_shared_secret_path` must not be empty.\n",
  ],
  [
    "a secret that is not a string",
    () => ({ registration_shared_secret: 12345 }),
    () => "registration_shared_secret is not a string.\n",
  ],
  [
    "a secret path that is not a string",
    () => ({ registration_shared_secret_path: ["a", "b"] }),
    () => "registration_shared_secret_path is not a string.\n",
  ],
];

for (const verify of [true, false]) {
  describe.concurrent(verify ? "with the config validated" : "with --no-verify-config", () => {
    for (const [what, overrides, message] of cases) {
      it(`${what}: Synapse's message, exit 1, nothing asked or sent`, async () => {
        const raw = overrides();
        const args = ["-c", config(raw), ...(verify ? [] : ["--no-verify-config"])];
        const r = await runRegisterNewMatrixUser(args, { stdin: "alice\npw\npw\nyes\n" });
        expect(r.code).toBe(1);
        expect(r.stderr).toBe(message(raw));
        expect(r.stdout).toBe("");
        expect(r.stderr).not.toMatch(STACK_LINE);
        expect(standIn.requests).toEqual([]);
      });
    }
  });
}
