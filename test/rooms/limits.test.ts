/**
 * The rooms' limits over real HTTP on SQLite and PostgreSQL: `rc_message` (a retried transaction is answered, not
 * limited), `rc_joins.local`, and the 65,536-byte event size, each refusal leaving no event behind.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, forEachDatabase } from "../helpers/databases.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { api, createRoom, ok, registerUser, room, sync, text, type ClientUser } from "./support.js";

forEachDatabase((kind) => {
  describe("room limits", () => {
    let server: TestServer;
    let alice: ClientUser;
    let bob: ClientUser;
    beforeAll(async () => {
      server = await startTestServer(await createTestDatabase(kind), {
        enable_registration: true,
        enable_registration_without_verification: true,
        rc_registration: { per_second: 1000, burst_count: 1000 },
        rc_message: { per_second: 0.001, burst_count: 3 },
        rc_joins: { local: { per_second: 0.001, burst_count: 2 } },
      });
      alice = await registerUser(server.url, "alice");
      bob = await registerUser(server.url, "bob");
    });
    afterAll(async () => server.close());

    it("limits messages per sender, and answers a retried transaction", async () => {
      const roomId = await createRoom(server.url, alice);
      const path = (t: string) => `${room(roomId)}/send/m.room.message/${t}`;
      const first = await ok<{ event_id: string }>(server.url, alice, "PUT", path("a"), text("1"));
      await ok(server.url, alice, "PUT", path("b"), text("2"));
      await ok(server.url, alice, "PUT", path("c"), text("3"));
      const limited = await api(server.url, alice, "PUT", path("d"), text("4"));
      expect([limited.status, limited.body.errcode]).toEqual([429, "M_LIMIT_EXCEEDED"]);
      expect(limited.body.retry_after_ms).toBeGreaterThan(0);
      // The retry of a send that went through is not a new message.
      expect(await ok(server.url, alice, "PUT", path("a"), text("1"))).toEqual(first);
      const s = await sync(server.url, alice);
      const bodies = s.rooms.join[roomId]!.timeline.events.filter((e) => e.type === "m.room.message");
      expect(bodies.map((e) => e.content.body)).toEqual(["1", "2", "3"]);
    });

    it("limits joins", async () => {
      const rooms = [];
      for (let i = 0; i < 3; i++) rooms.push(await createRoom(server.url, alice, { preset: "public_chat" }));
      await ok(server.url, bob, "POST", `${room(rooms[0]!)}/join`, {});
      await ok(server.url, bob, "POST", `${room(rooms[1]!)}/join`, {});
      // A join that changes nothing is not counted.
      await ok(server.url, bob, "POST", `${room(rooms[1]!)}/join`, {});
      const limited = await api(server.url, bob, "POST", `${room(rooms[2]!)}/join`, {});
      expect([limited.status, limited.body.errcode]).toEqual([429, "M_LIMIT_EXCEEDED"]);
    });

    it("refuses an event over 65,536 bytes with 413 M_TOO_LARGE", async () => {
      const roomId = await createRoom(server.url, bob);
      const big = await api(server.url, bob, "PUT", `${room(roomId)}/state/org.example.big/`, {
        data: "x".repeat(70_000),
      });
      expect([big.status, big.body.errcode]).toEqual([413, "M_TOO_LARGE"]);
      const state = await ok<unknown[]>(server.url, bob, "GET", `${room(roomId)}/state`);
      expect(JSON.stringify(state)).not.toContain("org.example.big");
    });
  });
});
