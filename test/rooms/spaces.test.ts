/**
 * Spaces (src/rooms/hierarchy.ts): the hierarchy a member of a space sees (the rooms they may see, depth first in
 * the children's order, down to `max_depth`, suggested ones only when asked, paged), and a room's summary, with and
 * without a token. Every response is checked against the spec's OpenAPI.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, type HttpResult } from "../helpers/http.js";
import { expectSpecResponse } from "../helpers/openapi.js";
import { forEachDatabase } from "../helpers/databases.js";
import type { TestServer } from "../helpers/server.js";
import { createRoom, ok, registerUser, room, startOpenServer, type ClientUser } from "./support.js";

interface Chunk {
  room_id: string;
  room_type?: string;
  room_version?: string;
  join_rule?: string;
  children_state: { state_key: string; origin_server_ts: number; content: Record<string, unknown> }[];
}

forEachDatabase((kind) => {
  describe("spaces", () => {
    let server: TestServer;
    let alice: ClientUser;
    let bob: ClientUser;
    let carol: ClientUser;
    let space: string;
    let general: string;
    let secret: string;
    let members: string;
    let sub: string;
    let deep: string;
    let announcements: string;

    const v1 = async <T = Record<string, unknown>>(user: ClientUser | null, path: string): Promise<HttpResult<T>> => {
      const url = `/_matrix/client/v1${path}`;
      const r = await call<T>(server.url, "GET", url, { token: user?.token });
      await expectSpecResponse("GET", url, r.status, r.body);
      return r;
    };
    const hierarchy = async (user: ClientUser, roomId: string, query = "") => {
      const r = await v1<{ rooms: Chunk[]; next_batch?: string }>(
        user,
        `/rooms/${encodeURIComponent(roomId)}/hierarchy${query ? `?${query}` : ""}`,
      );
      expect(r.status, r.text).toBe(200);
      return r.body;
    };
    const addChild = (parent: string, child: string, content: Record<string, unknown> = {}) =>
      ok(server.url, alice, "PUT", `${room(parent)}/state/m.space.child/${encodeURIComponent(child)}`, {
        via: ["localhost"],
        ...content,
      });

    beforeAll(async () => {
      server = await startOpenServer(kind);
      alice = await registerUser(server.url, "alice");
      bob = await registerUser(server.url, "bob");
      carol = await registerUser(server.url, "carol");
      const spaceOf = (name: string, preset = "public_chat") =>
        createRoom(server.url, alice, { preset, name, creation_content: { type: "m.space" } });
      space = await spaceOf("Company");
      general = await createRoom(server.url, alice, { preset: "public_chat", name: "General" });
      secret = await createRoom(server.url, alice, { preset: "private_chat", name: "Secret" });
      members = await createRoom(server.url, alice, {
        preset: "private_chat",
        name: "Members only",
        initial_state: [
          {
            type: "m.room.join_rules",
            state_key: "",
            content: { join_rule: "restricted", allow: [{ type: "m.room_membership", room_id: space }] },
          },
        ],
      });
      sub = await spaceOf("Team");
      deep = await createRoom(server.url, alice, { preset: "public_chat", name: "Deep" });
      announcements = await createRoom(server.url, alice, { preset: "public_chat", name: "Announcements" });
      await addChild(space, general);
      await addChild(space, secret);
      await addChild(space, members);
      await addChild(space, sub);
      // Ordered first, and suggested.
      await addChild(space, announcements, { order: "a", suggested: true });
      // Not a child: no `via`.
      await ok(server.url, alice, "PUT", `${room(space)}/state/m.space.child/${encodeURIComponent(deep)}`, {});
      await addChild(sub, deep);
      await ok(server.url, bob, "POST", `${room(space)}/join`, {});
    });
    afterAll(() => server.close());

    it("walks depth first in the children's order, with only the rooms the requester may see", async () => {
      const r = await hierarchy(bob, space);
      expect(r.rooms.map((c) => c.room_id)).toEqual([space, announcements, general, members, sub, deep]);
      expect(r.next_batch).toBeUndefined();
      const top = r.rooms[0] as Chunk;
      expect(top.room_type).toBe("m.space");
      expect(top.room_version).toEqual(expect.any(String));
      // Every valid child is listed, seen or not; the one without `via` is not.
      expect(top.children_state.map((c) => c.state_key).sort()).toEqual(
        [general, secret, members, sub, announcements].sort(),
      );
      // Not a space: no children of its own.
      expect(r.rooms.find((c) => c.room_id === general)?.children_state).toEqual([]);
      // Alice, in every room, sees the secret one too.
      expect((await hierarchy(alice, space)).rooms.map((c) => c.room_id)).toContain(secret);
      // Carol, in no room, sees only what anyone may: not the restricted one.
      expect((await hierarchy(carol, space)).rooms.map((c) => c.room_id)).toEqual([
        space,
        announcements,
        general,
        sub,
        deep,
      ]);
    });

    it("stops at max_depth and keeps to suggested children when asked", async () => {
      expect((await hierarchy(bob, space, "max_depth=0")).rooms.map((c) => c.room_id)).toEqual([space]);
      expect((await hierarchy(bob, space, "max_depth=1")).rooms.map((c) => c.room_id)).not.toContain(deep);
      expect((await hierarchy(bob, space, "suggested_only=true")).rooms.map((c) => c.room_id)).toEqual([
        space,
        announcements,
      ]);
    });

    it("pages with next_batch, each room once, and refuses a token of another walk", async () => {
      const seen: string[] = [];
      let from: string | undefined;
      for (let page = 0; page < 10; page++) {
        const r = await hierarchy(bob, space, `limit=2${from ? `&from=${encodeURIComponent(from)}` : ""}`);
        expect(r.rooms.length).toBeLessThanOrEqual(2);
        seen.push(...r.rooms.map((c) => c.room_id));
        from = r.next_batch;
        if (!from) break;
      }
      expect(seen).toEqual([space, announcements, general, members, sub, deep]);
      const first = await hierarchy(bob, space, "limit=2");
      const token = encodeURIComponent(first.next_batch as string);
      for (const query of [`limit=2&max_depth=1&from=${token}`, `suggested_only=true&from=${token}`, "from=nonsense"]) {
        const r = await v1(bob, `/rooms/${encodeURIComponent(space)}/hierarchy?${query}`);
        expect(r.status).toBe(400);
        expect(r.body.errcode).toBe("M_INVALID_PARAM");
      }
    });

    it("refuses bad parameters and a root the requester may not see", async () => {
      for (const query of ["limit=0", "limit=x", "max_depth=-1", "suggested_only=yes"]) {
        const r = await v1(bob, `/rooms/${encodeURIComponent(space)}/hierarchy?${query}`);
        expect(r.status, query).toBe(400);
        expect(r.body.errcode).toBe("M_INVALID_PARAM");
      }
      const hidden = await v1(bob, `/rooms/${encodeURIComponent(secret)}/hierarchy`);
      expect(hidden.status).toBe(403);
      expect(hidden.body.errcode).toBe("M_FORBIDDEN");
      const unknown = await v1(bob, `/rooms/${encodeURIComponent("!nowhere:localhost")}/hierarchy`);
      expect(unknown.status).toBe(403);
    });

    it("summarises a room by ID or alias, with the requester's membership, and public rooms without a token", async () => {
      const r = await v1(bob, `/room_summary/${encodeURIComponent(space)}`);
      expect(r.status, r.text).toBe(200);
      expect(r.body).toMatchObject({ room_id: space, room_type: "m.space", name: "Company", membership: "join" });
      expect(r.body.children_state).toBeUndefined();
      const mine = await v1(bob, `/room_summary/${encodeURIComponent(general)}`);
      expect(mine.body.membership).toBe("leave");
      const anonymous = await v1(null, `/room_summary/${encodeURIComponent(general)}`);
      expect(anonymous.status).toBe(200);
      expect(anonymous.body.membership).toBeUndefined();
      expect((await v1(null, `/room_summary/${encodeURIComponent(secret)}`)).status).toBe(404);
      expect((await v1(carol, `/room_summary/${encodeURIComponent(secret)}`)).status).toBe(404);
      await ok(server.url, alice, "PUT", `/directory/room/${encodeURIComponent("#company:localhost")}`, {
        room_id: space,
      });
      const byAlias = await v1(carol, `/room_summary/${encodeURIComponent("#company:localhost")}`);
      expect(byAlias.status).toBe(200);
      expect(byAlias.body.room_id).toBe(space);
    });
  });
});
