import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { forEachDatabase } from "../helpers/databases.js";
import type { TestServer } from "../helpers/server.js";
import { createRoom, ok, registerUser, room, send, startOpenServer, sync, text, type ClientUser } from "./support.js";

forEachDatabase((kind) => {
  describe("a room's life", () => {
    let server: TestServer;
    let alice: ClientUser;
    let bob: ClientUser;
    beforeAll(async () => {
      server = await startOpenServer(kind);
      alice = await registerUser(server.url, "alice");
      bob = await registerUser(server.url, "bob");
    });
    afterAll(async () => server.close());

    it("create, invite, join, send, sync", async () => {
      const roomId = await createRoom(server.url, alice, { name: "Test", preset: "private_chat" });
      await ok(server.url, alice, "POST", `${room(roomId)}/invite`, { user_id: bob.userId });
      const s1 = await sync(server.url, bob);
      expect(Object.keys(s1.rooms.invite)).toEqual([roomId]);
      await ok(server.url, bob, "POST", `/join/${encodeURIComponent(roomId)}`, {});
      const id = await send(server.url, bob, roomId, text("hello"));
      const s2 = await sync(server.url, alice);
      const joined = s2.rooms.join[roomId]!;
      expect(joined.timeline.events.map((e) => e.type)).toContain("m.room.message");
      expect(joined.timeline.events.at(-1)?.event_id).toBe(id);
      const s3 = await sync(server.url, alice, `since=${s2.next_batch}&timeout=0`);
      expect(s3.rooms.join).toEqual({});
      const id2 = await send(server.url, alice, roomId, text("hi bob"));
      const s4 = await sync(server.url, bob, `since=${s1.next_batch}`);
      expect(s4.rooms.join[roomId]?.timeline.events.at(-1)?.event_id).toBe(id2);
      expect(s4.rooms.join[roomId]?.timeline.events.at(-1)?.unsigned?.transaction_id).toBeUndefined();
      const s5 = await sync(server.url, alice, `since=${s2.next_batch}`);
      expect(s5.rooms.join[roomId]?.timeline.events.at(-1)?.unsigned?.transaction_id).toMatch(/^t/);
    });
  });
});
