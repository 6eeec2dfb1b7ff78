/**
 * `npm run bench -- todevice`: to-device fan-out and `/sync` wake-ups, on SQLite and on PostgreSQL, against a real
 * `gatehouse serve`, each figure next to a ceiling or a reference measured in the same run:
 *
 * 1. fan-out: one `PUT /sendToDevice` to one device of each of 100 users (a room key shared with a room of 100),
 *    every recipient long-polling `/sync` and re-issuing it at once.
 *    - sends/s, 4 senders back to back while the 100 long-polls drain the queues, against `sendToDevice`
 *      (src/sync/to-device-send.ts: the transaction ID, the addressing, the rows, the queue lengths) called in
 *      process with the same concurrency on a database of the same kind (measured before and after, averaged);
 *    - send → delivered to all 100, paced at 5 sends/s (BENCH_TODEVICE_RATE): from just before a send until the
 *      last recipient's sync returns with it, p50 / p99 over the sends. Reference: each recipient's own latency
 *      and the send alone.
 * 2. wake-ups: 1,000 users with no rooms long-poll `/sync` (timeout 60 s) while the 20 members of one room
 *    long-poll it and one of them sends 20 messages/s. Counted: idle syncs that returned before their timeout
 *    (must be 0), and the busy members' wake-ups/s. Reference: 20 × 20 = 400/s, one wake-up per member and
 *    message (fewer is batching: a woken sync takes every message committed by the time it reads).
 *
 * Sizes: BENCH_TODEVICE_RECIPIENTS (100), BENCH_IDLE_POLLS (1,000), BENCH_TODEVICE_SECONDS (4). Databases as
 * bench/room-servers.ts; BENCH_TODEVICE_FIGURES (`fanOut,wakeups`) picks the figures.
 */
import { setMaxListeners } from "node:events";
import { parseToDeviceSend, sendToDevice } from "../src/sync/to-device-send.js";
import { BenchClient } from "./client.js";
import { makeRoom, makeUsers, openRooms, type BenchUser } from "./room-data.js";
import { C, configFor, eachDatabase, ms, percentile, withServer, type Kind, type NewDatabase } from "./room-servers.js";
import { fmt, printTable, type Row } from "./table.js";

const RECIPIENTS = Number(process.env.BENCH_TODEVICE_RECIPIENTS ?? 100);
const IDLE_POLLS = Number(process.env.BENCH_IDLE_POLLS ?? 1000);
const SECONDS = Number(process.env.BENCH_TODEVICE_SECONDS ?? 4);
const SENDERS = 4;
const PACED_RATE = Number(process.env.BENCH_TODEVICE_RATE ?? 5);
const BUSY_MEMBERS = 20;
const BUSY_RATE = 20;
const IDLE_TIMEOUT_MS = 60_000;

/** No rooms at all: the quickest way to a `next_batch`. */
const NO_ROOMS = encodeURIComponent(JSON.stringify({ room: { rooms: [] } }));
const TIMELINE_FILTER = encodeURIComponent(JSON.stringify({ room: { timeline: { limit: 1000 } } }));
const TYPE = "m.room.encrypted";

/** An Olm-encrypted room key's size: what a client really fans out. */
function olmContent(i: number): Record<string, unknown> {
  return {
    algorithm: "m.olm.v1.curve25519-aes-sha2",
    sender_key: "x".repeat(43),
    ciphertext: { ["y".repeat(43)]: { type: 0, body: "z".repeat(1400) } },
    i,
  };
}

function fanOutBody(recipients: BenchUser[], i: number): Record<string, unknown> {
  const content = olmContent(i);
  return { messages: Object.fromEntries(recipients.map((r) => [r.userId, { [r.deviceId]: content }])) };
}

/** Runs `op` from `senders` loops back to back for `seconds`; returns operations per second. */
async function rate(op: (i: number) => Promise<unknown>, senders: number, seconds: number): Promise<number> {
  const start = performance.now();
  const end = start + seconds * 1000;
  let i = 0;
  await Promise.all(
    Array.from({ length: senders }, async () => {
      while (performance.now() < end) await op(i++);
    }),
  );
  return i / ((performance.now() - start) / 1000);
}

