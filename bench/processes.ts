/**
 * `npm run bench -- processes`: whoami requests/s on PostgreSQL from one `gatehouse serve` process and from
 * `--workers 2` (the `workers` config key), wrk as the load generator, and the ratio against the 1.6× target.
 *
 * Both runs use the same throwaway PostgreSQL cluster, database and access token; only the process count changes.
 * On a machine with fewer cores than workers + wrk + PostgreSQL, the ratio measures sharing, not scaling: the
 * detail table prints the core count next to the figures so a reader can tell which it was.
 */
import { spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { databaseConfigFromUrl } from "../src/db/database.js";
import { startThrowawayPostgres } from "../test/setup/postgres.js";
import { post, startGatehouse } from "./server.js";
import { fmt, type Row } from "./table.js";

const DURATION_S = Number(process.env.BENCH_SECONDS ?? 8);
const CONNECTIONS = 50;
const TARGET = 1.6;
/** Alternating wrk runs per server; each figure is their mean. */
const ROUNDS = Number(process.env.BENCH_PROCESS_ROUNDS ?? 3);

function wrkRate(url: string, token: string): number {
  const args = ["-t2", `-c${CONNECTIONS}`, `-d${DURATION_S}s`, "-H", `Authorization: Bearer ${token}`, url];
  const r = spawnSync("wrk", args, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`wrk failed: ${r.stderr}`);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(r.stdout)?.[1] ?? NaN);
  // Errors would inflate the rate with cheap answers; a figure with any is not a whoami figure.
  if (/Non-2xx or 3xx responses/.test(r.stdout)) throw new Error(`wrk saw error responses:\n${r.stdout}`);
  return rps;
}

function stopped(proc: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (proc.exitCode !== null) return resolve();
    proc.once("exit", () => resolve());
    proc.kill("SIGTERM");
  });
}

export async function processesFigures(): Promise<Row[]> {
  if (spawnSync("wrk", ["--version"]).error) {
    return [
      { figure: "whoami req/s, 2 processes", value: "skipped", ceiling: "wrk not installed", ratio: "", target: "" },
    ];
  }
  const dir = mkdtempSync(join(tmpdir(), "gatehouse-bench-processes-"));
  const cluster = process.env.GATEHOUSE_TEST_PG_URL ? null : await startThrowawayPostgres();
  try {
    const adminUrl = process.env.GATEHOUSE_TEST_PG_URL ?? cluster!.url;
    const name = `bench_processes_${process.pid}`;
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    const url = new URL(adminUrl);
    url.pathname = `/${name}`;
    const config = databaseConfigFromUrl(url.toString());
    const database = { ...config, args: Object.fromEntries(Object.entries(config.args).filter(([, v]) => v !== null)) };

    // Both servers run side by side (an idle one costs nothing) and the wrk runs alternate, so a burst of load from
    // elsewhere on a shared machine lands on both figures rather than on one.
    const single = await startGatehouse(mkdtempSync(join(dir, "one-")), { server_name: "bench.local", database });
    const pair = await startGatehouse(mkdtempSync(join(dir, "two-")), {
      server_name: "bench.local",
      database,
      workers: 2,
    });
    const rates = new Map<number, number[]>([
      [1, []],
      [2, []],
    ]);
    try {
      const reg = await post(`${single.url}/_matrix/client/v3/register`, {
        username: "processes-bench",
        password: "bench-password",
        auth: { type: "m.login.dummy" },
      });
      const token = String(reg.access_token);
      for (let round = 0; round < ROUNDS; round++) {
        rates.get(1)!.push(wrkRate(`${single.url}/_matrix/client/v3/account/whoami`, token));
        rates.get(2)!.push(wrkRate(`${pair.url}/_matrix/client/v3/account/whoami`, token));
      }
    } finally {
      await Promise.all([stopped(single.proc), stopped(pair.proc)]);
    }
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const one = mean(rates.get(1)!);
    const two = mean(rates.get(2)!);
    const perRound = rates
      .get(1)!
      .map((r, i) => `${(rates.get(2)![i]! / r).toFixed(2)}×`)
      .join(", ");
    const cores = availableParallelism();
    return [
      {
        figure: `whoami req/s, 1 process (PostgreSQL, mean of ${ROUNDS})`,
        value: fmt(one),
        ceiling: "",
        ratio: "",
        target: "",
      },
      {
        figure: `whoami req/s, --workers 2 (PostgreSQL, mean of ${ROUNDS})`,
        value: fmt(two),
        ceiling: `${fmt(one)} req/s 1 process`,
        ratio: `${(two / one).toFixed(2)}× (rounds ${perRound}; ${cores} cores shared with wrk)`,
        target: `≥ ${TARGET}×`,
      },
    ];
  } finally {
    cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
