/**
 * `npm run bench -- wake`: the CPU a woken long-poll `/sync` costs the server process alone, which `queries` cannot
 * say (its server shares the process with its clients, and runs the sources through tsx). A built `gatehouse serve`
 * on SQLite in its own process; `BENCH_WAKE_MEMBERS` (default 20 and 200) members of one room each hold
 * `GET /sync?since=…&timeout=30000` while another member sends one message, round after round; the server's CPU
 * time is read from `/proc` around the rounds, and that of as many sends with nobody polling is subtracted. The
 * reference is the same server answering `GET /_matrix/client/versions`, the cheapest request it serves.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BenchClient } from "./client.js";
import { startGatehouse } from "./server.js";
import type { Row } from "./table.js";

const MEMBER_COUNTS = (process.env.BENCH_WAKE_MEMBERS ?? "20,200").split(",").map(Number);
const ROUNDS = 20;
const WARM_WAKES = 2000;
/** Long enough for every member's poll to be waiting when the message is sent. */
const SETTLE_MS = 150;
const C = "/_matrix/client/v3";
const UNLIMITED = { per_second: 1e6, burst_count: 1e6 };

/** The process's user and system CPU time so far, in milliseconds (`/proc` counts in hundredths of a second). */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function perWake(members: number): Promise<Row[]> {
  const dir = mkdtempSync(join(tmpdir(), "gatehouse-bench-wake-"));
  const { url, proc } = await startGatehouse(dir, {
    rc_message: UNLIMITED,
    rc_joins: { local: UNLIMITED },
    password_config: { argon2: { memory_cost: 8, time_cost: 1, parallelism: 1 } },
  });
  const client = new BenchClient(url, members + 10);
  try {
    let n = 0;
    const register = async () =>
      (
        await client.call<{ access_token: string }>("POST", `${C}/register`, null, {
          username: `w${n++}`,
          password: "bench password",
          auth: { type: "m.login.dummy" },
        })
      ).access_token;
    const sender = await register();
    const { room_id: roomId } = await client.call<{ room_id: string }>("POST", `${C}/createRoom`, sender, {
      preset: "public_chat",
    });
    const roomPath = `${C}/rooms/${encodeURIComponent(roomId)}`;
    const tokens: string[] = [];
    for (let i = 0; i < members; i++) {
      const token = await register();
      await client.call("POST", `${roomPath}/join`, token, {});
      tokens.push(token);
    }
    let txn = 0;
    const send = () =>
      client.call("PUT", `${roomPath}/send/m.room.message/t${txn++}`, sender, { msgtype: "m.text", body: "hi" });
    const since = new Map<string, string>();
    const sync = async (token: string, timeoutMs: number) => {
      const query = since.has(token) ? `since=${since.get(token)}&timeout=${timeoutMs}` : "timeout=0";
      since.set(token, (await client.call<{ next_batch: string }>("GET", `${C}/sync?${query}`, token)).next_batch);
    };
    /** Every member up to date, so that the next round's polls wait for its message. */
    const catchUp = () => Promise.all(tokens.map((t) => sync(t, 0)));
    const round = async () => {
      const polls = tokens.map((t) => sync(t, 30_000));
      await sleep(SETTLE_MS);
      await send();
      await Promise.all(polls);
    };
    await catchUp();
    await catchUp();
    // Warm: the compiler's threads count in the process's CPU time, and a server that has answered few syncs is
    // still compiling them.
    for (let i = 0; i < WARM_WAKES / members + 2; i++) await round();

    let at = cpuMs(proc.pid!);
    for (let i = 0; i < ROUNDS; i++) {
      await send();
      await sleep(SETTLE_MS);
    }
    const alone = cpuMs(proc.pid!) - at;
    await catchUp();
    at = cpuMs(proc.pid!);
    for (let i = 0; i < ROUNDS; i++) await round();
    const woken = cpuMs(proc.pid!) - at;

    const CHEAP = 2000;
    at = cpuMs(proc.pid!);
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        for (let i = 0; i < CHEAP / 4; i++) await client.call("GET", "/_matrix/client/versions", null);
      }),
    );
    const cheap = cpuMs(proc.pid!) - at;
    return [
      {
        figure: `server CPU ms per woken /sync, ${members} members polling (SQLite, server process alone)`,
        value: ((woken - alone) / (ROUNDS * members)).toFixed(2),
        ceiling: `GET /versions: ${(cheap / CHEAP).toFixed(2)} ms; the send alone: ${(alone / ROUNDS).toFixed(1)} ms`,
        ratio: "",
        target: "",
      },
    ];
  } finally {
    client.close();
    proc.kill("SIGTERM");
    await new Promise((r) => proc.once("exit", r));
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function wakeCpuFigures(): Promise<Row[]> {
  const rows: Row[] = [];
  for (const members of MEMBER_COUNTS) rows.push(...(await perWake(members)));
  return rows;
}
