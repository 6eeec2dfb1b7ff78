/**
 * `gatehouse serve --workers 2` on PostgreSQL as real processes: connections spread over both workers (seen in the
 * primary's merged metrics), a killed worker is replaced, and SIGTERM lets a request in flight finish.
 */
import { spawn } from "node:child_process";
import { existsSync, lstatSync, statSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Db } from "../../src/db/database.js";
import { createTestDatabase, tempDir, type TestDatabase } from "../helpers/databases.js";
import { registerShared } from "../helpers/register.js";
import { rawConfigFor, spawnServer, writeConfigFile, type ServerProcess } from "../helpers/server.js";
import { countUsers, openTestDb, rawRequest, waitFor } from "../api/support.js";
import { parseMetrics, sumOf } from "./support.js";
import { runRefusedServe } from "../cli/in-process.js";

const LOCAL = { bind_addresses: ["127.0.0.1"] };

function workerPids(stderr: string): number[] {
  const m = /2 worker processes: pids (\d+), (\d+)/.exec(stderr);
  if (!m) throw new Error(`no pids in: ${stderr}`);
  return [Number(m[1]), Number(m[2])];
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("serve --workers 2 (PostgreSQL)", () => {
  let db: TestDatabase;
  let conn: Db;
  let server: ServerProcess;
  let metricsUrl: string;

  beforeAll(async () => {
    db = await createTestDatabase("postgres");
    const config = rawConfigFor(db, {
      enable_metrics: true,
      listeners: [
        { port: 0, ...LOCAL, type: "http", resources: [{ names: ["client"] }] },
        { port: 0, ...LOCAL, type: "metrics" },
      ],
      // Slow hashing on purpose: the SIGTERM test needs a request that is surely still in flight.
      password_config: { algorithm: "bcrypt" },
      bcrypt_rounds: 14,
    });
    server = await spawnServer(["-c", writeConfigFile(config), "--workers", "2"]);
    metricsUrl = / on \S+, (http:\/\/\S+)\n/.exec(server.stdout())![1]!;
    await waitFor(server.stderr, (e) => e.includes("worker processes"));
    conn = openTestDb(db);
  });
  afterAll(async () => {
    await conn.close();
    if (server.proc.exitCode === null) await server.stop("SIGKILL");
  });

  async function versionsPerWorker(): Promise<Map<string, number>> {
    const r = await rawRequest({ base: metricsUrl, path: "/_synapse/metrics" });
    expect(r.status).toBe(200);
    const out = new Map<string, number>();
    for (const s of parseMetrics(r.text)) {
      if (s.name === "gatehouse_http_requests_total" && s.labels.route === "/_matrix/client/versions") {
        out.set(s.labels.worker!, (out.get(s.labels.worker!) ?? 0) + s.value);
      }
    }
    return out;
  }

  it("runs two worker processes besides the primary", () => {
    const pids = workerPids(server.stderr());
    expect(new Set([...pids, server.proc.pid]).size).toBe(3);
    expect(pids.every(alive)).toBe(true);
  });

  it("spreads connections over both workers, and the primary's metrics show each under its worker label", async () => {
    const before = await versionsPerWorker();
    // A new connection per request: the primary hands connections, not requests, to workers in turn.
    for (let i = 0; i < 20; i++) {
      expect((await rawRequest({ base: server.url, path: "/_matrix/client/versions" })).status).toBe(200);
    }
    const after = await versionsPerWorker();
    const delta = (w: string) => (after.get(w) ?? 0) - (before.get(w) ?? 0);
    expect(delta("1") + delta("2")).toBe(20);
    expect(delta("1")).toBeGreaterThan(0);
    expect(delta("2")).toBeGreaterThan(0);
  });

  it("gives each worker its share of the cores for hashing, not a thread per core each", async () => {
    const r = await rawRequest({ base: metricsUrl, path: "/_synapse/metrics" });
    const threads = parseMetrics(r.text).filter((s) => s.name === "gatehouse_password_hashing_threads");
    expect(threads.map((s) => [s.labels.worker, s.value]).sort()).toEqual([
      ["1", Math.ceil(availableParallelism() / 2)],
      ["2", Math.ceil(availableParallelism() / 2)],
    ]);
  });

  it("reports each process's own runtime metrics: both workers' and the primary's", async () => {
    const r = await rawRequest({ base: metricsUrl, path: "/_synapse/metrics" });
    const lag = parseMetrics(r.text).filter((s) => s.name === "nodejs_eventloop_lag_seconds");
    expect(lag.map((s) => s.labels.worker).sort()).toEqual(["1", "2", "primary"]);
    const started = parseMetrics(r.text).filter((s) => s.name === "process_start_time_seconds");
    expect(started.map((s) => s.labels.worker).sort()).toEqual(["1", "2", "primary"]);
  });

  it("replaces a worker killed with SIGKILL, and keeps serving", async () => {
    const [victim, other] = workerPids(server.stderr());
    process.kill(victim!, "SIGKILL");
    const log = await waitFor(server.stderr, (e) => /worker \d replaced: pid \d+ is serving/.test(e), 10_000);
    expect(log).toMatch(new RegExp(`worker \\d \\(pid ${victim}\\) exited with signal SIGKILL; starting a new one`));
    const fresh = Number(/worker \d replaced: pid (\d+) is serving/.exec(log)![1]);
    expect(alive(fresh)).toBe(true);
    expect(fresh).not.toBe(victim);
    expect(alive(other!)).toBe(true);
    const results = await Promise.all(
      Array.from({ length: 10 }, () => rawRequest({ base: server.url, path: "/_matrix/client/versions" })),
    );
    expect(results.map((r) => r.status)).toEqual(results.map(() => 200));
    // Both slots report again: the replacement answers the primary's scrapes.
    expect([...(await versionsPerWorker()).keys()].sort()).toEqual(["1", "2"]);
  });

  it("on SIGTERM finishes a request in flight, stops every worker, and exits 0", async () => {
    const pids = [...server.stderr().matchAll(/pid(?:s)? (\d+)(?:, (\d+))?/g)].flatMap((m) =>
      [m[1], m[2]].filter(Boolean).map(Number),
    );
    const before = await countUsers(conn);
    const started = Date.now();
    const inFlight = registerShared(server.url, { username: "late_arrival", password: "slow-bcrypt-pw" });
    await new Promise((r) => setTimeout(r, 150));
    const code = server.stop("SIGTERM");
    const r = await inFlight;
    expect(r.status, r.text).toBe(200);
    expect(r.body.user_id).toBe("@late_arrival:localhost");
    expect(await code).toBe(0);
    // The request outlived the signal: bcrypt at 2^14 takes far longer than the 150 ms before it.
    expect(Date.now() - started).toBeGreaterThan(300);
    expect(await countUsers(conn)).toBe(before + 1);
    expect(server.stderr()).toContain("SIGTERM: stopping 2 workers after their requests in flight");
    expect(pids.filter(alive)).toEqual([]);
  });
});

describe("serve --workers 2 on a UNIX socket", () => {
  it("shares the socket between the workers, and a stale socket file does not stop the start", async () => {
    const db = await createTestDatabase("postgres");
    const dir = tempDir();
    const path = join(dir, "gatehouse.sock");
    // What a crashed run leaves behind: a socket file nobody listens on (a SIGKILL skips node's unlink on close).
    const crashed = spawn(process.execPath, [
      "-e",
      `require("node:net").createServer().listen(${JSON.stringify(path)})`,
    ]);
    await waitFor(() => existsSync(path), Boolean);
    crashed.kill("SIGKILL");
    await new Promise((r) => crashed.once("exit", r));
    expect(lstatSync(path).isSocket()).toBe(true);
    const server = await spawnServer([
      "-c",
      writeConfigFile(
        rawConfigFor(db, {
          enable_metrics: true,
          listeners: [
            { path, mode: "0660", type: "http", resources: [{ names: ["client"] }] },
            { port: 0, ...LOCAL, type: "metrics" },
          ],
        }),
      ),
      "--workers",
      "2",
    ]);
    try {
      expect(server.url).toBe(`unix:${path}`);
      expect(statSync(path).mode & 0o777).toBe(0o660);
      for (let i = 0; i < 20; i++) {
        expect((await rawRequest({ base: server.url, path: "/_matrix/client/versions" })).status).toBe(200);
      }
      const metricsUrl = / on \S+, (http:\/\/\S+)\n/.exec(server.stdout())![1]!;
      const text = (await rawRequest({ base: metricsUrl, path: "/_synapse/metrics" })).text;
      const samples = parseMetrics(text);
      const route = { route: "/_matrix/client/versions" };
      expect(sumOf(samples, "gatehouse_http_requests_total", route)).toBe(20);
      expect(sumOf(samples, "gatehouse_http_requests_total", { ...route, worker: "1" })).toBeGreaterThan(0);
      expect(sumOf(samples, "gatehouse_http_requests_total", { ...route, worker: "2" })).toBeGreaterThan(0);
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });
});

describe("serve --workers 2 when the primary is killed", () => {
  it("its workers stop by themselves, releasing the port", async () => {
    const db = await createTestDatabase("postgres");
    const server = await spawnServer(["-c", writeConfigFile(rawConfigFor(db)), "--workers", "2"]);
    const pids = workerPids(await waitFor(server.stderr, (e) => e.includes("worker processes")));
    expect(pids.every(alive)).toBe(true);
    expect(await server.stop("SIGKILL")).toBe(null);
    await waitFor(
      () => pids.some(alive),
      (a) => !a,
      10_000,
    );
    expect(pids.filter(alive)).toEqual([]);
    await expect(rawRequest({ base: server.url, path: "/health" })).rejects.toThrow(/ECONNREFUSED/);
  });
});

describe("serve --workers refusals", () => {
  it("refuses SQLite with more than one worker, in one line, exit 2", async () => {
    const db = await createTestDatabase("sqlite");
    const r = await runRefusedServe(["-c", writeConfigFile(rawConfigFor(db)), "--workers", "2"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      "error: --workers 2 needs PostgreSQL; SQLite serves one process (use --workers 1 or move to PostgreSQL)\n",
    );
  });

  it("refuses a worker count that is not a whole number from 1", async () => {
    const db = await createTestDatabase("sqlite");
    for (const bad of ["0", "two", "1.5"]) {
      const r = await runRefusedServe(["-c", writeConfigFile(rawConfigFor(db)), "--workers", bad]);
      expect(r.code).toBe(2);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(r.stderr).toContain(
        `--workers <n>' argument '${bad}' is invalid. It must be a whole number from 1 to 256.`,
      );
    }
  });
});
