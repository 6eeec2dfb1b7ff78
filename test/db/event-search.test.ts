/**
 * The search index on SQLite and PostgreSQL: migration 0023 indexes the events stored before it (and no redacted
 * or encrypted one), the store reads only the user's rooms (a left room up to the leave, a forgotten one not at
 * all), forgets what is removed, caps its count, and its plan starts from the full-text index.
 */
import { PostgresAdapter, sql, type RawBuilder } from "kysely";
import { describe, expect, it } from "vitest";
import { migrate, openDatabase, type Db } from "../../src/db/database.js";
import {
  countStatement,
  eventSearchStore,
  searchStatement,
  SEARCH_KEYS,
  type SearchQuery,
} from "../../src/db/event-search.js";
import { roomPurgeStore } from "../../src/db/room-purge.js";
import { parseSearchTerms } from "../../src/db/search-terms.js";
import { createTestDatabase, forEachDatabase } from "../helpers/databases.js";

const U = "@u:x";

async function addEvent(
  db: Db,
  pos: number,
  room: string,
  type: string,
  content: Record<string, unknown>,
  options: { stateKey?: string; redactedBy?: string } = {},
): Promise<void> {
  const json = JSON.stringify({ type, content, room_id: room, sender: U });
  await sql`INSERT INTO events (stream_ordering, event_id, room_id, type, state_key, sender, origin_server_ts, depth,
      json, redacted_by) VALUES (${pos}, ${`$e${pos}`}, ${room}, ${type}, ${options.stateKey ?? null}, ${U}, ${pos},
      ${pos}, ${json}, ${options.redactedBy ?? null})`.execute(db.kysely);
}

async function member(db: Db, room: string, membership: string, pos: number, forgotten = 0): Promise<void> {
  await sql`DELETE FROM room_memberships WHERE room_id = ${room} AND user_id = ${U}`.execute(db.kysely);
  await sql`INSERT INTO room_memberships (room_id, user_id, membership, event_id, stream_ordering, forgotten)
    VALUES (${room}, ${U}, ${membership}, ${`$m${pos}`}, ${pos}, ${forgotten})`.execute(db.kysely);
}

const query = (term: string, more: Partial<SearchQuery> = {}): SearchQuery => ({
  userId: U,
  terms: parseSearchTerms(term),
  keys: [...SEARCH_KEYS],
  order: "recent",
  limit: 100,
  ...more,
});

