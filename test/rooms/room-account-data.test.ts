/**
 * Per-room account data and tags over real HTTP on SQLite and PostgreSQL: stored, read back, delivered in the
 * room's `account_data` in `/sync` (all on an initial sync, only what changed on an incremental one), and every
 * refusal.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { forEachDatabase } from "../helpers/databases.js";
import type { TestServer } from "../helpers/server.js";
import { api, createRoom, ok, registerUser, startOpenServer, sync, type ClientUser } from "./support.js";

forEachDatabase((kind) => {
  describe("room account data and tags", () => {
    let server: TestServer;
    let alice: ClientUser;
    let bob: ClientUser;
    let roomId: string;
    const path = (u: ClientUser, rest: string) =>
      `/user/${encodeURIComponent(u.userId)}/rooms/${encodeURIComponent(roomId)}${rest}`;
    beforeAll(async () => {
      server = await startOpenServer(kind);
      alice = await registerUser(server.url, "alice");
      bob = await registerUser(server.url, "bob");
      roomId = await createRoom(server.url, alice, { name: "Tagged" });
    });
    afterAll(async () => server.close());

    it("stores, returns and syncs room account data", async () => {
      const first = await sync(server.url, alice);
      await ok(server.url, alice, "PUT", path(alice, "/account_data/org.example.note"), { text: "hi" });
      expect(await ok(server.url, alice, "GET", path(alice, "/account_data/org.example.note"))).toEqual({
        text: "hi",
      });
      const delta = await sync(server.url, alice, `since=${first.next_batch}`);
      const room = delta.rooms.join[roomId] as unknown as {
        account_data: { events: unknown[] };
        timeline: { events: unknown[] };
      };
      expect(room.account_data.events).toEqual([{ type: "org.example.note", content: { text: "hi" } }]);
      expect(room.timeline.events).toEqual([]);
      const again = await sync(server.url, alice, `since=${delta.next_batch}`);
      expect(again.rooms.join).toEqual({});
      const initial = await sync(server.url, alice);
      expect(
        (initial.rooms.join[roomId] as unknown as { account_data: { events: unknown[] } }).account_data.events,
      ).toEqual([{ type: "org.example.note", content: { text: "hi" } }]);
    });

    it("adds and removes tags", async () => {
      expect(await ok(server.url, alice, "GET", path(alice, "/tags"))).toEqual({ tags: {} });
      await ok(server.url, alice, "PUT", path(alice, "/tags/m.favourite"), { order: 0.5 });
      await ok(server.url, alice, "PUT", path(alice, "/tags/u.work"), {});
      expect(await ok(server.url, alice, "GET", path(alice, "/tags"))).toEqual({
        tags: { "m.favourite": { order: 0.5 }, "u.work": {} },
      });
      await ok(server.url, alice, "DELETE", path(alice, "/tags/u.work"));
      await ok(server.url, alice, "DELETE", path(alice, "/tags/u.none"));
      expect(await ok(server.url, alice, "GET", path(alice, "/tags"))).toEqual({
        tags: { "m.favourite": { order: 0.5 } },
      });
      const s = await sync(server.url, alice);
      const events = (s.rooms.join[roomId] as unknown as { account_data: { events: { type: string }[] } }).account_data
        .events;
      expect(events.find((e) => e.type === "m.tag")).toEqual({
        type: "m.tag",
        content: { tags: { "m.favourite": { order: 0.5 } } },
      });
    });

    it("refuses what Synapse refuses", async () => {
      const other = await api(server.url, bob, "GET", path(alice, "/account_data/org.example.note"));
      expect([other.status, other.body.errcode]).toEqual([403, "M_FORBIDDEN"]);
      const missing = await api(server.url, alice, "GET", path(alice, "/account_data/org.example.none"));
      expect([missing.status, missing.body.errcode]).toEqual([404, "M_NOT_FOUND"]);
      const fullyRead = await api(server.url, alice, "PUT", path(alice, "/account_data/m.fully_read"), {
        event_id: "$x",
      });
      expect([fullyRead.status, fullyRead.body.errcode]).toEqual([405, "M_BAD_JSON"]);
      const badRoom = await api(server.url, alice, "GET", `/user/${encodeURIComponent(alice.userId)}/rooms/nope/tags`);
      expect([badRoom.status, badRoom.body.errcode]).toEqual([400, "M_INVALID_PARAM"]);
      const badOrder = await api(server.url, alice, "PUT", path(alice, "/tags/x"), { order: "first" });
      expect([badOrder.status, badOrder.body.errcode]).toEqual([400, "M_BAD_JSON"]);
    });
  });
});
