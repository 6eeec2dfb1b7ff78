/**
 * `POST /search` over real HTTP on both databases, every response checked against the spec: ranking and recent
 * order, paging to the end, filters, context, history visibility, redaction, encrypted events, and terms that are
 * query syntax to the databases.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { forEachDatabase } from "../helpers/databases.js";
import type { TestServer } from "../helpers/server.js";
import { api, createRoom, ok, registerUser, room, send, startOpenServer, text, type ClientUser } from "./support.js";

interface Ev {
  event_id: string;
  room_id: string;
  sender: string;
  type: string;
  content: Record<string, unknown>;
}

interface Result {
  rank: number;
  result: Ev;
  context: {
    start?: string;
    end?: string;
    events_before?: Ev[];
    events_after?: Ev[];
    profile_info?: Record<string, { displayname?: string }>;
  };
}

interface RoomEvents {
  results: Result[];
  count: number;
  highlights: string[];
  next_batch?: string;
  state?: Record<string, Ev[]>;
  groups?: Record<string, Record<string, { results: string[]; order: number; next_batch?: string }>>;
}

forEachDatabase((kind) => {
  describe("POST /search", () => {
    let server: TestServer;
    let alice: ClientUser;
    let bob: ClientUser;
    let carol: ClientUser;
    let dave: ClientUser;
    let loner: ClientUser;
    let roomA: string;
    let roomB: string;
    let roomJ: string;
    let roomL: string;
    const ids: Record<string, string> = {};
    const paged: string[] = [];

    const join = (user: ClientUser, roomId: string) =>
      ok(server.url, user, "POST", `/join/${encodeURIComponent(roomId)}`, {});

    const search = async (
      user: ClientUser,
      criteria: Record<string, unknown>,
      nextBatch?: string,
    ): Promise<RoomEvents> => {
      const path = nextBatch === undefined ? "/search" : `/search?next_batch=${encodeURIComponent(nextBatch)}`;
      const body = await ok<{ search_categories: { room_events: RoomEvents } }>(server.url, user, "POST", path, {
        search_categories: { room_events: criteria },
      });
      return body.search_categories.room_events;
    };
    const found = async (user: ClientUser, term: string, more: Record<string, unknown> = {}) =>
      (await search(user, { search_term: term, order_by: "recent", ...more })).results.map((r) => r.result.event_id);

    /** Every page of a search, following next_batch to the end. */
    const allPages = async (user: ClientUser, criteria: Record<string, unknown>): Promise<string[][]> => {
      const pages: string[][] = [];
      let next: string | undefined;
      do {
        const r = await search(user, criteria, next);
        pages.push(r.results.map((x) => x.result.event_id));
        next = r.next_batch;
        expect(pages.length).toBeLessThan(20);
      } while (next !== undefined);
      return pages;
    };

    beforeAll(async () => {
      server = await startOpenServer(kind);
      alice = await registerUser(server.url, "alice");
      bob = await registerUser(server.url, "bob");
      carol = await registerUser(server.url, "carol");
      dave = await registerUser(server.url, "dave");
      loner = await registerUser(server.url, "loner");

      roomA = await createRoom(server.url, alice, { preset: "public_chat", name: "Galaxy chamber" });
      await join(bob, roomA);
      ids.once = await send(server.url, alice, roomA, text("Martians are coming"));
      ids.thrice = await send(server.url, bob, roomA, text("martians martians martians"));
      ids.men = await send(server.url, bob, roomA, text("martians and men"));
      ids.near = await send(server.url, alice, roomA, text("NEAR the end, AND OR NOT"));
      ids.cafe = await send(server.url, alice, roomA, text("Un café au lait"));
      ids.cjk = await send(server.url, alice, roomA, text("日本語 テキスト"));
      ids.email = await send(server.url, alice, roomA, text("send an e-mail"));
      ids.notice = await send(server.url, bob, roomA, { msgtype: "m.notice", body: "martians notice" });
      ids.redacted = await send(server.url, alice, roomA, text("redactable secret"));
      await ok(server.url, alice, "PUT", `${room(roomA)}/redact/${encodeURIComponent(ids.redacted)}/r1`, {});
      await send(
        server.url,
        alice,
        roomA,
        { algorithm: "m.megolm.v1.aes-sha2", ciphertext: "ciphertextword", sender_key: "k", session_id: "s" },
        "m.room.encrypted",
      );
      for (let i = 0; i < 23; i++) paged.push(await send(server.url, alice, roomA, text(`pagination item ${i}`)));

      roomB = await createRoom(server.url, alice, {});
      ids.hidden = await send(server.url, alice, roomB, text("martians hidden elsewhere"));

      roomJ = await createRoom(server.url, alice, {
        preset: "public_chat",
        initial_state: [
          { type: "m.room.history_visibility", state_key: "", content: { history_visibility: "joined" } },
        ],
      });
      ids.early = await send(server.url, alice, roomJ, text("early bird"));
      await join(carol, roomJ);
      ids.late = await send(server.url, alice, roomJ, text("late bird"));

      roomL = await createRoom(server.url, alice, { preset: "public_chat" });
      await join(dave, roomL);
      ids.before = await send(server.url, alice, roomL, text("leaving soon"));
      await ok(server.url, dave, "POST", `${room(roomL)}/leave`, {});
      ids.after = await send(server.url, alice, roomL, text("leaving done"));
    }, 120_000);

    afterAll(async () => {
      await server.close();
    });

    it("ranks the closer match first and counts what it found", async () => {
      const r = await search(bob, { search_term: "martians", filter: { types: ["m.room.message"] } });
      const order = r.results.map((x) => x.result.event_id);
      expect(new Set(order)).toEqual(new Set([ids.once, ids.thrice, ids.men, ids.notice]));
      expect(order[0]).toBe(ids.thrice);
      const ranks = r.results.map((x) => x.rank);
      expect([...ranks].sort((a, b) => b - a)).toEqual(ranks);
      expect(r.count).toBe(4);
      expect(r.highlights).toContain("martians");
      expect(r.results[0]?.result.room_id).toBe(roomA);
    });

    it("orders by recent: newest first", async () => {
      expect(await found(bob, "martians")).toEqual([ids.notice, ids.men, ids.thrice, ids.once]);
    });

    it("matches words by prefix, phrases in a row, excludes -words and takes `or`", async () => {
      expect(await found(bob, "MARTI")).toHaveLength(4);
      expect(await found(bob, '"and men"')).toEqual([ids.men]);
      expect(await found(bob, '"martians men"')).toEqual([]);
      expect(await found(bob, "martians -men -notice")).toEqual([ids.thrice, ids.once]);
      expect(await found(bob, "cafe or coming")).toEqual([ids.cafe, ids.once]);
      expect(await found(bob, "café")).toEqual([ids.cafe]);
      expect(await found(bob, "e-mail")).toEqual([ids.email]);
      expect(await found(bob, "日本語")).toEqual([ids.cjk]);
      const r = await search(bob, { search_term: "mart" });
      expect(r.highlights).toEqual(expect.arrayContaining(["mart", "martians"]));
    });

    it("searches the keys asked for: a room's name is found under content.name only", async () => {
      const name = await search(bob, { search_term: "galaxy" });
      expect(name.results.map((x) => x.result.type)).toEqual(["m.room.name"]);
      expect(await found(bob, "galaxy", { keys: ["content.body"] })).toEqual([]);
      expect(await found(bob, "martians", { keys: ["content.name", "content.topic"] })).toEqual([]);
    });

    it("pages with next_batch to the end, without duplicates, in both orders", async () => {
      for (const order_by of ["recent", "rank"]) {
        const pages = await allPages(bob, { search_term: "pagination", order_by, filter: { limit: 10 } });
        expect(pages.map((p) => p.length)).toEqual([10, 10, 3]);
        const all = pages.flat();
        expect(new Set(all).size).toBe(23);
        expect(new Set(all)).toEqual(new Set(paged));
        if (order_by === "recent") expect(all).toEqual([...paged].reverse());
      }
    });

    it("applies the RoomEventFilter: senders, types, rooms", async () => {
      expect(await found(bob, "martians", { filter: { senders: [alice.userId] } })).toEqual([ids.once]);
      expect(await found(bob, "martians", { filter: { not_senders: [alice.userId] } })).toHaveLength(3);
      expect(await found(alice, "martians", { filter: { rooms: [roomB] } })).toEqual([ids.hidden]);
      expect(await found(alice, "martians", { filter: { not_rooms: [roomA] } })).toEqual([ids.hidden]);
      expect(await found(bob, "galaxy", { filter: { not_types: ["m.room.*"] } })).toEqual([]);
      expect(await found(bob, "martians", { filter: { limit: 1 } })).toEqual([ids.notice]);
      // Long room lists are applied to the events read rather than in the statement: the same answer.
      const many = Array.from({ length: 600 }, (_, i) => `!other${i}:localhost`);
      expect(await found(alice, "martians", { filter: { rooms: [...many, roomB] } })).toEqual([ids.hidden]);
      expect(await found(alice, "martians", { filter: { not_rooms: [...many, roomA] } })).toEqual([ids.hidden]);
    });

    it("never finds another room's events, nor anything for a user in no room", async () => {
      expect(await found(bob, "hidden")).toEqual([]);
      expect(await found(bob, "hidden", { filter: { rooms: [roomB] } })).toEqual([]);
      expect(await found(alice, "hidden")).toEqual([ids.hidden]);
      const r = await search(loner, { search_term: "martians" });
      expect(r).toEqual({ results: [], count: 0, highlights: ["martians"] });
    });

    it("follows history visibility: joined rooms from the join, left rooms until the leave", async () => {
      expect(await found(carol, "bird")).toEqual([ids.late]);
      expect(await found(alice, "bird")).toEqual([ids.late, ids.early]);
      expect(await found(dave, "leaving")).toEqual([ids.before]);
      expect((await search(dave, { search_term: "leaving" })).count).toBe(1);
      expect(await found(alice, "leaving")).toEqual([ids.after, ids.before]);
    });

    it("does not find redacted or encrypted events", async () => {
      expect(await found(alice, "redactable")).toEqual([]);
      expect(await found(alice, "secret")).toEqual([]);
      expect(await found(alice, "ciphertextword")).toEqual([]);
    });

    it("gives context, historic profiles, room state and groups", async () => {
      const r = await search(bob, {
        search_term: "thrice martians",
        order_by: "recent",
        event_context: { before_limit: 1, after_limit: 2, include_profile: true },
        include_state: true,
        groupings: { group_by: [{ key: "room_id" }, { key: "sender" }] },
      });
      expect(r.results).toHaveLength(0);
      const c = await search(bob, {
        search_term: '"martians martians"',
        order_by: "recent",
        event_context: { before_limit: 1, after_limit: 2, include_profile: true },
        include_state: true,
        groupings: { group_by: [{ key: "room_id" }, { key: "sender" }] },
      });
      const [hit] = c.results;
      expect(hit?.result.event_id).toBe(ids.thrice);
      expect(hit?.context.events_before?.map((e) => e.event_id)).toEqual([ids.once]);
      expect(hit?.context.events_after?.map((e) => e.event_id)).toEqual([ids.men, ids.near]);
      expect(Object.keys(hit?.context.profile_info ?? {}).sort()).toEqual([alice.userId, bob.userId].sort());
      expect(hit?.context.start).toMatch(/^s\d+$/);
      expect(c.state?.[roomA]?.some((e) => e.type === "m.room.create")).toBe(true);
      expect(c.groups?.room_id?.[roomA]).toEqual({ results: [ids.thrice], order: 1 });
      expect(c.groups?.sender?.[bob.userId]?.results).toEqual([ids.thrice]);
    });

    it("gives a room group its own next_batch, which stays in that room", async () => {
      const r = await search(alice, {
        search_term: "martians",
        order_by: "recent",
        filter: { limit: 1 },
        groupings: { group_by: [{ key: "room_id" }] },
      });
      const groupBatch = r.groups?.room_id?.[roomB]?.next_batch;
      expect(r.results.map((x) => x.result.event_id)).toEqual([ids.hidden]);
      expect(groupBatch).toBeDefined();
      const inRoom = await search(alice, { search_term: "martians", order_by: "recent" }, groupBatch);
      expect(inRoom.results).toEqual([]);
      const rest = await search(alice, { search_term: "martians", order_by: "recent" }, r.next_batch);
      expect(rest.results.map((x) => x.result.event_id)).toEqual([ids.notice, ids.men, ids.thrice, ids.once]);
    });

    it("reads any term safely: query syntax of either database is never an error", async () => {
      const terms = [
        '"',
        '"""',
        "*",
        "NEAR",
        "NEAR(a b)",
        "-",
        "--x",
        "a AND",
        "OR",
        "NOT",
        "martians:*",
        "!",
        "&|!():*<->",
        "'",
        "{body}: x",
        "^x",
        "-martians",
        "😀 emoji",
        "\u0000",
        "x".repeat(5000),
        Array.from({ length: 200 }, (_, i) => `w${i}`).join(" "),
        "",
      ];
      for (const term of terms) {
        for (const order_by of ["rank", "recent"]) {
          const r = await api(server.url, bob, "POST", "/search", {
            search_categories: { room_events: { search_term: term, order_by } },
          });
          expect(r.status, `${JSON.stringify(term).slice(0, 40)}: ${r.text}`).toBe(200);
        }
      }
      expect(await found(bob, "near")).toEqual([ids.near]);
      expect(await found(bob, '"the end"')).toEqual([ids.near]);
    });

    it("refuses bad requests with 400 and the right errcode", async () => {
      const bad = async (body: unknown, errcode: string, nextBatch?: string) => {
        const path = nextBatch === undefined ? "/search" : `/search?next_batch=${encodeURIComponent(nextBatch)}`;
        const r = await api<{ errcode: string }>(server.url, bob, "POST", path, body);
        expect(r.status, JSON.stringify(body)).toBe(400);
        expect(r.body.errcode).toBe(errcode);
      };
      const re = (criteria: Record<string, unknown>) => ({ search_categories: { room_events: criteria } });
      await bad({}, "M_MISSING_PARAM");
      await bad({ search_categories: {} }, "M_MISSING_PARAM");
      await bad({ search_categories: { people: { search_term: "x" } } }, "M_MISSING_PARAM");
      await bad({ search_categories: [] }, "M_BAD_JSON");
      await bad(re({}), "M_MISSING_PARAM");
      await bad(re({ search_term: 5 }), "M_BAD_JSON");
      await bad(re({ search_term: "x", keys: ["content.nope"] }), "M_BAD_JSON");
      await bad(re({ search_term: "x", keys: [] }), "M_BAD_JSON");
      await bad(re({ search_term: "x", order_by: "best" }), "M_BAD_JSON");
      await bad(re({ search_term: "x", filter: { senders: "nobody" } }), "M_BAD_JSON");
      await bad(re({ search_term: "x", filter: { rooms: ["not-a-room"] } }), "M_BAD_JSON");
      await bad(re({ search_term: "x", event_context: { before_limit: -1 } }), "M_BAD_JSON");
      await bad(re({ search_term: "x", groupings: { group_by: [{ key: "type" }] } }), "M_BAD_JSON");
      await bad(re({ search_term: "x" }), "M_INVALID_PARAM", "garbage");
      await bad(re({ search_term: "x" }), "M_INVALID_PARAM", Buffer.from("{}").toString("base64url"));
      const recent = await search(bob, { search_term: "pagination", order_by: "recent", filter: { limit: 1 } });
      await bad(re({ search_term: "pagination", order_by: "rank" }), "M_INVALID_PARAM", recent.next_batch);
      const r = await api<{ errcode: string }>(server.url, null, "POST", "/search", re({ search_term: "x" }));
      expect(r.status).toBe(401);
    });
  });
});
