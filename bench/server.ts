/**
 * A real `gatehouse serve` for the benchmarks (built `dist/`, its own process, a listener on a free port) and a JSON
 * POST helper. `extra` overrides or adds configuration keys (`database` for PostgreSQL, listener resources, …).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";

const REPO = new URL("../", import.meta.url).pathname;
const GATEHOUSE = join(REPO, "dist/cli/gatehouse.js");

/** The configuration every benchmark server starts from, before `extra`: open registration, no login limits. */
export function benchConfig(dir: string, extra: Record<string, unknown>): Record<string, unknown> {
  return {
    server_name: "bench.local",
    listeners: [{ port: 0, bind_addresses: ["127.0.0.1"], resources: [{ names: ["client"] }] }],
    database: { name: "sqlite3", args: { database: join(dir, "homeserver.db") } },
    enable_registration: true,
    enable_registration_without_verification: true,
    log_level: "warn",
    rc_registration: { per_second: 1e6, burst_count: 1e6 },
    rc_login: {
      address: { per_second: 1e6, burst_count: 1e6 },
      account: { per_second: 1e6, burst_count: 1e6 },
      failed_attempts: { per_second: 1e6, burst_count: 1e6 },
    },
    ...extra,
  };
}

export async function startGatehouse(
  dir: string,
  extra: Record<string, unknown>,
): Promise<{ url: string; proc: ChildProcess }> {
  const config = join(dir, "homeserver.yaml");
  writeFileSync(config, stringify(benchConfig(dir, extra)), { mode: 0o600 });
  const proc = spawn(process.execPath, [GATEHOUSE, "serve", "-c", config], { stdio: ["ignore", "pipe", "inherit"] });
  const url = await new Promise<string>((resolve, reject) => {
    let out = "";
    proc.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      const m = / on (http:\/\/\S+?)(,|\n)/.exec(out);
      if (m) resolve(m[1]!);
    });
    proc.on("exit", (code) => reject(new Error(`gatehouse exited with ${code}: ${out}`)));
  });
  return { url, proc };
}

export async function post(url: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(url, {
    method: "POST",
    body: JSON.stringify(body),
    headers: { "content-type": "application/json" },
  });
  const json = (await res.json()) as Record<string, unknown>;
  if (res.status !== 200) throw new Error(`${url}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}
