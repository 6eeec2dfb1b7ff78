/**
 * `/relations`, `/threads` and the bundled aggregations (`unsigned.m.relations`) over real HTTP on both databases,
 * every response checked against the spec.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { forEachDatabase } from "../helpers/databases.js";
import type { HttpResult } from "../helpers/http.js";
import { specCall } from "../helpers/openapi.js";
import type { TestServer } from "../helpers/server.js";
import {
  api,
  createRoom,
  ok,
  registerUser,
  room,
  send,
  startOpenServer,
  text,
  type ClientUser,
  type SyncRoomEvent,
} from "./support.js";

type Ev = SyncRoomEvent;

interface Chunked {
  chunk: Ev[];
  next_batch?: string;
  prev_batch?: string;
  recursion_depth?: number;
}

const V1 = "/_matrix/client/v1";

forEachDatabase((kind) => {
  describe("relations, threads and aggregations", () => {
    let server: TestServer;
    let alice: ClientUser;
    let bob: ClientUser;
    let carol: ClientUser;
    let stranger: ClientUser;
    let roomId: string;
    let root: string;
    let other: string;
    const replies: string[] = [];
    let edit: string;
    let reaction: string;
    let nested: string;

    const v1 = (user: ClientUser, path: string): Promise<HttpResult<Chunked>> =>
      specCall<Chunked>(server.url, "GET", `${V1}${path}`, { token: user.token });
    const v1ok = async (user: ClientUser, path: string): Promise<Chunked> => {
      const r = await v1(user, path);
      expect(r.status, `${path}: ${r.text}`).toBe(200);
      return r.body;
    };
    const thread = (id: string, body: string) => ({
      ...text(body),
      "m.relates_to": { rel_type: "m.thread", event_id: id, is_falling_back: true, "m.in_reply_to": { event_id: id } },
    });

    beforeAll(async () => {
      server = await startOpenServer(kind);
      alice = await registerUser(server.url, "alice");
      bob = await registerUser(server.url, "bob");
      carol = await registerUser(server.url, "carol");
      stranger = await registerUser(server.url, "stranger");
      roomId = await createRoom(server.url, alice, { preset: "public_chat" });
      await ok(server.url, bob, "POST", `/join/${encodeURIComponent(roomId)}`, {});
      await ok(server.url, carol, "POST", `/join/${encodeURIComponent(roomId)}`, {});
      root = await send(server.url, alice, roomId, text("root"));
      other = await send(server.url, carol, roomId, text("another root"));
      replies.push(await send(server.url, bob, roomId, thread(root, "r1")));
      replies.push(await send(server.url, alice, roomId, thread(root, "r2")));
      edit = await send(server.url, alice, roomId, {
        ...text("* root (edited)"),
        "m.new_content": text("root (edited)"),
        "m.relates_to": { rel_type: "m.replace", event_id: root },
      });
      reaction = await send(
        server.url,
        bob,
        roomId,
        { "m.relates_to": { rel_type: "m.annotation", event_id: root, key: "👍" } },
        "m.reaction",
      );
      nested = await send(
        server.url,
        carol,
        roomId,
        { "m.relates_to": { rel_type: "m.annotation", event_id: replies[0], key: "🎉" } },
        "m.reaction",
      );
      await send(server.url, carol, roomId, thread(other, "o1"));
      replies.push(await send(server.url, bob, roomId, thread(root, "r3")));
      // Bob tries to edit Alice's message: not a valid edit, never bundled.
      await send(server.url, bob, roomId, {
        ...text("* hijack"),
        "m.new_content": text("hijack"),
        "m.relates_to": { rel_type: "m.replace", event_id: root },
      });
    });
    afterAll(async () => server.close());

    it("lists an event's relations newest first, by type, page by page", async () => {
      const r = encodeURIComponent(roomId);
      const all = await v1ok(alice, `/rooms/${r}/relations/${encodeURIComponent(root)}?limit=50`);
      // Three thread replies, the edit, the reaction and Bob's invalid edit (listed, though never bundled).
      expect(all.chunk).toHaveLength(6);
      expect(all.next_batch).toBeUndefined();
      const threads = await v1ok(alice, `/rooms/${r}/relations/${encodeURIComponent(root)}/m.thread`);
      expect(threads.chunk.map((e) => e.event_id)).toEqual([...replies].reverse());
      const byType = await v1ok(alice, `/rooms/${r}/relations/${encodeURIComponent(root)}/m.annotation/m.reaction`);
      expect(byType.chunk.map((e) => e.event_id)).toEqual([reaction]);
      const none = await v1ok(alice, `/rooms/${r}/relations/${encodeURIComponent(root)}/m.annotation/m.room.message`);
      expect(none.chunk).toEqual([]);

      const seen: string[] = [];
      let from: string | undefined;
      for (let i = 0; i < 10; i++) {
        const page = await v1ok(
          alice,
          `/rooms/${r}/relations/${encodeURIComponent(root)}?limit=2&dir=f${from ? `&from=${from}` : ""}`,
        );
        if (from) expect(page.prev_batch).toBe(from);
        seen.push(...page.chunk.map((e) => e.event_id));
        if (!page.next_batch) break;
        from = page.next_batch;
      }
      expect(seen).toEqual(all.chunk.map((e) => e.event_id).reverse());

      const deep = await v1ok(alice, `/rooms/${r}/relations/${encodeURIComponent(root)}?recurse=true&limit=50`);
      expect(deep.recursion_depth).toBe(3);
      expect(deep.chunk.map((e) => e.event_id)).toContain(nested);
      expect(all.chunk.map((e) => e.event_id)).not.toContain(nested);
    });

    it("bundles the thread summary and the latest valid edit", async () => {
      const event = await ok<Ev>(server.url, carol, "GET", `${room(roomId)}/event/${encodeURIComponent(root)}`);
      const relations = event.unsigned?.["m.relations"] as Record<string, Record<string, unknown>>;
      const summary = relations["m.thread"]!;
      expect(summary.count).toBe(3);
      expect((summary.latest_event as Ev).event_id).toBe(replies[2]);
      expect(summary.current_user_participated).toBe(false);
      expect((relations["m.replace"] as unknown as Ev).event_id).toBe(edit);
      const forBob = await ok<Ev>(server.url, bob, "GET", `${room(roomId)}/event/${encodeURIComponent(root)}`);
      const bobSummary = (forBob.unsigned?.["m.relations"] as Record<string, Record<string, unknown>>)["m.thread"]!;
      expect(bobSummary.current_user_participated).toBe(true);
      // The same bundle on /messages pages; events with no children carry none.
      const page = await ok<{ chunk: Ev[] }>(server.url, alice, "GET", `${room(roomId)}/messages?dir=b&limit=50`);
      const inPage = page.chunk.find((e) => e.event_id === root);
      expect((inPage?.unsigned?.["m.relations"] as Record<string, unknown>)["m.thread"]).toMatchObject({ count: 3 });
      expect(page.chunk.find((e) => e.event_id === replies[1])?.unsigned?.["m.relations"]).toBeUndefined();
      // A redacted reply no longer counts.
      await ok(server.url, alice, "PUT", `${room(roomId)}/redact/${encodeURIComponent(replies[1]!)}/x1`, {});
      const after = await ok<Ev>(server.url, alice, "GET", `${room(roomId)}/event/${encodeURIComponent(root)}`);
      expect((after.unsigned?.["m.relations"] as Record<string, Record<string, unknown>>)["m.thread"]?.count).toBe(2);
    });

    it("lists threads by latest activity, all or participated", async () => {
      const r = encodeURIComponent(roomId);
      const all = await v1ok(alice, `/rooms/${r}/threads`);
      expect(all.chunk.map((e) => e.event_id)).toEqual([root, other]);
      expect(all.next_batch).toBeUndefined();
      const first = await v1ok(alice, `/rooms/${r}/threads?limit=1`);
      expect(first.chunk.map((e) => e.event_id)).toEqual([root]);
      const second = await v1ok(alice, `/rooms/${r}/threads?limit=1&from=${first.next_batch}`);
      expect(second.chunk.map((e) => e.event_id)).toEqual([other]);
      expect(second.next_batch).toBeUndefined();
      const mine = await v1ok(bob, `/rooms/${r}/threads?include=participated`);
      expect(mine.chunk.map((e) => e.event_id)).toEqual([root]);
      const carols = await v1ok(carol, `/rooms/${r}/threads?include=participated`);
      expect(carols.chunk.map((e) => e.event_id)).toEqual([other]);
    });

    it("hides relations and threads from those who may not see them, and refuses bad input", async () => {
      const r = encodeURIComponent(roomId);
      const forbidden = await v1(stranger, `/rooms/${r}/relations/${encodeURIComponent(root)}`);
      expect(forbidden.status).toBe(403);
      expect((await v1(stranger, `/rooms/${r}/threads`)).status).toBe(403);
      const bad = async (path: string, status: number, errcode: string) => {
        const res = await v1(alice, path);
        expect(res.status, `${path}: ${res.text}`).toBe(status);
        expect((res.body as unknown as Record<string, unknown>).errcode, path).toBe(errcode);
      };
      await bad(`/rooms/${r}/relations/${encodeURIComponent("$nope")}`, 404, "M_NOT_FOUND");
      await bad(`/rooms/${r}/relations/${encodeURIComponent(root)}?dir=up`, 400, "M_INVALID_PARAM");
      await bad(`/rooms/${r}/relations/${encodeURIComponent(root)}?from=zz`, 400, "M_INVALID_PARAM");
      await bad(`/rooms/${r}/relations/${encodeURIComponent(root)}?recurse=yes`, 400, "M_INVALID_PARAM");
      await bad(`/rooms/${r}/threads?include=some`, 400, "M_INVALID_PARAM");
      await bad(`/rooms/${r}/threads?limit=0`, 400, "M_INVALID_PARAM");
      // The parent of another room, asked for through this one, is unknown here.
      const elsewhere = await createRoom(server.url, alice, {});
      const foreign = await send(server.url, alice, elsewhere, text("elsewhere"));
      await bad(`/rooms/${r}/relations/${encodeURIComponent(foreign)}`, 404, "M_NOT_FOUND");
      const left = await api(server.url, alice, "GET", `${room(elsewhere)}/messages?dir=b&limit=1`);
      expect(left.status).toBe(200);
    });
  });
});