forEachDatabase((kind) => {
  describe("event_search", () => {
    it("migration 0023 indexes the events stored before it", async () => {
      const db = openDatabase((await createTestDatabase(kind, { empty: true })).config);
      try {
        await migrate(db, "0020_push");
        await addEvent(db, 1, "!r:x", "m.room.message", { body: "Un café au lait" });
        await addEvent(db, 2, "!r:x", "m.room.name", { name: "Café room" }, { stateKey: "" });
        await addEvent(db, 3, "!r:x", "m.room.message", { body: "café redacted" }, { redactedBy: "$r" });
        await addEvent(db, 4, "!r:x", "m.room.encrypted", { ciphertext: "cafe", body: "cafe" });
        await addEvent(db, 5, "!r:x", "m.room.message", { body: 5 });
        await addEvent(db, 6, "!r:x", "m.room.topic", { topic: "cafe topic" }, { stateKey: "" });
        await member(db, "!r:x", "join", 1);
        await migrate(db);
        const store = eventSearchStore(db.kysely);
        const hits = await store.search(query("cafe"));
        expect(hits.map((h) => h.streamOrdering)).toEqual([6, 2, 1]);
        expect((await store.search(query("café", { keys: ["content.name"] }))).map((h) => h.streamOrdering)).toEqual([
          2,
        ]);
        await migrate(db, "0020_push");
        await migrate(db);
      } finally {
        await db.close();
      }
    });

    it("reads the user's rooms only: a left room up to the leave, a forgotten one not at all", async () => {
      const db = openDatabase((await createTestDatabase(kind)).config);
      try {
        const store = eventSearchStore(db.kysely);
        for (const [pos, room] of [
          [1, "!a:x"],
          [2, "!b:x"],
          [3, "!b:x"],
          [4, "!c:x"],
          [5, "!d:x"],
        ] as const) {
          await addEvent(db, pos, room, "m.room.message", { body: `word ${pos}` });
          await store.insert({ streamOrdering: pos, roomId: room, key: "content.body", value: `word ${pos}` });
        }
        await member(db, "!a:x", "join", 1);
        await member(db, "!b:x", "leave", 2);
        await member(db, "!c:x", "leave", 4, 1);
        const found = async (q: SearchQuery) => (await store.search(q)).map((h) => h.streamOrdering);
        expect(await found(query("word"))).toEqual([2, 1]);
        expect(await found(query("word", { order: "rank" }))).toHaveLength(2);
        expect(await store.count(query("word"), 100)).toBe(2);
        expect(await store.count(query("word"), 1)).toBe(1);
        expect(await found(query("word", { rooms: ["!b:x"] }))).toEqual([2]);
        expect(await found(query("word", { notRooms: ["!b:x"] }))).toEqual([1]);
        expect(await found(query("word", { upTo: 1 }))).toEqual([1]);
        expect(await found(query("word", { after: 1 }))).toEqual([2]);
        expect(await found(query("word", { limit: 1, offset: 1 }))).toEqual([1]);
        await store.remove(2);
        expect(await found(query("word"))).toEqual([1]);
        await store.removeRoom("!a:x");
        expect(await found(query("word"))).toEqual([]);
        await member(db, "!d:x", "join", 5);
        expect(await found(query("word"))).toEqual([5]);
        // A purged room's rows go with its events: rows 3 and 4 (rooms b and c) are all that remain.
        await roomPurgeStore(db.kysely).purge("!d:x");
        const left = await sql<{ n: number }>`SELECT count(*) AS n FROM event_search`.execute(db.kysely);
        expect(Number(left.rows[0]?.n)).toBe(2);
        expect(await found(query("word"))).toEqual([]);
      } finally {
        await db.close();
      }
    });

    it("starts from the full-text index and reads each match's event and membership by key", async () => {
      const db = openDatabase((await createTestDatabase(kind)).config);
      try {
        const store = eventSearchStore(db.kysely);
        for (let pos = 1; pos <= 200; pos++) {
          await addEvent(db, pos, `!r${pos % 10}:x`, "m.room.message", { body: `x ${pos}` });
          await store.insert({
            streamOrdering: pos,
            roomId: `!r${pos % 10}:x`,
            key: "content.body",
            value: `x ${pos}`,
          });
        }
        await member(db, "!r1:x", "join", 1);
        const postgres = kind === "postgres";
        // On 200 rows PostgreSQL would rather scan: the question is whether the index can serve the query at all.
        if (postgres) await sql`SET enable_seqscan = off`.execute(db.kysely);
        for (const q of [query("x"), query("x", { order: "rank" })]) {
          const plan = await explain(db, searchStatement(q, postgres));
          if (postgres) {
            // By the term's index or by the rooms of the user's memberships, as the statistics say; never a scan.
            expect(plan).toMatch(/event_search_fts|event_search_room/);
            expect(plan).not.toMatch(/Seq Scan/);
          } else {
            expect(plan).toMatch(/SCAN event_search VIRTUAL TABLE INDEX/);
            expect(plan).toMatch(/SEARCH e USING INDEX sqlite_autoindex_events_1 \(stream_ordering=\?\)/);
            expect(plan).toMatch(/SEARCH m USING INDEX sqlite_autoindex_room_memberships/);
            // Recent order comes from the index itself: no sorting of every match.
            if (q.order === "recent") expect(plan).not.toMatch(/TEMP B-TREE/);
          }
        }
        const count = await explain(db, countStatement(query("x"), postgres, 10));
        expect(count).toMatch(postgres ? /event_search_fts|event_search_room/ : /VIRTUAL TABLE INDEX/);
      } finally {
        await db.close();
      }
    });
  });
});

async function explain(db: Db, statement: RawBuilder<unknown>): Promise<string> {
  const rows = await sql<
    Record<string, unknown>
  >`EXPLAIN ${sql.raw(db.kysely.getExecutor().adapter instanceof PostgresAdapter ? "" : "QUERY PLAN")} ${statement}`.execute(
    db.kysely,
  );
  return rows.rows.map((r) => String(r.detail ?? r["QUERY PLAN"])).join("\n");
}
