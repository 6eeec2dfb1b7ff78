/**
 * `/messages` and `/context` over real HTTP on both databases: paging both ways reaches every event once, filters,
 * lazy-loaded members, history visibility, and the errors for bad input. Every response is checked against the spec.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { forEachDatabase } from "../helpers/databases.js";
import type { TestServer } from "../helpers/server.js";
import {
  api,
  createRoom,
  ok,
  registerUser,
  room,
  send,
  startOpenServer,
  sync,
  text,
  type ClientUser,
} from "./support.js";

interface Ev {
  event_id: string;
  type: string;
  sender: string;
  state_key?: string;
  content: Record<string, unknown>;
}

interface Messages {
  chunk: Ev[];
  start: string;
  end?: string;
  state?: Ev[];
}

interface Context {
  start: string;
  end: string;
  events_before: Ev[];
  event: Ev;
  events_after: Ev[];
  state: Ev[];
}

function qs(params: Record<string, string | number | undefined>): string {
  const parts = Object.entries(params)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${encodeURIComponent(String(v))}`);
  return parts.length ? `?${parts.join("&")}` : "";
}

forEachDatabase((kind) => {
  describe("/messages and /context", () => {
    let server: TestServer;
    let alice: ClientUser;
    let bob: ClientUser;
    let carol: ClientUser;
    let stranger: ClientUser;
    let roomId: string;
    const sent: string[] = [];

    const messages = (user: ClientUser, id: string, params: Record<string, string | number | undefined>) =>
      ok<Messages>(server.url, user, "GET", `${room(id)}/messages${qs(params)}`);

    /** Every event `user` can reach paging in `dir` from the edge, `limit` a page, and the pages' `end`s. */
    async function pageAll(user: ClientUser, id: string, dir: "b" | "f", limit: number, extra = {}): Promise<Ev[]> {
      const out: Ev[] = [];
      let from: string | undefined;
      for (let i = 0; i < 200; i++) {
        const page = await messages(user, id, { dir, limit, from, ...extra });
        expect(page.chunk.length).toBeLessThanOrEqual(limit);
        out.push(...page.chunk);
        if (page.end === undefined) return out;
        expect(page.end).not.toBe(from);
        from = page.end;
      }
      throw new Error("paging did not end");
    }

    beforeAll(async () => {
      server = await startOpenServer(kind);
      alice = await registerUser(server.url, "alice");
      bob = await registerUser(server.url, "bob");
      carol = await registerUser(server.url, "carol");
      stranger = await registerUser(server.url, "stranger");
      roomId = await createRoom(server.url, alice, { preset: "public_chat", name: "History" });
      await ok(server.url, bob, "POST", `/join/${encodeURIComponent(roomId)}`, {});
      for (let i = 0; i < 23; i++) {
        const who = i % 3 === 0 ? bob : alice;
        const content = i % 5 === 0 ? { msgtype: "m.image", body: `pic ${i}`, url: "mxc://x/y" } : text(`m${i}`);
        sent.push(await send(server.url, who, roomId, content));
      }
    });
    afterAll(async () => server.close());

    it("pages back and forward over every event exactly once, with no end at the edges", async () => {
      const back = await pageAll(alice, roomId, "b", 7);
      const forward = await pageAll(alice, roomId, "f", 6);
      const backIds = back.map((e) => e.event_id);
      const forwardIds = forward.map((e) => e.event_id);
      expect(new Set(backIds).size).toBe(backIds.length);
      expect(forwardIds).toEqual([...backIds].reverse());
      expect(forward[0]?.type).toBe("m.room.create");
      expect(backIds.slice(0, sent.length)).toEqual([...sent].reverse());
      // Page by page with the limit exactly the number left: the last full page still has no `end` after it.
      const all = await messages(alice, roomId, { dir: "b", limit: back.length });
      expect(all.chunk.length).toBe(back.length);
      expect(all.end).toBeUndefined();
      const more = await messages(alice, roomId, { dir: "b", limit: back.length - 1 });
      expect(more.end).toBeDefined();
      const last = await messages(alice, roomId, { dir: "b", limit: 5, from: more.end });
      expect(last.chunk.map((e) => e.type)).toEqual(["m.room.create"]);
      expect(last.end).toBeUndefined();
    });

    it("default dir is forwards and the default page is 10; start echoes from; `to` stops the page", async () => {
      const page = await messages(alice, roomId, {});
      expect(page.chunk).toHaveLength(10);
      expect(page.chunk[0]?.type).toBe("m.room.create");
      const newest = await messages(alice, roomId, { dir: "b", limit: 3 });
      expect(newest.chunk.map((e) => e.event_id)).toEqual(sent.slice(-3).reverse());
      const next = await messages(alice, roomId, { dir: "b", limit: 3, from: newest.end });
      expect(next.start).toBe(newest.end);
      expect(next.chunk.map((e) => e.event_id)).toEqual(sent.slice(-6, -3).reverse());
      // From the newest edge back to the first page's end: just that page again, and nothing further.
      const bounded = await messages(alice, roomId, { dir: "b", limit: 50, to: newest.end });
      expect(bounded.chunk.map((e) => e.event_id)).toEqual(sent.slice(-3).reverse());
      expect(bounded.end).toBeUndefined();
      // Forward from the first page's end reaches what the first page had (the `b` and `f` gaps agree).
      const fwd = await messages(alice, roomId, { dir: "f", limit: 50, from: next.end });
      expect(fwd.chunk.map((e) => e.event_id)).toEqual(sent.slice(-6));
      // Synapse's room token reads as its stream part.
      const pos = Number(newest.end?.slice(1));
      const synapse = await messages(alice, roomId, { dir: "b", limit: 3, from: `t7-${pos}` });
      expect(synapse.chunk.map((e) => e.event_id)).toEqual(next.chunk.map((e) => e.event_id));
    });

    it("continues from /sync's prev_batch without overlap", async () => {
      const s = await sync(
        server.url,
        bob,
        `filter=${encodeURIComponent(JSON.stringify({ room: { timeline: { limit: 4 } } }))}`,
      );
      const joined = s.rooms.join[roomId]!;
      expect(joined.timeline.limited).toBe(true);
      const older = await messages(bob, roomId, { dir: "b", limit: 4, from: joined.timeline.prev_batch });
      const timeline = joined.timeline.events.map((e) => e.event_id);
      expect(older.chunk.map((e) => e.event_id)).toEqual(sent.slice(-8, -4).reverse());
      expect(timeline).toEqual(sent.slice(-4));
    });

    it("applies a RoomEventFilter", async () => {
      const onlyBob = await pageAll(alice, roomId, "b", 3, {
        filter: JSON.stringify({ types: ["m.room.message"], senders: [bob.userId] }),
      });
      const expected = sent.filter((_, i) => i % 3 === 0).reverse();
      expect(onlyBob.map((e) => e.event_id)).toEqual(expected);
      const noMessages = await pageAll(alice, roomId, "f", 50, {
        filter: JSON.stringify({ not_types: ["m.room.message"] }),
      });
      expect(noMessages.every((e) => e.type !== "m.room.message")).toBe(true);
      expect(noMessages.length).toBeGreaterThan(3);
      const wildcard = await pageAll(alice, roomId, "f", 50, { filter: JSON.stringify({ types: ["m.room.c*"] }) });
      expect(wildcard.map((e) => e.type)).toEqual(
        ["m.room.create", "m.room.canonical_alias"].filter((t) => wildcard.some((e) => e.type === t)),
      );
      const urls = await pageAll(alice, roomId, "b", 50, { filter: JSON.stringify({ contains_url: true }) });
      expect(urls.map((e) => e.event_id)).toEqual(sent.filter((_, i) => i % 5 === 0).reverse());
      const notBob = await pageAll(alice, roomId, "b", 50, {
        filter: JSON.stringify({ types: ["m.room.message"], not_senders: [bob.userId] }),
      });
      expect(notBob.map((e) => e.event_id)).toEqual(sent.filter((_, i) => i % 3 !== 0).reverse());
      const otherRoom = await messages(alice, roomId, { dir: "b", filter: JSON.stringify({ not_rooms: [roomId] }) });
      expect(otherRoom.chunk).toEqual([]);
      expect(otherRoom.end).toBeUndefined();
      // Twice URL-encoded, as some clients send it.
      const twice = await messages(alice, roomId, {
        dir: "b",
        limit: 2,
        filter: encodeURIComponent(JSON.stringify({ senders: [bob.userId] })),
      });
      expect(twice.chunk.every((e) => e.sender === bob.userId)).toBe(true);
    });

    it("lazy-loads the members of the page's senders", async () => {
      const page = await messages(alice, roomId, {
        dir: "b",
        limit: 1,
        filter: JSON.stringify({ lazy_load_members: true }),
      });
      expect(page.chunk[0]?.sender).toBe(alice.userId);
      expect(page.state?.map((e) => [e.type, e.state_key])).toEqual([["m.room.member", alice.userId]]);
      const two = await messages(alice, roomId, {
        dir: "b",
        limit: 3,
        filter: JSON.stringify({ lazy_load_members: true, types: ["m.room.message"] }),
      });
      expect(new Set(two.state?.map((e) => e.state_key))).toEqual(new Set([alice.userId, bob.userId]));
      expect(two.state?.every((e) => e.content.membership === "join")).toBe(true);
      const without = await messages(alice, roomId, { dir: "b", limit: 3 });
      expect(without.state).toBeUndefined();
    });

    it("follows history visibility: joined, shared, invited, after leaving, never joined", async () => {
      const joinedRoom = await createRoom(server.url, alice, {
        preset: "public_chat",
        initial_state: [
          { type: "m.room.history_visibility", state_key: "", content: { history_visibility: "joined" } },
        ],
      });
      const before = await send(server.url, alice, joinedRoom, text("before carol"));
      await ok(server.url, carol, "POST", `/join/${encodeURIComponent(joinedRoom)}`, {});
      const after = await send(server.url, alice, joinedRoom, text("after carol"));
      const carolSees = (await pageAll(carol, joinedRoom, "b", 2)).map((e) => e.event_id);
      expect(carolSees).toContain(after);
      expect(carolSees).not.toContain(before);
      // What came before the room's visibility was set reads as `shared` (the spec's default), as in Synapse.
      const types = (await pageAll(carol, joinedRoom, "f", 50)).map((e) => e.type);
      expect(types.slice(0, 2)).toEqual(["m.room.create", "m.room.member"]);

      // `shared` (this room): carol, joining late, sees everything.
      await ok(server.url, carol, "POST", `/join/${encodeURIComponent(roomId)}`, {});
      const shared = (await pageAll(carol, roomId, "b", 50)).map((e) => e.event_id);
      for (const id of sent) expect(shared).toContain(id);

      // `invited`: what happened after the invite, not before it.
      const invitedRoom = await createRoom(server.url, alice, {
        preset: "private_chat",
        initial_state: [
          { type: "m.room.history_visibility", state_key: "", content: { history_visibility: "invited" } },
        ],
      });
      const early = await send(server.url, alice, invitedRoom, text("before the invite"));
      await ok(server.url, alice, "POST", `${room(invitedRoom)}/invite`, { user_id: bob.userId });
      const whileInvited = await send(server.url, alice, invitedRoom, text("while invited"));
      await ok(server.url, bob, "POST", `/join/${encodeURIComponent(invitedRoom)}`, {});
      const bobSees = (await pageAll(bob, invitedRoom, "b", 3)).map((e) => e.event_id);
      expect(bobSees).toContain(whileInvited);
      expect(bobSees).not.toContain(early);

      // After leaving: up to the leave, never past it, in either direction.
      const during = await send(server.url, alice, joinedRoom, text("carol is here"));
      await ok(server.url, carol, "POST", `${room(joinedRoom)}/leave`, {});
      const gone = await send(server.url, alice, joinedRoom, text("carol has gone"));
      const back = await pageAll(carol, joinedRoom, "b", 2);
      expect(back[0]).toMatchObject({
        type: "m.room.member",
        state_key: carol.userId,
        content: { membership: "leave" },
      });
      expect(back.map((e) => e.event_id)).toContain(during);
      expect(back.map((e) => e.event_id)).not.toContain(gone);
      const forward = await pageAll(carol, joinedRoom, "f", 2);
      expect(forward.map((e) => e.event_id)).toEqual(back.map((e) => e.event_id).reverse());
      const aliceNow = await messages(alice, joinedRoom, { dir: "b", limit: 1 });
      const fromLater = await messages(carol, joinedRoom, { dir: "f", from: aliceNow.start });
      expect(fromLater.chunk).toEqual([]);

      // Never in the room: 403, for /messages and /context.
      const r = await api(server.url, stranger, "GET", `${room(joinedRoom)}/messages?dir=b`);
      expect(r.status).toBe(403);
      expect(r.body.errcode).toBe("M_FORBIDDEN");
      const c = await api(server.url, stranger, "GET", `${room(joinedRoom)}/context/${encodeURIComponent(after)}`);
      expect(c.status).toBe(403);
      // An event before carol's join is not hers to see: 404 as if unknown.
      const hidden = await api(server.url, carol, "GET", `${room(joinedRoom)}/context/${encodeURIComponent(before)}`);
      expect(hidden.status).toBe(404);
      expect(hidden.body.errcode).toBe("M_NOT_FOUND");
      const afterLeaving = await api(
        server.url,
        carol,
        "GET",
        `${room(joinedRoom)}/context/${encodeURIComponent(gone)}`,
      );
      expect(afterLeaving.status).toBe(404);
    });

    it("/context returns the events around one, tokens that page on, and the state", async () => {
      const middle = sent[11]!;
      const ctx = await ok<Context>(
        server.url,
        alice,
        "GET",
        `${room(roomId)}/context/${encodeURIComponent(middle)}?limit=4`,
      );
      expect(ctx.event.event_id).toBe(middle);
      expect(ctx.events_before.map((e) => e.event_id)).toEqual([sent[10], sent[9]]);
      expect(ctx.events_after.map((e) => e.event_id)).toEqual([sent[12], sent[13]]);
      const types = new Set(ctx.state.map((e) => e.type));
      expect(types).toContain("m.room.create");
      expect(types).toContain("m.room.power_levels");
      const older = await messages(alice, roomId, { dir: "b", limit: 2, from: ctx.start });
      expect(older.chunk.map((e) => e.event_id)).toEqual([sent[8], sent[7]]);
      const newer = await messages(alice, roomId, { dir: "f", limit: 2, from: ctx.end });
      expect(newer.chunk.map((e) => e.event_id)).toEqual([sent[14], sent[15]]);

      const lazy = await ok<Context>(
        server.url,
        alice,
        "GET",
        `${room(roomId)}/context/${encodeURIComponent(sent[3]!)}?limit=0&filter=${encodeURIComponent(JSON.stringify({ lazy_load_members: true }))}`,
      );
      expect(lazy.events_before).toEqual([]);
      expect(lazy.events_after).toEqual([]);
      const members = lazy.state.filter((e) => e.type === "m.room.member").map((e) => e.state_key);
      expect(members).toEqual([bob.userId]);
      expect(lazy.state.some((e) => e.type === "m.room.create")).toBe(true);

      const filtered = await ok<Context>(
        server.url,
        alice,
        "GET",
        `${room(roomId)}/context/${encodeURIComponent(middle)}?limit=6&filter=${encodeURIComponent(JSON.stringify({ senders: [bob.userId] }))}`,
      );
      expect(filtered.events_before.map((e) => e.event_id)).toEqual([sent[9], sent[6], sent[3]]);
      expect(filtered.events_after.map((e) => e.event_id)).toEqual([sent[12], sent[15], sent[18]]);
    });

    it("refuses bad input with the spec's errors", async () => {
      const bad = async (path: string, status: number, errcode: string) => {
        const r = await api(server.url, alice, "GET", path);
        expect(r.status, `${path}: ${r.text}`).toBe(status);
        expect(r.body.errcode, path).toBe(errcode);
      };
      const m = `${room(roomId)}/messages`;
      await bad(`${m}?dir=x`, 400, "M_INVALID_PARAM");
      await bad(`${m}?dir=b&from=nonsense`, 400, "M_INVALID_PARAM");
      await bad(`${m}?dir=b&to=s`, 400, "M_INVALID_PARAM");
      await bad(`${m}?dir=b&limit=ten`, 400, "M_INVALID_PARAM");
      await bad(`${m}?dir=b&limit=-1`, 400, "M_INVALID_PARAM");
      await bad(`${m}?dir=b&filter=${encodeURIComponent("{nope")}`, 400, "M_NOT_JSON");
      await bad(`${m}?dir=b&filter=${encodeURIComponent("[1]")}`, 400, "M_NOT_JSON");
      await bad(`${m}?dir=b&filter=${encodeURIComponent('{"types":"m.room.message"}')}`, 400, "M_BAD_JSON");
      await bad(`${room("!unknown:localhost")}/messages?dir=b`, 403, "M_FORBIDDEN");
      await bad(`${room(roomId)}/context/${encodeURIComponent("$unknown")}`, 404, "M_NOT_FOUND");
      await bad(`${room(roomId)}/context/not-an-event-id`, 404, "M_NOT_FOUND");
      await bad(`${room(roomId)}/context/${encodeURIComponent(sent[0]!)}?limit=x`, 400, "M_INVALID_PARAM");
      // A limit past the cap is served as the cap, not refused.
      const big = await messages(alice, roomId, { dir: "b", limit: 100000 });
      expect(big.end).toBeUndefined();
    });
  });
});
