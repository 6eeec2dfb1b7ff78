/**
 * The reads an initial `/sync` makes for all of the user's rooms at once (src/sync/initial-reads.ts), on SQLite and
 * PostgreSQL, which word them differently: each room's newest events, the newest event the user sent in each room,
 * and the notifications after a read position per room. Each must give what asking room by room gives.
 */
import { afterEach, beforeEach, expect, it } from "vitest";
import type { Db } from "../../src/db/database.js";
import type { Stores } from "../../src/db/stores.js";
import { openAndMigrate } from "../../src/server.js";
import { createTestDatabase, forEachDatabase } from "../helpers/databases.js";

forEachDatabase((kind) => {
  let db: Db;
  let stores: Stores;
  beforeEach(async () => {
    ({ db, stores } = await openAndMigrate({ database: (await createTestDatabase(kind)).config }));
  });
  afterEach(() => db.close());

  // Rooms with 7, 2 and no events, interleaved in the stream; a room ID with a quote, in case one ends up in SQL.
  const rooms = ["!a:hs", "!b'quote:hs", "!empty:hs"];
  const senders = ["@me:hs", "@you:hs"];
  async function fill(): Promise<void> {
    for (const roomId of rooms) {
      await stores.rooms.insert({ roomId, roomVersion: "10", creator: "@me:hs", createdTs: 1 });
    }
    let position = 0;
    const add = async (roomId: string, sender: string) => {
      position++;
      await stores.events.insert({
        streamOrdering: position,
        eventId: `$e${position}`,
        roomId,
        type: "m.room.message",
        stateKey: null,
        sender,
        originServerTs: 1000 + position,
        depth: position,
        pdu: { content: { body: `${position}` } },
        relatesTo: null,
        relType: null,
      });
    };
    for (let i = 0; i < 7; i++) {
      await add(rooms[0]!, senders[i % 2]!);
      if (i < 2) await add(rooms[1]!, senders[1]!);
    }
  }

  it("newestInRooms: each room's newest events up to a position, newest first, as `window` reads them", async () => {
    await fill();
    for (const [upTo, limit] of [
      [9, 3],
      [5, 3],
      [9, 20],
      [0, 3],
    ] as const) {
      const got = await stores.events.newestInRooms(rooms, upTo, limit);
      expect([...got.keys()]).toEqual(rooms);
      for (const roomId of rooms) {
        const expected = await stores.events.window(roomId, { upTo, dir: "b", limit });
        expect(got.get(roomId)).toEqual(expected);
      }
    }
    expect((await stores.events.newestInRooms(rooms, 9, 3)).get(rooms[0]!)!.map((e) => e.eventId)).toEqual([
      "$e9",
      "$e8",
      "$e7",
    ]);
    expect(await stores.events.newestInRooms([], 9, 3)).toEqual(new Map());
  });

  it("latestSentByInRooms: the user's newest event per room, rooms without one left out", async () => {
    await fill();
    const got = await stores.eventPushActions.latestSentByInRooms(rooms, "@me:hs");
    expect(got).toEqual(new Map([[rooms[0]!, 9]]));
    for (const roomId of rooms) {
      expect(got.get(roomId) ?? null).toBe(await stores.eventPushActions.latestSentBy(roomId, "@me:hs"));
    }
    expect(await stores.eventPushActions.latestSentByInRooms(rooms, "@you:hs")).toEqual(
      new Map([
        [rooms[0]!, 8],
        [rooms[1]!, 4],
      ]),
    );
  });

  it("countsByThreadInRooms: each room counted after its own position, up to one position for all", async () => {
    const a = stores.eventPushActions;
    const row = (roomId: string, n: number, threadId: string, highlight: boolean, userId = "@me:hs") =>
      a.insertForEvent({ roomId, streamOrdering: n, threadId }, [{ userId, highlight }]);
    await row(rooms[0]!, 1, "main", false);
    await row(rooms[0]!, 2, "main", true);
    await row(rooms[0]!, 3, "$t", true);
    await row(rooms[0]!, 9, "main", true);
    await row(rooms[1]!, 4, "main", false);
    await row(rooms[1]!, 5, "main", false);
    await row(rooms[1]!, 6, "main", true, "@you:hs");
    const after = new Map([
      [rooms[0]!, 1],
      [rooms[1]!, 4],
      [rooms[2]!, 0],
    ]);
    const got = await a.countsByThreadInRooms("@me:hs", after, 8);
    const sorted = (list: { threadId: string }[] | undefined) =>
      [...(list ?? [])].sort((x, y) => x.threadId.localeCompare(y.threadId));
    expect(sorted(got.get(rooms[0]!))).toEqual([
      { threadId: "$t", notifications: 1, highlights: 1 },
      { threadId: "main", notifications: 1, highlights: 1 },
    ]);
    expect(got.get(rooms[1]!)).toEqual([{ threadId: "main", notifications: 1, highlights: 0 }]);
    expect(got.has(rooms[2]!)).toBe(false);
    for (const [roomId, from] of after) {
      expect(sorted(got.get(roomId))).toEqual(sorted(await a.countsByThread("@me:hs", roomId, from, 8)));
    }
  });
});
