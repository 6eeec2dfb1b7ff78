/**
 * `npm run bench -- rooms`: rooms and messaging, on SQLite and on PostgreSQL, each figure next to a ceiling or a
 * reference measured in the same run:
 *
 * 1. messages persisted/s, 20 senders in 5 rooms, `PUT /rooms/{id}/send/m.room.message/{txn}` against a real
 *    `gatehouse serve`, against the same writes without HTTP: `sendEvent` (src/rooms/persist.ts, the one write
 *    path: auth rules, canonical JSON, content hash, ed25519 signature, reference-hash event ID, the inserts in
 *    one transaction) called with the same concurrency on a RoomsContext built as src/server.ts builds it, on a
 *    database of the same kind set up the same way. The raw rate is measured before and after and averaged.
 * 2. send → delivered-to-all latency with 200 members long-polling one room (`GET /sync?since=…&timeout=30000`,
 *    each re-issued at once) while one of them sends 50 messages/s: from just before each send until each
 *    member's sync returns with it, over every (member, message) pair. Ceiling: the same against a server that only
 *    holds and answers long-polls (bench/bare-long-poll.ts), this machine's floor; reference: one member.
 * 3. initial `/sync` of a user in 200 rooms of 1,000 events each (the median and p95 of 10). Reference: a user in
 *    one such room.
 * 4. idle RSS of `gatehouse serve` on a database with 10,000 rooms, read from /proc after a few seconds idle.
 *    Reference: the same on an empty database.
 *
 * The rooms of 3 and 4 are one room made through the write path and SQL copies of it (bench/room-copies.ts).
 * Sizes: BENCH_ROOM_MESSAGES (messages per run of 1), BENCH_ROOM_MEMBERS, BENCH_ROOM_SECONDS (sending time of 2),
 * BENCH_SYNC_ROOMS, BENCH_RSS_ROOMS. Only some: BENCH_ROOM_DATABASES (`SQLite,PostgreSQL`), BENCH_ROOM_FIGURES
 * (`send,latency,initialSync,idleRss`), BENCH_ROOM_WORKERS (`--workers` for the delivery figure on PostgreSQL).
 * PostgreSQL: `GATEHOUSE_TEST_PG_URL` if set, else a throwaway cluster.
 */
import { setMaxListeners } from "node:events";
import { readFileSync } from "node:fs";
import { sendEvent } from "../src/rooms/persist.js";
import { currentPosition } from "../src/sync/stream.js";
import { bareLongPollServer } from "./bare-long-poll.js";
import { BenchClient } from "./client.js";
import { copyRoom } from "./room-copies.js";
import { fillRoom, makeRoom, makeUsers, openRooms, type BenchUser } from "./room-data.js";
import { C, configFor, eachDatabase, ms, percentile, withServer, type Kind, type NewDatabase } from "./room-servers.js";
import { fmt, printTable, type Row } from "./table.js";

const MESSAGES = Number(process.env.BENCH_ROOM_MESSAGES ?? 1000);
const SENDERS = 20;
const SEND_ROOMS = 5;
const MEMBERS = Number(process.env.BENCH_ROOM_MEMBERS ?? 200);
const RATE = 50;
const SEND_SECONDS = Number(process.env.BENCH_ROOM_SECONDS ?? 4);
const SYNC_ROOMS = Number(process.env.BENCH_SYNC_ROOMS ?? 200);
const EVENTS_PER_ROOM = 1000;
const SYNC_RUNS = 10;
const RSS_ROOMS = Number(process.env.BENCH_RSS_ROOMS ?? 10_000);
const IDLE_MS = 5000;
/** Processes serving the delivery figure on PostgreSQL (`--workers`; SQLite always runs one). */
const WORKERS = Number(process.env.BENCH_ROOM_WORKERS ?? 1);

const text = (body: string, i?: number) => ({ msgtype: "m.text", body, ...(i !== undefined ? { i } : {}) });
const roomPath = (roomId: string) => `${C}/rooms/${encodeURIComponent(roomId)}`;

