/**
 * `npm run bench`: Gatehouse's throughput next to the ceiling measured in the same run on the same machine.
 *
 * - registrations/s and logins/s against the raw hash and verify rate of the same algorithm and parameters, on
 *   every hashing thread at once (each registration costs one hash, each login one verify);
 * - whoami requests/s and p99 latency at 50 connections (wrk) against a bare node:http server answering the same
 *   JSON;
 * - the admin user search over a million accounts on SQLite and PostgreSQL (bench/search.ts);
 * - a `/messages` page of 50 on SQLite and PostgreSQL against the same rows read from the store (bench/messages.ts);
 * - rooms: messages/s, delivery latency, initial /sync and idle RSS on SQLite and PostgreSQL (bench/rooms.ts);
 * - thumbnails: thumbnail generations/s through HTTP against sharp called directly (bench/media-thumbnails.ts);
 * - media: uploads/s and download MiB/s against the disk's own rate for the same bytes (bench/media-transfer.ts).
 *
 * `npm run bench -- search` runs only the parts named (see PARTS below).
 *
 * Ratios within one run are what to quote: these machines are shared and noisy.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { sharedHashPool } from "../src/accounts/hash-pool.js";
import { PasswordHasher } from "../src/accounts/passwords.js";
import { benchImport } from "./import.js";
import { thumbnailFigures } from "./media-thumbnails.js";
import { mediaTransferFigures } from "./media-transfer.js";
import { messagesFigures } from "./messages.js";
import { processesFigures } from "./processes.js";
import { roomsFigures } from "./rooms.js";
import { syncQueryFigures } from "./sync-queries.js";
import { toDeviceFigures } from "./to-device.js";
import { wakeCpuFigures } from "./wake-cpu.js";
import { stormFigures } from "./storm.js";
import { searchFigures } from "./search.js";
import { sendCostFigures } from "./send-cost.js";
import { post, startGatehouse } from "./server.js";
import { fmt, printTable, type Row } from "./table.js";
import { wrkPostScript } from "./wrk.js";

const DURATION_S = Number(process.env.BENCH_SECONDS ?? 8);
/** Operations kept in flight: two per hashing thread, as the pool posts them, so no thread waits for work. */
const IN_FLIGHT = sharedHashPool().size * 2;

const rows: Row[] = [];

/** Runs `op` with `concurrency` in flight for `seconds`; returns completed operations per second. */
async function rate(op: (i: number) => Promise<unknown>, concurrency: number, seconds: number): Promise<number> {
  const end = performance.now() + seconds * 1000;
  let done = 0;
  let i = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        await op(i++);
        done++;
      }
    }),
  );
  return done / ((performance.now() - start) / 1000);
}

/** Successful POSTs per second with wrk as the load generator: it costs the server's cores far less than fetch. */
function wrkPostRate(url: string, script: string, connections: number): number {
  const r = spawnSync("wrk", ["-t2", `-c${connections}`, `-d${DURATION_S}s`, "-s", script, url], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`wrk failed: ${r.stderr}`);
  const requests = Number(/(\d+) requests in/.exec(r.stdout)?.[1] ?? NaN);
  const failed = Number(/Non-2xx or 3xx responses: (\d+)/.exec(r.stdout)?.[1] ?? 0);
  const seconds = Number(/requests in ([\d.]+)s/.exec(r.stdout)?.[1] ?? DURATION_S);
  return (requests - failed) / seconds;
}

const HAVE_WRK = !spawnSync("wrk", ["--version"]).error;

/**
 * Measures `figure` between two measurements of its `ceiling` and compares it with their mean, so that load from
 * elsewhere on a shared machine shifts both sides alike instead of whichever happened to run in a quiet moment.
 */
async function bracketed(ceiling: () => Promise<number>, figure: () => Promise<number>): Promise<[number, number]> {
  const before = await ceiling();
  const value = await figure();
  const after = await ceiling();
  return [value, (before + after) / 2];
}

