/**
 * The stream's contract under concurrency, on SQLite, PostgreSQL, and two `--workers` processes on PostgreSQL:
 * many writers send into several rooms at once while readers follow with incremental `/sync`s. Every reader sees
 * every event exactly once (an event committed at a position below a `next_batch` already handed out would never
 * be sent: that is what "a position skipped" would look like), and each writer's messages in a room in the order
 * they were sent.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase } from "../../src/db/database.js";
import { createStores } from "../../src/db/stores.js";
import { createTestDatabase, forEachDatabase, type TestDatabase } from "../helpers/databases.js";
import { rawConfigFor, spawnServer, startTestServer, writeConfigFile, type ServerProcess } from "../helpers/server.js";
import { createRoom, ok, registerUser, room, send, sync, text, type ClientUser } from "./support.js";

const WRITERS = 4;
const ROOMS = 3;
const PER_WRITER_PER_ROOM = 6;
const LIMITS = {
  enable_registration: true,
  enable_registration_without_verification: true,
  rc_registration: { per_second: 1000, burst_count: 1000 },
  rc_message: { per_second: 1000, burst_count: 1000 },
  rc_joins: { local: { per_second: 1000, burst_count: 1000 } },
};
const FILTER = encodeURIComponent(JSON.stringify({ room: { timeline: { limit: 1000 } } }));

interface Seen {
  eventIds: string[];
  byRoomAndSender: Map<string, string[]>;
}

/** Follows `user`'s syncs from `since` until `expected` messages arrived (or 60 s), recording each one. */
async function follow(base: string, user: ClientUser, since: string, expected: number): Promise<Seen> {
  const seen: Seen = { eventIds: [], byRoomAndSender: new Map() };
  let token = since;
  const deadline = Date.now() + 60_000;
  while (seen.eventIds.length < expected && Date.now() < deadline) {
    const s = await sync(base, user, `since=${token}&timeout=2000&filter=${FILTER}`);
    for (const [roomId, r] of Object.entries(s.rooms.join)) {
      expect(r.timeline.limited).toBe(false);
      for (const e of r.timeline.events) {
        if (e.type !== "m.room.message") continue;
        seen.eventIds.push(e.event_id);
        const key = `${roomId} ${e.sender}`;
        seen.byRoomAndSender.set(key, [...(seen.byRoomAndSender.get(key) ?? []), String(e.content.body)]);
      }
    }
    token = s.next_batch;
  }
  return seen;
}

/**
 * Each room's events, in stream order, each pointing at the one before it: however the writers raced, in one process
 * or two, the DAG never forked.
 */
async function expectLinearRooms(database: TestDatabase, rooms: string[]): Promise<void> {
  const db = openDatabase(database.config);
  try {
    const { events } = createStores(db);
    for (const roomId of rooms) {
      const all = await events.window(roomId, { dir: "f", limit: 10_000 });
      expect(all.length).toBeGreaterThan(WRITERS * PER_WRITER_PER_ROOM);
      for (let i = 1; i < all.length; i++) {
        expect(all[i]!.pdu.prev_events, `${roomId} event ${i}`).toEqual([all[i - 1]!.eventId]);
        expect(all[i]!.depth).toBe(all[i - 1]!.depth + 1);
      }
    }
  } finally {
    await db.close();
  }
}

async function runContract(writerBase: (i: number) => string, readerBases: string[]): Promise<string[]> {
  const base0 = writerBase(0);
  const writers: ClientUser[] = [];
  for (let i = 0; i < WRITERS; i++) writers.push(await registerUser(writerBase(i), `writer${i}`));
  const readers: ClientUser[] = [];
  for (let i = 0; i < readerBases.length; i++) readers.push(await registerUser(readerBases[i]!, `reader${i}`));
  const rooms: string[] = [];
  for (let r = 0; r < ROOMS; r++) {
    const roomId = await createRoom(base0, writers[0]!, { preset: "public_chat" });
    for (const u of [...writers.slice(1), ...readers]) await ok(base0, u, "POST", `${room(roomId)}/join`, {});
    rooms.push(roomId);
  }
  const starts = await Promise.all(readers.map((u, i) => sync(readerBases[i]!, u)));
  const expected = WRITERS * ROOMS * PER_WRITER_PER_ROOM;
  const following = readers.map((u, i) => follow(readerBases[i]!, u, starts[i]!.next_batch, expected));
  // Every writer in every room at once; within one (writer, room) the sends are in order.
  const sent = (
    await Promise.all(
      writers.flatMap((w, i) =>
        rooms.map(async (roomId) => {
          const ids: string[] = [];
          for (let n = 0; n < PER_WRITER_PER_ROOM; n++) {
            ids.push(await send(writerBase(i), w, roomId, text(String(n))));
          }
          return ids;
        }),
      ),
    )
  ).flat();
  expect(new Set(sent).size).toBe(expected);
  for (const seen of await Promise.all(following)) {
    expect(seen.eventIds.length).toBe(expected);
    expect(new Set(seen.eventIds)).toEqual(new Set(sent));
    const inOrder = Array.from({ length: PER_WRITER_PER_ROOM }, (_, n) => String(n));
    for (const bodies of seen.byRoomAndSender.values()) expect(bodies).toEqual(inOrder);
    expect(seen.byRoomAndSender.size).toBe(WRITERS * ROOMS);
  }
  return rooms;
}

forEachDatabase((kind) => {
  describe("the stream under concurrent writers", () => {
    it("gives every reader every event once, in each writer's order", async () => {
      const database = await createTestDatabase(kind);
      const server = await startTestServer(database, LIMITS);
      try {
        await expectLinearRooms(database, await runContract(() => server.url, [server.url, server.url]));
      } finally {
        await server.close();
      }
    });
  });
});

describe("the stream through two --workers processes on PostgreSQL", () => {
  let proc: ServerProcess;
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase("postgres");
    proc = await spawnServer(["-c", writeConfigFile(rawConfigFor(database, LIMITS)), "--workers", "2"]);
  });
  afterAll(async () => {
    expect(await proc.stop()).toBe(0);
  });

  it("gives every reader every event once, whichever process wrote it", async () => {
    await expectLinearRooms(database, await runContract(() => proc.url, [proc.url, proc.url]));
  });
});
