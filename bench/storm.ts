/**
 * whoami latency while a login storm saturates hashing: the "hashing must not starve other requests".
 *
 * One `gatehouse serve` on SQLite. A client sends whoami one request at a time (a 5 ms pause between them, so it
 * probes rather than loads) for a few seconds with the server otherwise idle, then again while wrk sends password
 * logins on 8 connections, enough to keep every hashing thread busy. The probes of several rounds (quiet, then
 * storm, alternating, so that load from elsewhere on a shared machine falls on both) are pooled: the figure is the
 * whoami p99 under the storm, next to the same probe's p99 without it; the target is 20 ms. Each round is printed.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { post, startGatehouse } from "./server.js";
import { fmt, type Row } from "./table.js";
import { wrkPostScript } from "./wrk.js";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const CONNECTIONS = 8;
const TARGET_MS = 20;
const ROUNDS = Number(process.env.BENCH_STORM_ROUNDS ?? 3);

async function probe(url: string, token: string, seconds: number): Promise<number[]> {
  const latencies: number[] = [];
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end) {
    const t = performance.now();
    const r = await fetch(`${url}/_matrix/client/v3/account/whoami`, { headers: { authorization: `Bearer ${token}` } });
    await r.arrayBuffer();
    if (r.status !== 200) throw new Error(`whoami answered ${r.status}`);
    latencies.push(performance.now() - t);
    await sleep(5);
  }
  return latencies;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

function summary(values: number[]): string {
  return `${percentile(values, 50).toFixed(1)}/${percentile(values, 99).toFixed(1)} ms`;
}

/** Probes whoami while wrk sends logins; the probe starts a second in, once every hashing thread is busy. */
async function duringStorm(
  url: string,
  token: string,
  script: string,
): Promise<{ latencies: number[]; loginsPerSecond: number }> {
  const wrk = spawn("wrk", ["-t2", `-c${CONNECTIONS}`, `-d${SECONDS}s`, "-s", script, url], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  wrk.stdout.on("data", (d: Buffer) => (out += d.toString()));
  const finished = new Promise<void>((resolve, reject) => {
    wrk.on("error", reject);
    wrk.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`wrk exited with ${code}`))));
  });
  await sleep(1000);
  const latencies = await probe(url, token, SECONDS - 2);
  await finished;
  if (/Non-2xx or 3xx responses/.test(out)) throw new Error(`some logins failed:\n${out}`);
  return { latencies, loginsPerSecond: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN) };
}

export async function stormFigures(): Promise<Row[]> {
  const dir = mkdtempSync(join(tmpdir(), "gatehouse-storm-bench-"));
  const { url, proc } = await startGatehouse(dir, {});
  try {
    await post(`${url}/_matrix/client/v3/register`, {
      username: "storm",
      password: "bench-password",
      auth: { type: "m.login.dummy" },
      inhibit_login: true,
    });
    const reg = await post(`${url}/_matrix/client/v3/register`, {
      username: "prober",
      password: "bench-password",
      auth: { type: "m.login.dummy" },
    });
    const token = reg.access_token as string;
    const script = wrkPostScript(
      dir,
      "storm",
      "/_matrix/client/v3/login",
      '{"type":"m.login.password","identifier":{"type":"m.id.user","user":"storm"},"password":"bench-password","device_id":"S%d%d"}',
    );

    const quiet: number[] = [];
    const storm: number[] = [];
    const logins: number[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const q = await probe(url, token, Math.max(3, SECONDS / 2));
      const { latencies: s, loginsPerSecond } = await duringStorm(url, token, script);
      quiet.push(...q);
      storm.push(...s);
      logins.push(loginsPerSecond);
      console.log(
        `storm round ${round}: ${fmt(loginsPerSecond)} logins/s; whoami p50/p99 ${summary(s)} under the storm, ` +
          `${summary(q)} without`,
      );
    }
    const meanLogins = logins.reduce((a, b) => a + b, 0) / logins.length;
    return [
      {
        figure: `whoami p99 during a login storm (${CONNECTIONS} connections, ${fmt(meanLogins)} logins/s, ${ROUNDS} rounds)`,
        value: `${percentile(storm, 99).toFixed(1)} ms (p50 ${percentile(storm, 50).toFixed(1)})`,
        ceiling: `${percentile(quiet, 99).toFixed(1)} ms without the storm (p50 ${percentile(quiet, 50).toFixed(1)})`,
        ratio: `${storm.length} probes`,
        target: `≤ ${TARGET_MS} ms`,
      },
    ];
  } finally {
    proc.kill("SIGTERM");
    rmSync(dir, { recursive: true, force: true });
  }
}
