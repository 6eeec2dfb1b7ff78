/**
 * What the admin CLI tests share: one real server per database (in this process, on loopback) with an admin, and
 * the `gatehouse` program run against it (in this process too: test/cli/in-process.ts) in either mode: over HTTP
 * (URL and token from the environment) or straight on its database (`-c` with a config naming the same database and
 * password policy).
 */
import { expect } from "vitest";
import type { RawConfig } from "../../src/config/validate.js";
import { closeAdminFixture, startAdminFixture, type AdminFixture } from "../admin/support.js";
import { OPEN_REGISTRATION } from "../api/account-support.js";
import type { CliResult } from "../helpers/cli.js";
import { STACK_LINE } from "../helpers/cli-tools.js";
import { tempDir, type DatabaseKind } from "../helpers/databases.js";
import { rawConfigFor, writeConfigFile } from "../helpers/server.js";
import { runGatehouse } from "./in-process.js";

export type Mode = "http" | "db";
export const MODES: Mode[] = ["http", "db"];

/** A password policy both modes apply: the server from its config, the database mode from the same `-c`. */
export const POLICY: RawConfig = { password_config: { policy: { enabled: true, minimum_length: 12 } } };

export interface RunOptions {
  stdin?: string;
  env?: NodeJS.ProcessEnv;
}

export interface AdminCli {
  fx: AdminFixture;
  configPath: string;
  /** Runs `gatehouse args…` in the mode given. */
  run(mode: Mode, args: string[], options?: RunOptions): Promise<CliResult>;
  close(): Promise<void>;
}

/** No admin config file, no connection from the environment, unless a test sets them. */
export function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { XDG_CONFIG_HOME: tempDir(), GATEHOUSE_URL: "", GATEHOUSE_TOKEN: "", ...extra };
}

export async function startAdminCli(kind: DatabaseKind, overrides: RawConfig = POLICY): Promise<AdminCli> {
  const fx = await startAdminFixture(kind, overrides);
  const configPath = writeConfigFile(rawConfigFor(fx.db, { ...OPEN_REGISTRATION, ...overrides }));
  return {
    fx,
    configPath,
    run(mode, args, options = {}) {
      const env =
        mode === "http"
          ? cleanEnv({ GATEHOUSE_URL: fx.url, GATEHOUSE_TOKEN: fx.admin.token, ...options.env })
          : cleanEnv(options.env);
      const extra = mode === "http" ? [] : ["-c", configPath];
      return runGatehouse([...args, ...extra], { stdin: options.stdin, env });
    },
    close: () => closeAdminFixture(fx) ?? Promise.resolve(),
  };
}

/** Exit 0, nothing on stderr but warnings, and the parsed JSON stdout. */
// The caller names the shape of the JSON it expects, as `call<T>` in test/helpers/http.ts does.
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters
export function okJson<T = Record<string, unknown>>(r: CliResult): T {
  expect(r.code, r.stdout + r.stderr).toBe(0);
  return JSON.parse(r.stdout) as T;
}

/** The documented exit code and one line on stderr, no stack trace. */
export function expectFailure(r: CliResult, code: number, message?: string | RegExp): void {
  expect(r.code, r.stdout + r.stderr).toBe(code);
  expect(r.stdout + r.stderr).not.toMatch(STACK_LINE);
  // Commander follows a usage error with "(add --help for usage)", the program's convention.
  const lines = r.stderr
    .split("\n")
    .filter((l) => l !== "" && !l.startsWith("warning: ") && l !== "(add --help for usage)");
  expect(lines, r.stderr).toHaveLength(1);
  if (message !== undefined) expect(lines[0]).toMatch(message);
}

/** The CLI actor as the database mode records it. */
export const CLI_ACTOR = /^cli:[^@]+@.+$/;