async function hashingFigures(dir: string): Promise<string> {
  const hasher = new PasswordHasher({ algorithm: "argon2id", bcryptRounds: 12, pepper: "" });
  const stored = await hasher.hash("bench-password");
  const hashCeiling = () => rate(() => hasher.hash("bench-password"), IN_FLIGHT, DURATION_S / 2);
  const verifyCeiling = () => rate(() => hasher.verify("bench-password", stored), IN_FLIGHT, DURATION_S / 2);

  const { url, proc } = await startGatehouse(dir, {});
  try {
    const regScript = wrkPostScript(
      dir,
      "register",
      "/_matrix/client/v3/register",
      '{"username":"w%d_%d","password":"bench-password","auth":{"type":"m.login.dummy"},"inhibit_login":true}',
    );
    const loginScript = wrkPostScript(
      dir,
      "login",
      "/_matrix/client/v3/login",
      '{"type":"m.login.password","identifier":{"type":"m.id.user","user":"bench0"},"password":"bench-password","device_id":"D%d%d"}',
    );
    await post(`${url}/_matrix/client/v3/register`, {
      username: "bench0",
      password: "bench-password",
      auth: { type: "m.login.dummy" },
      inhibit_login: true,
    });
    const [regRate, hashRate] = await bracketed(hashCeiling, async () =>
      HAVE_WRK
        ? wrkPostRate(url, regScript, IN_FLIGHT * 2)
        : rate(
            (i) =>
              post(`${url}/_matrix/client/v3/register`, {
                username: `fallback${i}`,
                password: "bench-password",
                auth: { type: "m.login.dummy" },
                inhibit_login: true,
              }),
            IN_FLIGHT * 2,
            DURATION_S,
          ),
    );
    const [loginRate, verifyRate] = await bracketed(verifyCeiling, async () =>
      HAVE_WRK
        ? wrkPostRate(url, loginScript, IN_FLIGHT * 2)
        : rate(
            () =>
              post(`${url}/_matrix/client/v3/login`, {
                type: "m.login.password",
                identifier: { type: "m.id.user", user: "bench0" },
                password: "bench-password",
              }),
            IN_FLIGHT * 2,
            DURATION_S,
          ),
    );
    rows.push({
      figure: "registrations/s (argon2id m=19MiB t=2 p=1)",
      value: fmt(regRate),
      ceiling: `${fmt(hashRate)} hashes/s`,
      ratio: `${((regRate / hashRate) * 100).toFixed(0)} %`,
      target: "≥ 90 %",
    });
    rows.push({
      figure: "logins/s (password, argon2id)",
      value: fmt(loginRate),
      ceiling: `${fmt(verifyRate)} verifies/s`,
      ratio: `${((loginRate / verifyRate) * 100).toFixed(0)} %`,
      target: "≥ 90 %",
    });
    const reg = await post(`${url}/_matrix/client/v3/register`, {
      username: "whoami-bench",
      password: "bench-password",
      auth: { type: "m.login.dummy" },
    });
    return reg.access_token as string;
  } finally {
    proc.kill("SIGTERM");
  }
}

interface WrkResult {
  rps: number;
  p99ms: number;
}

function parseWrk(out: string): WrkResult {
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN);
  const m = /99%\s+([\d.]+)(us|ms|s)/.exec(out);
  const unit = m?.[2] === "us" ? 0.001 : m?.[2] === "s" ? 1000 : 1;
  return { rps, p99ms: m ? Number(m[1]) * unit : NaN };
}

function wrk(url: string, headers: string[]): WrkResult {
  const args = ["-t2", "-c50", `-d${DURATION_S}s`, "--latency", ...headers.flatMap((h) => ["-H", h]), url];
  const r = spawnSync("wrk", args, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`wrk failed: ${r.stderr}`);
  return parseWrk(r.stdout);
}

