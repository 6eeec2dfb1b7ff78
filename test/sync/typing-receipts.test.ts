/**
 * Typing notifications, receipts and read markers over real HTTP on SQLite and PostgreSQL: what each member sees in
 * `/sync` (and what a non-member or another user does not), typing timeouts on a test clock, threaded and private
 * receipts, the read marker as room account data, and every refusal with Synapse's errcode.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expireTyping } from "../../src/rooms/typing.js";
import { forEachDatabase } from "../helpers/databases.js";
import type { TestClock, TestServer } from "../helpers/server.js";
import { api, createRoom, ok, registerUser, room, send, text, type ClientUser } from "../rooms/support.js";
import { startClockedServer, Syncer } from "./ephemeral-support.js";

/** A well-formed event ID of no event. */
const MISSING = `$${"A".repeat(43)}`;

forEachDatabase((kind) => {
  describe("typing and receipts", () => {
    let server: TestServer;
    let clock: TestClock;
    let alice: ClientUser;
    let bob: ClientUser;
    let carol: ClientUser;
    let roomId: string;
    let otherRoom: string;
    const typing = (u: ClientUser, as: ClientUser, body: unknown) =>
      api(server.url, u, "PUT", `${room(roomId)}/typing/${encodeURIComponent(as.userId)}`, body);
    const receipt = (u: ClientUser, type: string, eventId: string, body: unknown = {}, r = roomId) =>
      api(server.url, u, "POST", `${room(r)}/receipt/${type}/${encodeURIComponent(eventId)}`, body);

    beforeAll(async () => {
      ({ server, clock } = await startClockedServer(kind));
      alice = await registerUser(server.url, "alice");
      bob = await registerUser(server.url, "bob");
      carol = await registerUser(server.url, "carol");
      roomId = await createRoom(server.url, alice, { preset: "public_chat" });
      await ok(server.url, bob, "POST", `${room(roomId)}/join`, {});
      otherRoom = await createRoom(server.url, carol, {});
    }, 60_000);
    afterAll(async () => server.close());

    it("shows a typer to the other member, not to a non-member, until the timeout passes", async () => {
      const bobSync = new Syncer(server.url, bob);
      const carolSync = new Syncer(server.url, carol);
      await bobSync.next();
      await carolSync.next();
      expect((await typing(alice, alice, { typing: true, timeout: 10_000 })).status).toBe(200);
      expect(await bobSync.ephemeral(roomId, "m.typing")).toEqual([
        { type: "m.typing", content: { user_ids: [alice.userId] } },
      ]);
      expect((await carolSync.next()).rooms.join[roomId]).toBeUndefined();
      // An initial sync shows who types now.
      expect(await new Syncer(server.url, bob).ephemeral(roomId, "m.typing")).toEqual([
        { type: "m.typing", content: { user_ids: [alice.userId] } },
      ]);
      // Typing again only moves the deadline: nothing new to tell.
      expect((await typing(alice, alice, { typing: true, timeout: 10_000 })).status).toBe(200);
      expect((await bobSync.next()).rooms.join[roomId]).toBeUndefined();

      // The timeout passes: readers stop showing it at once, and the sweep tells the waiting syncs.
      const pending = bobSync.ephemeral(roomId, "m.typing", "timeout=20000");
      clock.advance(11_000);
      await expireTyping(server.server.accounts);
      const started = performance.now();
      expect(await pending).toEqual([{ type: "m.typing", content: { user_ids: [] } }]);
      expect(performance.now() - started).toBeLessThan(10_000);
      expect(await new Syncer(server.url, bob).ephemeral(roomId, "m.typing")).toEqual([]);
      // Expired once: a second sweep changes nothing.
      expect(await expireTyping(server.server.accounts)).toBe(0);
    });

    it("stops typing on request, and caps the timeout at 120 s", async () => {
      const bobSync = new Syncer(server.url, bob);
      await bobSync.next();
      await typing(alice, alice, { typing: true, timeout: 3_600_000 });
      expect(await bobSync.ephemeral(roomId, "m.typing")).toEqual([
        { type: "m.typing", content: { user_ids: [alice.userId] } },
      ]);
      clock.advance(121_000);
      expect(await new Syncer(server.url, bob).ephemeral(roomId, "m.typing")).toEqual([]);
      await typing(alice, alice, { typing: true });
      await typing(alice, alice, { typing: false });
      expect(await bobSync.ephemeral(roomId, "m.typing")).toEqual([{ type: "m.typing", content: { user_ids: [] } }]);
    });

    it("refuses another user's typing, a non-member and a bad body", async () => {
      const other = await typing(alice, bob, { typing: true });
      expect(other.status).toBe(403);
      expect(other.body).toMatchObject({ errcode: "M_FORBIDDEN", error: "Cannot set another user's typing state" });
      expect((await typing(carol, carol, { typing: true })).body).toMatchObject({ errcode: "M_FORBIDDEN" });
      for (const body of [{}, { typing: "yes" }, { typing: true, timeout: "soon" }, { typing: true, timeout: -1 }]) {
        const r = await typing(alice, alice, body);
        expect(r.status, JSON.stringify(body)).toBe(400);
        expect(r.body.errcode).toBe("M_BAD_JSON");
      }
      expect((await typing(alice, alice, [])).status).toBe(400);
    });

    it("delivers m.read to members, m.read.private only to its owner, and never moves back", async () => {
      const e1 = await send(server.url, alice, roomId, text("one"));
      const e2 = await send(server.url, alice, roomId, text("two"));
      const aliceSync = new Syncer(server.url, alice);
      const bobSync = new Syncer(server.url, bob);
      await aliceSync.next();
      await bobSync.next();
      expect((await receipt(bob, "m.read", e2)).status).toBe(200);
      const [seen] = await aliceSync.ephemeral(roomId, "m.receipt");
      const ts = (seen?.content[e2] as Record<string, Record<string, { ts: number }>>)["m.read"]![bob.userId]!.ts;
      expect(seen).toEqual({ type: "m.receipt", content: { [e2]: { "m.read": { [bob.userId]: { ts } } } } });
      expect(typeof ts).toBe("number");

      await receipt(bob, "m.read.private", e2);
      expect((await aliceSync.next()).rooms.join[roomId]).toBeUndefined();
      const own = await bobSync.ephemeral(roomId, "m.receipt");
      const mine = { [bob.userId]: { ts: expect.any(Number) as number } };
      expect(own).toEqual([{ type: "m.receipt", content: { [e2]: { "m.read": mine, "m.read.private": mine } } }]);
      // An initial sync: all of the room's receipts, but only your own private ones.
      const initial = JSON.stringify(await new Syncer(server.url, alice).ephemeral(roomId, "m.receipt"));
      expect(initial).toContain(bob.userId);
      expect(initial).not.toContain("m.read.private");

      // Back to an earlier event: accepted, changes nothing.
      expect((await receipt(bob, "m.read", e1)).status).toBe(200);
      expect((await aliceSync.next()).rooms.join[roomId]).toBeUndefined();

      // The read position unread counts use: the later of the two receipts.
      const stores = server.server.accounts.stores;
      const e2Ordering = (await stores.events.get(e2))!.streamOrdering;
      expect(await stores.receipts.latestReadOrdering(roomId, bob.userId, null)).toBe(e2Ordering);
      expect(await stores.receipts.latestReadOrdering(roomId, alice.userId, null)).toBeNull();
    });

    it("keeps threaded receipts per thread and checks the event is in the thread", async () => {
      const root = await send(server.url, alice, roomId, text("root"));
      const reply = await send(server.url, alice, roomId, {
        ...text("reply"),
        "m.relates_to": { rel_type: "m.thread", event_id: root },
      });
      const aliceSync = new Syncer(server.url, alice);
      await aliceSync.next();
      expect((await receipt(bob, "m.read", reply, { thread_id: root })).status).toBe(200);
      const [seen] = await aliceSync.ephemeral(roomId, "m.receipt");
      expect(seen?.content[reply]).toEqual({
        "m.read": { [bob.userId]: { ts: expect.any(Number) as number, thread_id: root } },
      });
      const stores = server.server.accounts.stores;
      const replyOrdering = (await stores.events.get(reply))!.streamOrdering;
      expect(await stores.receipts.latestReadOrdering(roomId, bob.userId, root)).toBe(replyOrdering);
      expect((await receipt(bob, "m.read", root, { thread_id: "main" })).status).toBe(200);

      for (const [body, error] of [
        [{ thread_id: "main" }, `event_id ${reply} is not related to thread main`],
        [{ thread_id: "" }, "thread_id field must be a non-empty string"],
        [{ thread_id: 5 }, "thread_id field must be a non-empty string"],
      ] as const) {
        const r = await receipt(bob, "m.read", reply, body);
        expect(r.status).toBe(400);
        expect(r.body).toEqual({ errcode: "M_INVALID_PARAM", error });
      }
      const fully = await receipt(bob, "m.fully_read", reply, { thread_id: root });
      expect(fully.body.errcode).toBe("M_INVALID_PARAM");
    });

    it("refuses an unknown type, a non-member and an event not in the room", async () => {
      const e = await send(server.url, alice, roomId, text("x"));
      const unknown = await receipt(bob, "m.seen", e);
      expect(unknown.status).toBe(400);
      expect(unknown.body.errcode).toBe("M_UNKNOWN");
      expect((await receipt(carol, "m.read", e)).body).toMatchObject({ errcode: "M_FORBIDDEN" });
      const elsewhere = await send(server.url, carol, otherRoom, text("elsewhere"));
      expect((await receipt(bob, "m.read", elsewhere)).status).toBe(404);
      expect((await receipt(bob, "m.read", MISSING)).status).toBe(404);
      expect((await receipt(bob, "m.read", "not-an-event")).status).toBe(400);
    });

    it("keeps the read marker as m.fully_read room account data, from /receipt and /read_markers", async () => {
      const e1 = await send(server.url, alice, roomId, text("a"));
      const e2 = await send(server.url, alice, roomId, text("b"));
      const bobSync = new Syncer(server.url, bob);
      await bobSync.next();
      const markerPath = `/user/${encodeURIComponent(bob.userId)}/rooms/${encodeURIComponent(roomId)}/account_data/m.fully_read`;
      expect((await receipt(bob, "m.fully_read", e1)).status).toBe(200);
      expect(await ok(server.url, bob, "GET", markerPath)).toEqual({ event_id: e1 });

      const aliceSync = new Syncer(server.url, alice);
      await aliceSync.next();
      await ok(server.url, bob, "POST", `${room(roomId)}/read_markers`, { "m.fully_read": e2, "m.read": e2 });
      expect(await ok(server.url, bob, "GET", markerPath)).toEqual({ event_id: e2 });
      const delta = await bobSync.next();
      expect(delta.rooms.join[roomId]?.account_data.events).toContainEqual({
        type: "m.fully_read",
        content: { event_id: e2 },
      });
      expect(JSON.stringify((await aliceSync.next()).rooms.join[roomId]?.ephemeral.events)).toContain(e2);
      // Back to e1: nothing moves.
      await ok(server.url, bob, "POST", `${room(roomId)}/read_markers`, { "m.fully_read": e1 });
      expect(await ok(server.url, bob, "GET", markerPath)).toEqual({ event_id: e2 });
      // One bad event: nothing is stored.
      const e3 = await send(server.url, alice, roomId, text("c"));
      const bad = await api(server.url, bob, "POST", `${room(roomId)}/read_markers`, {
        "m.fully_read": e3,
        "m.read": MISSING,
      });
      expect(bad.status).toBe(404);
      expect(await ok(server.url, bob, "GET", markerPath)).toEqual({ event_id: e2 });
      const wrong = await api(server.url, bob, "POST", `${room(roomId)}/read_markers`, { "m.read": 7 });
      expect(wrong.body.errcode).toBe("M_INVALID_PARAM");
    });
  });
});
