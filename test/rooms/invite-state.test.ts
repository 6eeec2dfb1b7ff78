/**
 * The stripped state an invite carries in /sync: what a client needs to show the invite before joining.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { forEachDatabase } from "../helpers/databases.js";
import type { TestServer } from "../helpers/server.js";
import { createRoom, registerUser, startOpenServer, sync, type ClientUser } from "./support.js";

forEachDatabase((kind) => {
  describe("invite_state", () => {
    let server: TestServer;
    let alice: ClientUser;
    let bob: ClientUser;
    beforeAll(async () => {
      server = await startOpenServer(kind);
      alice = await registerUser(server.url, "alice");
      bob = await registerUser(server.url, "bob");
    });
    afterAll(async () => server.close());

    it("holds the inviter's member event, so a client can name an unnamed DM after the inviter", async () => {
      const roomId = await createRoom(server.url, alice, {
        preset: "trusted_private_chat",
        is_direct: true,
        invite: [bob.userId],
      });
      const s = await sync(server.url, bob);
      const events = s.rooms.invite[roomId]!.invite_state.events;
      const members = events.filter((e) => e.type === "m.room.member");
      expect(members.map((e) => [e.state_key, e.sender, e.content.membership]).sort()).toEqual([
        [alice.userId, alice.userId, "join"],
        [bob.userId, alice.userId, "invite"],
      ]);
      expect(members.find((e) => e.state_key === bob.userId)?.content.is_direct).toBe(true);
      expect(events.map((e) => e.type)).toContain("m.room.create");
    });
  });
});
