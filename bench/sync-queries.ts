/**
 * `npm run bench -- queries`: the database statements and the main thread's CPU time per request of the room read
 * paths, which the machine's load does not distort as it does latencies. A server runs in this process on SQLite;
 * every statement run on its connection is counted.
 *
 * - a woken `/sync`: `BENCH_QUERY_MEMBERS` members long-poll one room while another member sends one message, ten
 *   times; the statements of the sends alone (measured before, with nobody polling) are subtracted;
 * - a `/messages` page of 50 (`dir=b`) in a room of 200 messages, twenty times;
 * - an initial `/sync` of a user in `BENCH_QUERY_ROOMS` rooms, per room.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { configFrom, rawConfigFor } from "../test/helpers/server.js";
import { startServer } from "../src/server.js";
import { BenchClient } from "./client.js";
import type { Row } from "./table.js";

const MEMBERS = Number(process.env.BENCH_QUERY_MEMBERS ?? 20);
const ROOMS = Number(process.env.BENCH_QUERY_ROOMS ?? 20);
const C = "/_matrix/client/v3";
const UNLIMITED = { per_second: 1e6, burst_count: 1e6 };

let statements = 0;
// Runs, not preparations: the server keeps its prepared statements and runs them again (src/db/sqlite-statements.ts).
const probe = new Database(":memory:");
const proto = Object.getPrototypeOf(probe.prepare("select 1")) as Record<string, (...args: unknown[]) => unknown>;
probe.close();
for (const method of ["all", "get", "run", "iterate"]) {
  const original = proto[method]!;
  proto[method] = function (this: unknown, ...args: unknown[]) {
    statements++;
    return original.apply(this, args);
  };
}

interface User {
  userId: string;
  token: string;
}

/** Statements and main-thread CPU milliseconds spent while `fn` runs. */
async function measure(fn: () => Promise<void>): Promise<{ statements: number; cpuMs: number }> {
  const s0 = statements;
  const c0 = process.cpuUsage();
  await fn();
  const c = process.cpuUsage(c0);
  return { statements: statements - s0, cpuMs: (c.user + c.system) / 1000 };
}

export async function syncQueryFigures(): Promise<Row[]> {
  const dir = mkdtempSync(join(tmpdir(), "gatehouse-bench-queries-"));
  const raw = rawConfigFor(
    { kind: "sqlite", url: "", config: { name: "sqlite3", args: { database: join(dir, "homeserver.db") } } },
    {
      enable_registration: true,
      enable_registration_without_verification: true,
      rc_registration: UNLIMITED,
      rc_message: UNLIMITED,
      rc_joins: { local: UNLIMITED },
    },
  );
  const server = await startServer(configFrom(raw), () => {});
  const client = new BenchClient(server.addresses[0]!.url, MEMBERS + 10);
  try {
    let n = 0;
    const register = async (): Promise<User> => {
      const r = await client.call<{ user_id: string; access_token: string }>("POST", `${C}/register`, null, {
        username: `u${n++}`,
        password: "bench password",
        auth: { type: "m.login.dummy" },
      });
      return { userId: r.user_id, token: r.access_token };
    };
    const createRoom = async (u: User) =>
      (await client.call<{ room_id: string }>("POST", `${C}/createRoom`, u.token, { preset: "public_chat" })).room_id;
    const path = (roomId: string) => `${C}/rooms/${encodeURIComponent(roomId)}`;
    let txn = 0;
    const send = (u: User, roomId: string) =>
      client.call("PUT", `${path(roomId)}/send/m.room.message/q${txn++}`, u.token, { msgtype: "m.text", body: "hi" });

    const sender = await register();
    const roomId = await createRoom(sender);
    const members: User[] = [];
    for (let i = 0; i < MEMBERS; i++) {
      const m = await register();
      await client.call("POST", `${path(roomId)}/join`, m.token, {});
      members.push(m);
    }
    const ROUNDS = 10;
    const alone = await measure(async () => {
      for (let i = 0; i < ROUNDS; i++) await send(sender, roomId);
    });
    const since = new Map<string, string>();
    for (const m of members) {
      since.set(
        m.userId,
        (await client.call<{ next_batch: string }>("GET", `${C}/sync?timeout=0`, m.token)).next_batch,
      );
    }
    const poll = async (m: User) => {
      const r = await client.call<{ next_batch: string }>(
        "GET",
        `${C}/sync?since=${since.get(m.userId)}&timeout=30000`,
        m.token,
      );
      since.set(m.userId, r.next_batch);
    };
    // One round first, so what is measured is the steady state, not a first wake.
    const round = async () => {
      const polls = members.map(poll);
      await new Promise((r) => setTimeout(r, 200));
      await send(sender, roomId);
      await Promise.all(polls);
    };
    await round();
    const woken = await measure(async () => {
      for (let i = 0; i < ROUNDS; i++) await round();
    });
    const wakes = ROUNDS * MEMBERS;

    for (let i = 0; i < 200; i++) await send(sender, roomId);
    const PAGES = 20;
    const messages = await measure(async () => {
      for (let i = 0; i < PAGES; i++) await client.call("GET", `${path(roomId)}/messages?dir=b&limit=50`, sender.token);
    });

    const reader = await register();
    for (let i = 0; i < ROOMS; i++) {
      const r = await createRoom(sender);
      await client.call("POST", `${path(r)}/join`, reader.token, {});
      for (let j = 0; j < 5; j++) await send(sender, r);
    }
    const SYNCS = 5;
    const initial = await measure(async () => {
      for (let i = 0; i < SYNCS; i++) await client.call("GET", `${C}/sync`, reader.token);
    });

    const per = (total: number, count: number) => (total / count).toFixed(1);
    const row = (figure: string, value: string, ceiling = ""): Row => ({
      figure,
      value,
      ceiling,
      ratio: "",
      target: "",
    });
    return [
      row(
        `statements / CPU ms per woken /sync, ${MEMBERS} members polling (SQLite)`,
        `${per(woken.statements - alone.statements, wakes)} / ${per(woken.cpuMs - alone.cpuMs, wakes)}`,
        `the send alone: ${per(alone.statements, ROUNDS)} / ${per(alone.cpuMs, ROUNDS)}`,
      ),
      row(
        "statements / CPU ms per /messages page of 50 (SQLite)",
        `${per(messages.statements, PAGES)} / ${per(messages.cpuMs, PAGES)}`,
      ),
      row(
        `statements / CPU ms per room of an initial /sync of ${ROOMS} rooms (SQLite)`,
        `${per(initial.statements, SYNCS * (ROOMS + 1))} / ${per(initial.cpuMs, SYNCS * (ROOMS + 1))}`,
      ),
    ];
  } finally {
    client.close();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