/** 1: messages/s over HTTP against `sendEvent` in-process, both with 20 senders in 5 rooms. */
async function sendFigures(kind: Kind, dir: string, newDb: NewDatabase): Promise<Row[]> {
  const setUp = async (database: Record<string, unknown>) => {
    const opened = await openRooms(configFor(dir, database));
    const users = await makeUsers(opened.ctx, "sender", SENDERS);
    const rooms: string[] = [];
    for (let r = 0; r < SEND_ROOMS; r++) rooms.push(await makeRoom(opened.ctx, users[r]!, users));
    return { ...opened, users, rooms };
  };
  const perSender = Math.ceil(MESSAGES / SENDERS);
  const total = perSender * SENDERS;
  /** Each sender sends its share in turn over the rooms; returns messages/s. */
  const run = async (users: BenchUser[], rooms: string[], send: (u: BenchUser, room: string, j: number) => unknown) => {
    const start = performance.now();
    await Promise.all(
      users.map(async (u, i) => {
        for (let j = 0; j < perSender; j++) await send(u, rooms[(i + j) % rooms.length]!, j);
      }),
    );
    return total / ((performance.now() - start) / 1000);
  };

  const httpDb = await newDb("send_http");
  const forHttp = await setUp(httpDb);
  await forHttp.db.close();
  const raw = await setUp(await newDb("send_raw"));
  let round = 0;
  const rawRate = () => {
    const tag = `r${round++}_`;
    return run(raw.users, raw.rooms, (u, roomId, j) =>
      sendEvent(
        raw.ctx,
        { roomId, type: "m.room.message", sender: u.userId, content: text(`raw ${j}`) },
        { deviceId: u.deviceId, txnId: `${tag}${j}` },
      ),
    );
  };
  try {
    return await withServer(dir, httpDb, async (url) => {
      const client = new BenchClient(url, SENDERS + 5);
      try {
        const httpRate = async (tag: string) => {
          // Lets the client see the connections the server closed while the in-process run held the event loop.
          await new Promise((r) => setTimeout(r, 200));
          return run(forHttp.users, forHttp.rooms, (u, roomId, j) =>
            client.call("PUT", `${roomPath(roomId)}/send/m.room.message/${tag}${j}`, u.token, text(`http ${j}`)),
          );
        };
        // Warm both sides (JIT, connections, caches) before anything is timed.
        await httpRate("warm");
        await rawRate();
        const before = await rawRate();
        const http = await httpRate("t");
        const after = await rawRate();
        const ceiling = (before + after) / 2;
        return [
          {
            figure: `messages persisted/s, ${SENDERS} senders in ${SEND_ROOMS} rooms, HTTP (${kind})`,
            value: fmt(http),
            ceiling: `${fmt(ceiling)}/s sendEvent in-process (${fmt(before)}, ${fmt(after)})`,
            ratio: `${((http / ceiling) * 100).toFixed(0)} %`,
            target: "≥ 50 %",
          },
        ];
      } finally {
        client.close();
      }
    });
  } finally {
    await raw.db.close();
  }
}

interface Delivery {
  latencies: number[];
  sends: number[];
  missing: number;
}

/** Only the one room, every event of it (a sync that falls behind must not drop any as `limited`). */
const TIMELINE_FILTER = encodeURIComponent(JSON.stringify({ room: { timeline: { limit: 1000 } } }));
/** No rooms at all: the quickest way to a `next_batch`. */
const NO_ROOMS = encodeURIComponent(JSON.stringify({ room: { rooms: [] } }));

/**
 * Each of `members` holds a long-poll, re-issued as soon as it returns; `sender` sends RATE messages/s for
 * SEND_SECONDS. Latency: from just before the send request until a member's sync returns with the message.
 */
