/**
 * PostgreSQL stopped under load (`pg_ctl stop -m fast`, which also ends the server's open connections) and started
 * again. A real `gatehouse serve` process on its own throwaway cluster keeps serving whoami, login and registration
 * throughout. During the outage every answer is a Matrix error (503 with Retry-After, never a bare 500 or a dropped
 * connection) within the request bound, the process stays up, and once PostgreSQL is back service resumes by itself
 * within 5 s. A second outage freezes PostgreSQL instead (SIGSTOP: connections hang rather than being refused), which
 * only the connection timeout can end.
 */
import { readdirSync, readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ServerProcess } from "../helpers/server.js";
import { startThrowawayPostgres } from "../setup/postgres.js";
import {
  attempt,
  isMatrixErrorBody,
  loginBody,
  registerBody,
  serveProcess,
  sleep,
  testDatabaseFromUrl,
  type Outcome,
} from "./support.js";

const PASSWORD = "outage password 1";
/** database.args for the server: short, so the test is quick; the defaults are 5 s and 30 s. */
const CONNECT_TIMEOUT_S = 2;
const STATEMENT_TIMEOUT_MS = 3_000;
/**
 * The longest an answer may take while PostgreSQL is away. A request fails on its first database call that fails:
 * waiting for a connection ends after connect_timeout, a statement on a connection that hangs after
 * statement_timeout + 1 s (the client-side timer); the bound is their sum plus slack for a loaded machine.
 */
const ANSWER_BOUND_MS = CONNECT_TIMEOUT_S * 1000 + STATEMENT_TIMEOUT_MS + 2_000;

interface Logged extends Outcome {
  kind: string;
}