interface ToDeviceSync {
  next_batch: string;
  to_device?: { events: { content: { i?: unknown } }[] };
}

/** 1: one send to RECIPIENTS devices: sends/s against `sendToDevice` in process, and delivered-to-all latency. */
async function fanOutFigures(kind: Kind, dir: string, newDb: NewDatabase): Promise<Row[]> {
  const database = await newDb("fanout");
  const opened = await openRooms(configFor(dir, database));
  const users = await makeUsers(opened.ctx, "fan", RECIPIENTS + 1);
  await opened.db.close();
  const [sender, ...recipients] = users as [BenchUser, ...BenchUser[]];
  const raw = await openRooms(configFor(dir, await newDb("fanout_raw")));
  const rawUsers = await makeUsers(raw.ctx, "fan", RECIPIENTS + 1);
  const [rawSender, ...rawRecipients] = rawUsers as [BenchUser, ...BenchUser[]];
  let rawRound = 0;
  const rawRate = () => {
    const tag = `raw${rawRound++}_`;
    return rate(
      (i) =>
        sendToDevice(
          raw.ctx,
          rawSender.requester,
          parseToDeviceSend(raw.ctx.serverName, TYPE, `${tag}${i}`, fanOutBody(rawRecipients, i)),
        ),
      SENDERS,
      SECONDS,
    );
  };
  try {
    return await withServer(dir, database, async (url) => {
      const client = new BenchClient(url, RECIPIENTS + SENDERS + 10);
      const abort = new AbortController();
      setMaxListeners(RECIPIENTS + 10, abort.signal);
      const sentAt: number[] = [];
      const arrived = new Map<number, number>();
      /** Latencies by send index: to each recipient, to the last of them, of the send request itself. */
      const pairs: [number, number][] = [];
      const toAll = new Map<number, number>();
      const sendTimes = new Map<number, number>();
      let ready = 0;
      let allReady!: () => void;
      const readyAll = new Promise<void>((r) => (allReady = r));
      const polls = recipients.map(async (r) => {
        let since = (await client.call<ToDeviceSync>("GET", `${C}/sync?timeout=0&filter=${NO_ROOMS}`, r.token))
          .next_batch;
        if (++ready === recipients.length) allReady();
        for (;;) {
          let s: ToDeviceSync;
          try {
            const path = `${C}/sync?since=${since}&timeout=30000&filter=${NO_ROOMS}`;
            s = await client.call<ToDeviceSync>("GET", path, r.token, undefined, abort.signal);
          } catch (err) {
            if (abort.signal.aborted) return;
            throw err;
          }
          const now = performance.now();
          since = s.next_batch;
          for (const e of s.to_device?.events ?? []) {
            const i = typeof e.content.i === "number" ? e.content.i : -1;
            if (sentAt[i] === undefined) continue;
            pairs.push([i, now - sentAt[i]]);
            const n = (arrived.get(i) ?? 0) + 1;
            arrived.set(i, n);
            if (n === recipients.length) toAll.set(i, now - sentAt[i]);
          }
        }
      });
      const failed = Promise.race(polls.map((p) => p.then(() => new Promise<never>(() => {}))));
      for (const p of [...polls, failed]) p.catch(() => {});
      const send = (i: number, tag: string) => {
        sentAt[i] = performance.now();
        return client
          .call("PUT", `${C}/sendToDevice/${TYPE}/${tag}${i}`, sender.token, fanOutBody(recipients, i))
          .then(() => sendTimes.set(i, performance.now() - sentAt[i]!));
      };
      /** Waits until every send so far reached every recipient, or 20 s. */
      const settled = async () => {
        const end = performance.now() + 20_000;
        while (performance.now() < end && toAll.size < sentAt.length) await new Promise((r) => setTimeout(r, 20));
      };
      try {
        await Promise.race([readyAll, failed]);
        await new Promise((r) => setTimeout(r, 500));
        // Warm the JIT, the connections and the caches of both sides before anything is timed.
        await Promise.race([Promise.all([0, 1, 2, 3, 4].map((i) => send(i, "warm"))), failed]);
        await rawRate();
        await Promise.race([settled(), failed]);

        // Paced: the latency of one send reaching everyone, the server otherwise quiet.
        const first = sentAt.length;
        const count = PACED_RATE * SECONDS;
        const start = performance.now();
        const paced: Promise<unknown>[] = [];
        for (let k = 0; k < count; k++) {
          const wait = start + (k * 1000) / PACED_RATE - performance.now();
          if (wait > 0) await new Promise((r) => setTimeout(r, wait));
          paced.push(send(first + k, "paced"));
        }
        await Promise.race([Promise.all(paced), failed]);
        await Promise.race([settled(), failed]);
        const inPaced = (i: number) => i >= first && i < first + count;
        const latency = {
          toAll: [...toAll].filter(([i]) => inPaced(i)).map(([, v]) => v),
          pairs: pairs.filter(([i]) => inPaced(i)).map(([, v]) => v),
          sends: [...sendTimes].filter(([i]) => inPaced(i)).map(([, v]) => v),
        };
        const missingPaced = count - latency.toAll.length;

        // Throughput: back to back while the recipients drain their queues.
        const before = await rawRate();
        const base = sentAt.length;
        const http = await Promise.race([rate((k) => send(base + k, "tput"), SENDERS, SECONDS), failed]);
        const after = await rawRate();
        await Promise.race([settled(), failed]);
        const missing = sentAt.length - toAll.size;
        const ceiling = (before + after) / 2;
        const lost = missing > 0 ? `; ${fmt(missing)} sends not delivered to all in 20 s` : "";
        return [
          {
            figure: `to-device sends/s, each to ${RECIPIENTS} devices, ${SENDERS} senders, recipients long-polling (${kind})`,
            value: fmt(http),
            ceiling: `${fmt(ceiling)}/s sendToDevice in-process (${fmt(before)}, ${fmt(after)})${lost}`,
            ratio: `${((http / ceiling) * 100).toFixed(0)} %`,
            target: "≥ 50 %",
          },
          {
            figure: `to-device send → delivered to all ${RECIPIENTS} devices, ${PACED_RATE}/s, p50 / p99 (${kind})`,
            value: `${ms(percentile(latency.toAll, 50))} / ${ms(percentile(latency.toAll, 99))}`,
            ceiling:
              `each device: ${ms(percentile(latency.pairs, 50))} / ${ms(percentile(latency.pairs, 99))}; ` +
              `the send alone ${ms(percentile(latency.sends, 50))} / ${ms(percentile(latency.sends, 99))}` +
              (missingPaced > 0 ? `; ${missingPaced} not delivered to all in 20 s` : ""),
            ratio: "",
            target: "p99 ≤ 100 ms",
          },
        ];
      } finally {
        abort.abort();
        await Promise.allSettled(polls);
        client.close();
      }
    });
  } finally {
    await raw.db.close();
  }
}