async function deliver(client: BenchClient, roomId: string, sender: BenchUser, members: BenchUser[]) {
  const count = RATE * SEND_SECONDS;
  const sentAt: number[] = [];
  const result: Delivery = { latencies: [], sends: [], missing: 0 };
  const abort = new AbortController();
  // One signal ends every member's held sync.
  setMaxListeners(members.length + 10, abort.signal);
  const seen = new Map<string, Set<number>>(members.map((m) => [m.userId, new Set()]));
  let done!: () => void;
  const allSeen = new Promise<void>((r) => (done = r));
  let complete = 0;
  let ready = 0;
  let allReady!: () => void;
  const readyAll = new Promise<void>((r) => (allReady = r));
  const polls = members.map(async (m) => {
    let since = (await client.call<{ next_batch: string }>("GET", `${C}/sync?timeout=0&filter=${NO_ROOMS}`, m.token))
      .next_batch;
    if (++ready === members.length) allReady();
    const mine = seen.get(m.userId)!;
    for (;;) {
      let r: { next_batch: string; rooms?: { join?: Record<string, { timeline: { events: SyncEvent[] } }> } };
      try {
        r = await client.call(
          "GET",
          `${C}/sync?since=${since}&timeout=30000&filter=${TIMELINE_FILTER}`,
          m.token,
          undefined,
          abort.signal,
        );
      } catch (err) {
        if (abort.signal.aborted) return;
        throw err;
      }
      const now = performance.now();
      since = r.next_batch;
      for (const e of r.rooms?.join?.[roomId]?.timeline.events ?? []) {
        const i = typeof e.content?.i === "number" ? e.content.i : -1;
        if (e.sender !== sender.userId || sentAt[i] === undefined || mine.has(i)) continue;
        mine.add(i);
        result.latencies.push(now - sentAt[i]);
      }
      if (mine.size === count && ++complete === members.length) done();
    }
  });
  // A member's failure ends the run with its own error, not with the ones it causes in the others' polls.
  const failed = Promise.race(polls.map((p) => p.then(() => new Promise<never>(() => {}))));
  for (const p of [...polls, failed]) p.catch(() => {});
  await Promise.race([readyAll, failed]);
  // Let every long-poll reach the server and wait there.
  await new Promise((r) => setTimeout(r, 500));
  const start = performance.now();
  const sends: Promise<unknown>[] = [];
  for (let i = 0; i < count; i++) {
    const wait = start + (i * 1000) / RATE - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    sentAt[i] = performance.now();
    sends.push(
      client
        .call("PUT", `${roomPath(roomId)}/send/m.room.message/d${members.length}_${i}`, sender.token, text("hi", i))
        .then(() => result.sends.push(performance.now() - sentAt[i]!)),
    );
  }
  await Promise.race([Promise.all(sends), failed]);
  await Promise.race([allSeen, failed, new Promise((r) => setTimeout(r, 20_000))]);
  abort.abort();
  await Promise.allSettled(polls);
  result.missing = members.length * count - result.latencies.length;
  return result;
}

interface SyncEvent {
  sender: string;
  content?: { i?: unknown };
}

/** 2: send → delivered to every member, with MEMBERS long-polling one room, and with one. */
async function latencyFigures(kind: Kind, dir: string, newDb: NewDatabase): Promise<Row[]> {
  const database = await newDb("latency");
  const { db, ctx } = await openRooms(configFor(dir, database));
  const users = await makeUsers(ctx, "member", MEMBERS + 1);
  const roomId = await makeRoom(ctx, users[0]!, users);
  await db.close();
  // `--workers` needs PostgreSQL; `BENCH_ROOM_WORKERS` asks for it there.
  const workers = kind === "PostgreSQL" ? WORKERS : 1;
  const floor = await bareFloor();
  return withServer(
    dir,
    database,
    async (url) => {
      const client = new BenchClient(url, MEMBERS + 50);
      try {
        const one = await deliver(client, roomId, users[0]!, users.slice(1, 2));
        const all = await deliver(client, roomId, users[0]!, users.slice(1));
        const missing = all.missing > 0 ? `; ${fmt(all.missing)} pairs not delivered in 20 s` : "";
        const p = (d: Delivery) => `${ms(percentile(d.latencies, 50))} / ${ms(percentile(d.latencies, 99))}`;
        return [
          {
            figure: `send → delivered to all, ${MEMBERS} members long-polling, ${RATE} msg/s, p50 / p99 (${kind}${workers > 1 ? `, ${workers} workers` : ""})`,
            value: p(all),
            ceiling:
              `bare long-poll server: ${p(floor)}; 1 member: ${p(one)}; ` +
              `the send alone ${ms(percentile(all.sends, 50))} / ${ms(percentile(all.sends, 99))}${missing}`,
            ratio: "",
            target: "p99 ≤ 25 ms",
          },
        ];
      } finally {
        client.close();
      }
    },
    workers > 1 ? { workers } : {},
  );
}

/**
 * The same delivery against a server that only holds and answers long-polls (bench/bare-long-poll.ts): what this
 * machine's HTTP and the benchmark's own clients leave of the 25 ms before Gatehouse does any work.
 */
async function bareFloor(): Promise<Delivery> {
  const bare = await bareLongPollServer();
  const client = new BenchClient(bare.url, MEMBERS + 50);
  // The bare server takes the bearer token as the user ID.
  const user = (i: number) => ({ userId: `@bare${i}:bare`, token: `@bare${i}:bare` }) as BenchUser;
  try {
    const members = Array.from({ length: MEMBERS }, (_, i) => user(i + 1));
    return await deliver(client, "!bare:bare", user(0), members);
  } finally {
    client.close();
    bare.stop();
  }
}