/** A bare node:http server in its own process answering the same body whoami does. */
function startBare(body: string): Promise<{ url: string; proc: ChildProcess }> {
  const code = `const http=require("node:http");const b=${JSON.stringify(body)};
    const s=http.createServer((q,r)=>{r.writeHead(200,{"content-type":"application/json; charset=utf-8","content-length":Buffer.byteLength(b)});r.end(b)});
    s.listen(0,"127.0.0.1",()=>console.log("port "+s.address().port));`;
  const proc = spawn(process.execPath, ["-e", code], { stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve) => {
    proc.stdout.on("data", (d: Buffer) => {
      const m = /port (\d+)/.exec(d.toString());
      if (m) resolve({ url: `http://127.0.0.1:${m[1]}`, proc });
    });
  });
}

async function whoamiFigures(dir: string, token: string): Promise<void> {
  if (!HAVE_WRK) {
    rows.push({
      figure: "whoami req/s at 50 connections",
      value: "skipped",
      ceiling: "wrk not installed (apt-get install wrk)",
      ratio: "",
      target: "",
    });
    return;
  }
  const { url, proc } = await startGatehouse(dir, {});
  try {
    const whoamiUrl = `${url}/_matrix/client/v3/account/whoami`;
    const sample = await (await fetch(whoamiUrl, { headers: { authorization: `Bearer ${token}` } })).text();
    const bare = await startBare(sample);
    try {
      const g = wrk(whoamiUrl, [`Authorization: Bearer ${token}`]);
      const b = wrk(`${bare.url}/_matrix/client/v3/account/whoami`, [`Authorization: Bearer ${token}`]);
      rows.push({
        figure: "whoami req/s, 50 connections (SQLite)",
        value: fmt(g.rps),
        ceiling: `${fmt(b.rps)} req/s bare node:http`,
        ratio: `${((g.rps / b.rps) * 100).toFixed(0)} %`,
        target: "≥ 50 %",
      });
      rows.push({
        figure: "whoami p99 latency, 50 connections",
        value: `${g.p99ms.toFixed(2)} ms`,
        ceiling: `${b.p99ms.toFixed(2)} ms bare node:http`,
        ratio: "",
        target: "",
      });
    } finally {
      bare.proc.kill();
    }
  } finally {
    proc.kill("SIGTERM");
  }
}

async function accountFigures(): Promise<Row[]> {
  const dir = mkdtempSync(join(tmpdir(), "gatehouse-bench-"));
  try {
    const token = await hashingFigures(dir);
    await whoamiFigures(dir, token);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

/**
 * The parts, in the order `npm run bench` runs them; `npm run bench -- search` runs only the parts named. A part
 * returns its rows of the summary table (and may print a detail table of its own first). Adding one is one line.
 */
const PARTS: Record<string, () => Promise<Row[]>> = {
  accounts: accountFigures,
  search: searchFigures,
  import: benchImport,
  processes: processesFigures,
  storm: stormFigures,
  messages: messagesFigures,
  rooms: roomsFigures,
  queries: syncQueryFigures,
  wake: wakeCpuFigures,
  send: sendCostFigures,
  todevice: toDeviceFigures,
  thumbnails: thumbnailFigures,
  media: mediaTransferFigures,
};

async function main(): Promise<void> {
  const asked = process.argv.slice(2);
  const unknown = asked.filter((p) => !Object.hasOwn(PARTS, p));
  if (unknown.length > 0) {
    console.error(`unknown benchmark part ${unknown.join(", ")}: the parts are ${Object.keys(PARTS).join(", ")}`);
    process.exit(2);
  }
  console.log(
    `Gatehouse benchmarks: ${availableParallelism()} cores, ${sharedHashPool().size} hashing threads, ${DURATION_S} s per figure, node ${process.version}\n`,
  );
  const all: Row[] = [];
  for (const part of asked.length > 0 ? asked : Object.keys(PARTS)) all.push(...(await PARTS[part]!()));
  printTable(all);
}

await main();
