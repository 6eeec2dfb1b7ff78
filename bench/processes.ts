/**
 * `npm run bench -- processes`: whoami requests/s on PostgreSQL from one `gatehouse serve` process and from
 * `--workers 2` (the `workers` config key), wrk as the load generator, and the ratio against the 1.6× target.
 *
 * Both runs use the same throwaway PostgreSQL cluster, database and access token; only the process count changes.
 * On a machine with fewer cores than workers + wrk + PostgreSQL, the ratio measures sharing, not scaling: the
 * detail table prints the core count next to the figures so a reader can tell which it was.
 *
 * Where the bench may write to the cgroup filesystem (root), the same rounds run a second time with every serving
 * process (the one process; each of the two workers) held to the same CPU quota, BENCH_CPU_CAP cores (0.4). That
 * is a machine with a core per process at 40 % of the speed and cores to spare for wrk and PostgreSQL: the ratio
 * then shows whether a second process adds what the first one does, which two shared cores cannot show.
 */
import { spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { databaseConfigFromUrl } from "../src/config/database-url.js";
import { startThrowawayPostgres } from "../test/setup/postgres.js";
import { childrenOf, cpuQuotas } from "./cgroup.js";
import { post, startGatehouse } from "./server.js";
import { fmt, type Row } from "./table.js";

const DURATION_S = Number(process.env.BENCH_SECONDS ?? 8);
const CONNECTIONS = 50;
const TARGET = 1.6;
/** Alternating wrk runs per server; each figure is their mean. */
const ROUNDS = Number(process.env.BENCH_PROCESS_ROUNDS ?? 3);
const CPU_CAP = Number(process.env.BENCH_CPU_CAP ?? 0.4);

/** wrk's whoami rate, and the CPU time the serving processes spent per request meanwhile (µs). */
function wrkRate(url: string, token: string, pids: number[]): { rps: number; cpuPerRequest: number } {
  const args = ["-t2", `-c${CONNECTIONS}`, `-d${DURATION_S}s`, "-H", `Authorization: Bearer ${token}`, url];
  const cpuBefore = cpuSeconds(pids);
  const r = spawnSync("wrk", args, { encoding: "utf8" });
  const cpu = cpuSeconds(pids) - cpuBefore;
  if (r.status !== 0) throw new Error(`wrk failed: ${r.stderr}`);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(r.stdout)?.[1] ?? NaN);
  const requests = Number(/(\d+) requests in/.exec(r.stdout)?.[1] ?? NaN);
  // Errors would inflate the rate with cheap answers; a figure with any is not a whoami figure.
  if (/Non-2xx or 3xx responses/.test(r.stdout)) throw new Error(`wrk saw error responses:\n${r.stdout}`);
  return { rps, cpuPerRequest: (cpu / requests) * 1e6 };
}

const CLOCK_TICKS = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim() || 100);

/** User + system CPU seconds the processes have used so far (all their threads), from /proc/PID/stat. */
function cpuSeconds(pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    ticks += Number(fields[11]) + Number(fields[12]);
  }
  return ticks / CLOCK_TICKS;
}

function stopped(proc: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (proc.exitCode !== null) {
      resolve();
      return;
    }
    proc.once("exit", () => resolve());
    proc.kill("SIGTERM");
  });
}

type Rates = { 1: { rps: number; cpuPerRequest: number }[]; 2: { rps: number; cpuPerRequest: number }[] };

function ratioRows(rates: Rates, condition: string, note: string): Row[] {
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const one = mean(rates[1].map((r) => r.rps));
  const two = mean(rates[2].map((r) => r.rps));
  const cpuOne = mean(rates[1].map((r) => r.cpuPerRequest));
  const cpuTwo = mean(rates[2].map((r) => r.cpuPerRequest));
  const perRound = rates[1].map((r, i) => `${(rates[2][i]!.rps / r.rps).toFixed(2)}×`).join(", ");
  return [
    {
      figure: `whoami req/s, 1 process (PostgreSQL${condition}, mean of ${ROUNDS})`,
      value: fmt(one),
      ceiling: `${cpuOne.toFixed(1)} µs CPU per request`,
      ratio: "",
      target: "",
    },
    {
      figure: `whoami req/s, --workers 2 (PostgreSQL${condition}, mean of ${ROUNDS})`,
      value: fmt(two),
      ceiling: `${fmt(one)} req/s 1 process; ${cpuTwo.toFixed(1)} µs CPU per request`,
      ratio: `${(two / one).toFixed(2)}× (rounds ${perRound}; ${note})`,
      target: `≥ ${TARGET}×`,
    },
  ];
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
    const raw: Rates = { 1: [], 2: [] };
    const capped: Rates = { 1: [], 2: [] };
    const quotas = cpuQuotas(`gatehouse-bench-${process.pid}`);
    try {
      const reg = await post(`${single.url}/_matrix/client/v3/register`, {
        username: "processes-bench",
        password: "bench-password",
        auth: { type: "m.login.dummy" },
      });
      const token = String(reg.access_token);
      const workers = childrenOf(pair.proc.pid!);
      if (workers.length !== 2) throw new Error(`expected 2 worker processes, found ${workers.length}`);
      const alternate = (into: Rates) => {
        for (let round = 0; round < ROUNDS; round++) {
          into[1].push(wrkRate(`${single.url}/_matrix/client/v3/account/whoami`, token, [single.proc.pid!]));
          into[2].push(wrkRate(`${pair.url}/_matrix/client/v3/account/whoami`, token, [pair.proc.pid!, ...workers]));
        }
      };
      alternate(raw);
      if (quotas) {
        for (const pid of [single.proc.pid!, ...workers]) quotas.limit(pid, CPU_CAP);
        alternate(capped);
      }
    } finally {
      quotas?.release();
      await Promise.all([stopped(single.proc), stopped(pair.proc)]);
    }
    const cores = availableParallelism();
    const rows = ratioRows(raw, "", `${cores} cores shared with wrk and PostgreSQL`);
    if (quotas) {
      rows.push(...ratioRows(capped, `, each process held to ${CPU_CAP} core`, "a quota per process, cores to spare"));
    } else {
      rows.push({
        figure: "whoami, each process held to a CPU quota",
        value: "skipped",
        ceiling: "no writable cgroup filesystem",
        ratio: "",
        target: "",
      });
    }
    return rows;
  } finally {
    cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