/** 2: IDLE_POLLS idle long-polls beside one busy room: how many idle ones wake (0), and the members' wake-ups/s. */
async function wakeupsFigures(kind: Kind, dir: string, newDb: NewDatabase): Promise<Row[]> {
  const database = await newDb("wakeups");
  const opened = await openRooms(configFor(dir, database));
  const idle = await makeUsers(opened.ctx, "idle", IDLE_POLLS);
  const members = await makeUsers(opened.ctx, "busy", BUSY_MEMBERS);
  const roomId = await makeRoom(opened.ctx, members[0]!, members);
  await opened.db.close();
  return withServer(dir, database, async (url) => {
    const client = new BenchClient(url, IDLE_POLLS + BUSY_MEMBERS + 10);
    const abort = new AbortController();
    setMaxListeners(IDLE_POLLS + BUSY_MEMBERS + 10, abort.signal);
    let idleWoken = 0;
    let measuring = false;
    let busyWakeups = 0;
    const latencies: number[] = [];
    const sentAt: number[] = [];
    let ready = 0;
    let allReady!: () => void;
    const readyAll = new Promise<void>((r) => (allReady = r));
    const total = IDLE_POLLS + BUSY_MEMBERS;
    // The initial syncs of 1,000 users, a few at a time, so they do not all queue at once.
    let gate = Promise.resolve();
    const initial = (u: BenchUser) => {
      const run = gate.then(() =>
        client.call<{ next_batch: string }>("GET", `${C}/sync?timeout=0&filter=${NO_ROOMS}`, u.token),
      );
      gate = run.then(() => undefined);
      return run;
    };
    const idlePolls = idle.map(async (u) => {
      let since = (await initial(u)).next_batch;
      if (++ready === total) allReady();
      for (;;) {
        const start = performance.now();
        let r: { next_batch: string };
        try {
          const path = `${C}/sync?since=${since}&timeout=${IDLE_TIMEOUT_MS}`;
          r = await client.call("GET", path, u.token, undefined, abort.signal);
        } catch (err) {
          if (abort.signal.aborted) return;
          throw err;
        }
        since = r.next_batch;
        // Returned before its timeout: something woke it.
        if (performance.now() - start < IDLE_TIMEOUT_MS - 1000) idleWoken++;
      }
    });
    const busyPolls = members.map(async (m) => {
      let since = (await initial(m)).next_batch;
      if (++ready === total) allReady();
      for (;;) {
        let r: { next_batch: string; rooms?: { join?: Record<string, { timeline: { events: SyncEvent[] } }> } };
        try {
          const path = `${C}/sync?since=${since}&timeout=30000&filter=${TIMELINE_FILTER}`;
          r = await client.call("GET", path, m.token, undefined, abort.signal);
        } catch (err) {
          if (abort.signal.aborted) return;
          throw err;
        }
        const now = performance.now();
        since = r.next_batch;
        if (measuring) busyWakeups++;
        for (const e of r.rooms?.join?.[roomId]?.timeline.events ?? []) {
          const i = typeof e.content?.i === "number" ? e.content.i : -1;
          if (sentAt[i] !== undefined) latencies.push(now - sentAt[i]);
        }
      }
    });
    const polls = [...idlePolls, ...busyPolls];
    const failed = Promise.race(polls.map((p) => p.then(() => new Promise<never>(() => {}))));
    for (const p of [...polls, failed]) p.catch(() => {});
    try {
      await Promise.race([readyAll, failed]);
      await new Promise((r) => setTimeout(r, 1000));
      const count = BUSY_RATE * SECONDS;
      const sends: Promise<unknown>[] = [];
      measuring = true;
      const start = performance.now();
      for (let i = 0; i < count; i++) {
        const wait = start + (i * 1000) / BUSY_RATE - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        sentAt[i] = performance.now();
        const path = `${C}/rooms/${encodeURIComponent(roomId)}/send/m.room.message/w${i}`;
        sends.push(client.call("PUT", path, members[0]!.token, { msgtype: "m.text", body: "busy", i }));
      }
      await Promise.race([Promise.all(sends), failed]);
      await new Promise((r) => setTimeout(r, 1000));
      measuring = false;
      const seconds = (performance.now() - start) / 1000;
      return [
        {
          figure: `/sync with ${fmt(IDLE_POLLS)} idle long-polls and one room of ${BUSY_MEMBERS} members sent ${BUSY_RATE} msg/s (${kind})`,
          value: `${idleWoken} idle woken; ${fmt(busyWakeups / seconds)} member wake-ups/s`,
          ceiling:
            `${fmt(BUSY_MEMBERS * BUSY_RATE)}/s if each message woke each member; delivered p50 / p99 ` +
            `${ms(percentile(latencies, 50))} / ${ms(percentile(latencies, 99))}`,
          ratio: "",
          target: "0 idle woken",
        },
      ];
    } finally {
      abort.abort();
      await Promise.allSettled(polls);
      client.close();
    }
  });
}

interface SyncEvent {
  content?: { i?: unknown };
}

export async function toDeviceFigures(): Promise<Row[]> {
  const rows: Row[] = [];
  const figures = (process.env.BENCH_TODEVICE_FIGURES ?? "fanOut,wakeups").split(",");
  await eachDatabase("todevice", async (kind, dir, newDb) => {
    for (const part of [fanOutFigures, wakeupsFigures]) {
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

// `node --import tsx bench/to-device.ts` runs this part alone.
if (import.meta.url === `file://${process.argv[1]}`) printTable(await toDeviceFigures());