describe("PostgreSQL outage under load", () => {
  let cluster: Awaited<ReturnType<typeof startThrowawayPostgres>>;
  let server: ServerProcess;
  let token: string;
  let stopped = false;

  beforeAll(async () => {
    cluster = await startThrowawayPostgres();
    const db = testDatabaseFromUrl(cluster.url);
    server = await serveProcess(db, {
      connect_timeout: CONNECT_TIMEOUT_S,
      statement_timeout: STATEMENT_TIMEOUT_MS,
    }).start();
    const r = await attempt(server.url, "POST", "/_matrix/client/v3/register", {
      json: registerBody("steady", PASSWORD),
    });
    expect(r.status, r.text).toBe(200);
    token = (r.body as { access_token: string }).access_token;
  });

  afterAll(async () => {
    // beforeAll may have failed part-way.
    const made = { server, cluster } as { server?: ServerProcess; cluster?: typeof cluster };
    await made.server?.stop("SIGKILL");
    if (stopped) made.cluster?.resume();
    made.cluster?.stop();
  });

  /** Runs whoami, login and registration in `workers` loops until `until()` is true, logging every outcome. */
  function load(workers: number, until: () => boolean): { log: Logged[]; done: Promise<void> } {
    const log: Logged[] = [];
    let n = 0;
    const loop = async (w: number) => {
      while (!until()) {
        const i = n++;
        const which = (w + i) % 3;
        const o =
          which === 0
            ? await attempt(server.url, "GET", "/_matrix/client/v3/account/whoami", { token })
            : which === 1
              ? await attempt(server.url, "POST", "/_matrix/client/v3/login", { json: loginBody("steady", PASSWORD) })
              : await attempt(server.url, "POST", "/_matrix/client/v3/register", {
                  json: registerBody(`load${i}_${Date.now().toString(36)}`, PASSWORD),
                });
        log.push({ ...o, kind: ["whoami", "login", "register"][which]! });
      }
    };
    return { log, done: Promise.all(Array.from({ length: workers }, (_, w) => loop(w))).then(() => {}) };
  }

  /**
   * Polls registration (which must write) until it succeeds; returns how long that took, and what the last refusal
   * was (for the failure message: a 503 names the database error, a status 0 a request that got no answer).
   */
  async function untilServing(limitMs: number): Promise<{ ms: number; last: string }> {
    const from = performance.now();
    let last = "no attempt";
    for (let i = 0; performance.now() - from < limitMs; i++) {
      const r = await attempt(server.url, "POST", "/_matrix/client/v3/register", {
        json: registerBody(`probe${i}_${Date.now().toString(36)}`, PASSWORD),
        timeoutMs: limitMs,
      });
      if (r.status === 200) return { ms: performance.now() - from, last: "" };
      last = `attempt ${i + 1} after ${Math.round(r.ms)} ms: ${r.status} ${r.failure ?? r.text}`;
      await sleep(50);
    }
    return { ms: Infinity, last };
  }

  function expectOutageAnswers(during: Logged[]): void {
    const refusals = during.filter((o) => o.status !== 200);
    expect(refusals.length, "the outage should have refused some requests").toBeGreaterThan(0);
    for (const o of during) {
      const label = `${o.kind} after ${Math.round(o.ms)} ms: ${o.status} ${o.failure ?? o.text}`;
      expect(o.status, label).not.toBe(0);
      expect(o.ms, label).toBeLessThan(ANSWER_BOUND_MS);
      if (o.status === 200) continue; // whoami from the token cache needs no database.
      expect(isMatrixErrorBody(o.body), label).toBe(true);
      expect(o.status, label).toBe(503);
      expect(o.headers?.get("retry-after"), label).toBe("2");
      expect(o.text, label).not.toMatch(/\bat .+:\d+:\d+|Error:/);
    }
  }

  it("answers Matrix errors while PostgreSQL is stopped, stays up, and serves again within 5 s", async () => {
    let stop = false;
    const { log, done } = load(6, () => stop);
    await sleep(1_000);
    const outageFrom = performance.now();
    cluster.pause("fast");
    stopped = true;
    await sleep(3_000);
    cluster.resume();
    stopped = false;
    const outageTo = performance.now();
    const resumed = await untilServing(5_000);
    const resumedIn = resumed.ms;
    await sleep(500);
    stop = true;
    await done;

    expect(server.proc.exitCode, server.stderr()).toBeNull();
    const during = log.filter((o) => o.startedAt >= outageFrom && o.startedAt + o.ms <= outageTo);
    expectOutageAnswers(during);
    expect(
      resumedIn,
      `registration succeeds within 5 s of PostgreSQL coming back; ${resumed.last}; ${serverTail()}`,
    ).toBeLessThan(5_000);
    console.log(
      `stopped PostgreSQL: ${during.length} requests during the outage ` +
        `(${during.filter((o) => o.status === 503).length} refused 503, slowest ${Math.round(Math.max(...during.map((o) => o.ms)))} ms); ` +
        `service back ${Math.round(resumedIn)} ms after PostgreSQL started`,
    );
    // Before the outage and after it, the load was served.
    expect(log.filter((o) => o.startedAt > outageTo + resumedIn && o.status === 200).length).toBeGreaterThan(0);
    expect(server.stderr()).not.toMatch(/\n\s+at /);
  });

  it("answers within the connection timeout while PostgreSQL hangs (SIGSTOP), and recovers on SIGCONT", async () => {
    let stop = false;
    const { log, done } = load(4, () => stop);
    await sleep(500);
    const pid = postmasterPid();
    // Freezing the postmaster leaves established connections working; the pool's new connections are what hang.
    // Freezing every backend too makes open connections hang as well, as on a network partition.
    const frozen = [pid, ...childrenOf(pid)];
    const outageFrom = performance.now();
    for (const p of frozen) process.kill(p, "SIGSTOP");
    // Besides the load (whose workers each wait out one timeout), a new request every 250 ms, each a new caller.
    const probes: Promise<void>[] = [];
    try {
      for (let i = 0; performance.now() - outageFrom < ANSWER_BOUND_MS + 1_000; i++) {
        const which = i % 2;
        probes.push(
          attempt(server.url, "POST", "/_matrix/client/v3/" + (which ? "login" : "register"), {
            json: which ? loginBody("steady", PASSWORD) : registerBody(`frozen${i}`, PASSWORD),
          }).then((o) => void log.push({ ...o, kind: which ? "login" : "register" })),
        );
        await sleep(250);
      }
    } finally {
      for (const p of frozen) process.kill(p, "SIGCONT");
    }
    const outageTo = performance.now();
    const resumed = await untilServing(5_000);
    const resumedIn = resumed.ms;
    stop = true;
    await Promise.all([done, ...probes]);

    expect(server.proc.exitCode, server.stderr()).toBeNull();
    // Every request begun during the freeze was answered before it ended, within the bound.
    const during = log.filter((o) => o.startedAt >= outageFrom && o.startedAt + ANSWER_BOUND_MS <= outageTo);
    expectOutageAnswers(during);
    expect(resumedIn, `registration succeeds within 5 s of SIGCONT; ${resumed.last}; ${serverTail()}`).toBeLessThan(
      5_000,
    );
    console.log(
      `frozen PostgreSQL: ${during.length} requests, slowest ${Math.round(Math.max(...during.map((o) => o.ms)))} ms; ` +
        `service back ${Math.round(resumedIn)} ms after SIGCONT`,
    );
  });

  /** The server's last lines on stderr, for a failure message. */
  function serverTail(): string {
    return `server stderr ends: ${server.stderr().split("\n").slice(-8).join(" | ")}`;
  }

  /** The postmaster of this test's cluster: the postgres process listening on its port. */
  function postmasterPid(): number {
    const port = new URL(cluster.url).port;
    for (const entry of listNumbers("/proc")) {
      const cmd = readCmdline(entry);
      if (cmd && /postgres/.test(cmd) && cmd.includes(`-p ${port}`)) return entry;
    }
    throw new Error(`no postmaster found for port ${port}`);
  }
});

function listNumbers(dir: string): number[] {
  return readdirSync(dir)
    .filter((e) => /^\d+$/.test(e))
    .map(Number);
}

function readCmdline(pid: number): string | null {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ");
  } catch {
    return null;
  }
}

function childrenOf(pid: number): number[] {
  return listNumbers("/proc").filter((p) => {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, "utf8");
      return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === pid;
    } catch {
      return false;
    }
  });
}
