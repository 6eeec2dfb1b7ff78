/**
 * Room upgrades over real HTTP on SQLite and PostgreSQL: the tombstone, the new room's predecessor and copied state,
 * the old room closed to ordinary members, aliases moved, and the refusals (no power, unknown version), which create
 * nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { forEachDatabase } from "../helpers/databases.js";
import type { TestServer } from "../helpers/server.js";
import { api, createRoom, ok, registerUser, room, startOpenServer, text, type ClientUser } from "./support.js";

forEachDatabase((kind) => {
  describe("room upgrades", () => {
    let server: TestServer;
    let alice: ClientUser;
    let bob: ClientUser;
    beforeAll(async () => {
      server = await startOpenServer(kind);
      alice = await registerUser(server.url, "alice");
      bob = await registerUser(server.url, "bob");
    });
    afterAll(async () => server.close());

    it("replaces a room with a new one that carries its state", async () => {
      const old = await createRoom(server.url, alice, {
        preset: "public_chat",
        name: "Old",
        topic: "t",
        room_version: "10",
        room_alias_name: "upgraded",
      });
      await ok(server.url, bob, "POST", `${room(old)}/join`, {});
      const refused = await api(server.url, bob, "POST", `${room(old)}/upgrade`, { new_version: "11" });
      expect([refused.status, refused.body.errcode]).toEqual([403, "M_FORBIDDEN"]);
      const badVersion = await api(server.url, alice, "POST", `${room(old)}/upgrade`, { new_version: "3" });
      expect([badVersion.status, badVersion.body.errcode]).toEqual([400, "M_UNSUPPORTED_ROOM_VERSION"]);
      const tombless = await api(server.url, alice, "GET", `${room(old)}/state/m.room.tombstone/`);
      expect(tombless.status).toBe(404);

      const { replacement_room: next } = await ok<{ replacement_room: string }>(
        server.url,
        alice,
        "POST",
        `${room(old)}/upgrade`,
        { new_version: "11" },
      );
      expect(await ok(server.url, alice, "GET", `${room(old)}/state/m.room.tombstone/`)).toEqual({
        body: "This room has been replaced",
        replacement_room: next,
      });
      const create = await ok(server.url, alice, "GET", `${room(next)}/state/m.room.create/`);
      expect(create.room_version).toBe("11");
      expect((create.predecessor as { room_id: string }).room_id).toBe(old);
      expect(await ok(server.url, alice, "GET", `${room(next)}/state/m.room.name/`)).toEqual({ name: "Old" });
      expect(await ok(server.url, alice, "GET", `${room(next)}/state/m.room.join_rules/`)).toEqual({
        join_rule: "public",
      });
      // Bob can still talk in neither until he joins the new room; in the old one he may no longer send.
      const silenced = await api(server.url, bob, "PUT", `${room(old)}/send/m.room.message/x1`, text("still here?"));
      expect(silenced.status).toBe(403);
      await ok(server.url, bob, "POST", `/join/${encodeURIComponent("#upgraded:localhost")}`, {});
      const joined = await ok<{ joined_rooms: string[] }>(server.url, bob, "GET", "/joined_rooms");
      expect(joined.joined_rooms).toContain(next);
    });
  });
});