/** 3: initial /sync of a user in SYNC_ROOMS rooms of EVENTS_PER_ROOM events, and of a user in one of them. */
async function initialSyncFigures(kind: Kind, dir: string, newDb: NewDatabase): Promise<Row[]> {
  const database = await newDb("initial_sync");
  const { db, ctx } = await openRooms(configFor(dir, database));
  const users = await makeUsers(ctx, "reader", 5);
  const roomId = await makeRoom(ctx, users[0]!, users);
  const stateEvents = await ctx.stores.events.countBetween(roomId, 0, await currentPosition(ctx.stores));
  await fillRoom(
    ctx,
    roomId,
    users.map((u) => u.userId),
    EVENTS_PER_ROOM - stateEvents,
  );
  await copyRoom(db, roomId, SYNC_ROOMS - 1);
  // The reference reader joins the original room only, after the copies were made.
  const [single] = await makeUsers(ctx, "single", 1);
  await sendEvent(ctx, {
    roomId,
    type: "m.room.member",
    stateKey: single!.userId,
    sender: single!.userId,
    content: { membership: "join" },
  });
  await db.close();
  return withServer(dir, database, async (url) => {
    const client = new BenchClient(url, 4);
    try {
      const many: number[] = [];
      const few: number[] = [];
      const timed = async (user: BenchUser, into: number[], rooms: number) => {
        const start = performance.now();
        const r = await client.call<{ rooms: { join: Record<string, unknown> } }>("GET", `${C}/sync`, user.token);
        into.push(performance.now() - start);
        const got = Object.keys(r.rooms.join).length;
        if (got !== rooms) throw new Error(`initial sync returned ${got} joined rooms, expected ${rooms}`);
      };
      await timed(users[0]!, [], SYNC_ROOMS);
      await timed(single!, [], 1);
      for (let i = 0; i < SYNC_RUNS; i++) {
        await timed(users[0]!, many, SYNC_ROOMS);
        await timed(single!, few, 1);
      }
      return [
        {
          figure: `initial /sync, ${SYNC_ROOMS} rooms × ${fmt(EVENTS_PER_ROOM)} events, median / p95 of ${SYNC_RUNS} (${kind})`,
          value: `${ms(percentile(many, 50))} / ${ms(percentile(many, 95))}`,
          ceiling: `1 room: ${ms(percentile(few, 50))} / ${ms(percentile(few, 95))}`,
          ratio: "",
          target: "≤ 250 ms",
        },
      ];
    } finally {
      client.close();
    }
  });
}

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? NaN) / 1024;
}

/** 4: idle RSS of a server with RSS_ROOMS rooms, and of one with none. */
async function idleRssFigures(kind: Kind, dir: string, newDb: NewDatabase): Promise<Row[]> {
  const idleRss = (database: Record<string, unknown>) =>
    withServer(dir, database, async (_url, proc) => {
      await new Promise((r) => setTimeout(r, IDLE_MS));
      return rssMb(proc.pid!);
    });
  const empty = await newDb("rss_empty");
  await (await openRooms(configFor(dir, empty))).db.close();
  const database = await newDb("rss_rooms");
  const { db, ctx } = await openRooms(configFor(dir, database));
  const [creator] = await makeUsers(ctx, "owner", 1);
  const roomId = await makeRoom(ctx, creator!, []);
  await copyRoom(db, roomId, RSS_ROOMS - 1);
  const rooms = await db.kysely
    .selectFrom("rooms")
    .select((eb) => eb.fn.countAll<number | string>().as("n"))
    .executeTakeFirstOrThrow();
  await db.close();
  const base = await idleRss(empty);
  const full = await idleRss(database);
  return [
    {
      figure: `idle RSS, ${fmt(Number(rooms.n))} rooms, ${IDLE_MS / 1000} s after start (${kind})`,
      value: `${fmt(full)} MB`,
      ceiling: `${fmt(base)} MB with no rooms`,
      ratio: "",
      target: "≤ 150 MB",
    },
  ];
}

export async function roomsFigures(): Promise<Row[]> {
  const rows: Row[] = [];
  const figures = (process.env.BENCH_ROOM_FIGURES ?? "send,latency,initialSync,idleRss").split(",");
  await eachDatabase("rooms", async (kind, dir, newDb) => {
    for (const part of [sendFigures, latencyFigures, initialSyncFigures, idleRssFigures]) {
      if (!figures.includes(part.name.replace(/Figures$/, ""))) continue;
      const start = performance.now();
      const got = await part(kind, dir, newDb);
      console.log(`${kind} ${part.name}: ${((performance.now() - start) / 1000).toFixed(0)} s`);
      printTable(got);
      rows.push(...got);
    }
  });
  return rows;
}

// `node --import tsx bench/rooms.ts` runs this part alone.
if (import.meta.url === `file://${process.argv[1]}`) printTable(await roomsFigures());
