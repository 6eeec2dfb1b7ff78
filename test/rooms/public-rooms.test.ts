import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { forEachDatabase } from "../helpers/databases.js";
import { call } from "../helpers/http.js";
import type { TestServer } from "../helpers/server.js";
import { promote, startDirectoryServer } from "./directory-support.js";
import { api, createRoom, ok, registerUser, room, type ClientUser } from "./support.js";

interface Chunk {
  room_id: string;
  num_joined_members: number;
  [k: string]: unknown;
}

interface Page {
  chunk: Chunk[];
  next_batch?: string;
  prev_batch?: string;
  total_room_count_estimate: number;
}

const list = (roomId: string) => `/directory/list/room/${encodeURIComponent(roomId)}`;

forEachDatabase((kind) => {
  describe("the public room directory, with publication rules", () => {
    let server: TestServer;
    let alice: ClientUser;
    let bob: ClientUser;
    let carol: ClientUser;
    let mallory: ClientUser;
    let admin: ClientUser;
    let big: string;
    let medium: string;
    let space: string;
    let invite: string;
    let secret: string;
    let mallorys: string;
    beforeAll(async () => {
      server = await startDirectoryServer(kind, {
        allow_public_rooms_without_auth: true,
        room_list_publication_rules: [
          { user_id: "@mallory:*", action: "deny" },
          { alias: "#private-*", action: "deny" },
          { action: "allow" },
        ],
      });
      alice = await registerUser(server.url, "alice");
      bob = await registerUser(server.url, "bob");
      carol = await registerUser(server.url, "carol");
      mallory = await registerUser(server.url, "mallory");
      admin = await registerUser(server.url, "admin");
      await promote(server, admin.userId);
      const pub = { preset: "public_chat", visibility: "public" };
      big = await createRoom(server.url, alice, { ...pub, name: "Big room", topic: "All about cats" });
      medium = await createRoom(server.url, alice, { ...pub, name: "Medium", room_alias_name: "medium" });
      space = await createRoom(server.url, alice, { ...pub, name: "Space", creation_content: { type: "m.space" } });
      invite = await createRoom(server.url, alice, { preset: "private_chat", visibility: "public" });
      secret = await createRoom(server.url, alice, { ...pub, room_alias_name: "private-club" });
      mallorys = await createRoom(server.url, mallory, pub);
      for (const u of [bob, carol]) await ok(server.url, u, "POST", `/join/${encodeURIComponent(big)}`, {});
      await ok(server.url, bob, "POST", `/join/${encodeURIComponent(medium)}`, {});
    });
    afterAll(async () => server.close());

    it("lists listable published rooms, largest first, with their summary", async () => {
      const page = await ok<Page>(server.url, alice, "GET", "/publicRooms");
      expect(page.chunk.map((c) => c.room_id)).toEqual([big, medium, space]);
      expect(page.total_room_count_estimate).toBe(3);
      expect(page.next_batch).toBeUndefined();
      expect(page.prev_batch).toBeUndefined();
      expect(page.chunk[0]).toEqual({
        room_id: big,
        name: "Big room",
        topic: "All about cats",
        num_joined_members: 3,
        world_readable: false,
        guest_can_join: false,
        join_rule: "public",
      });
      expect(page.chunk[1]).toMatchObject({ canonical_alias: "#medium:localhost", num_joined_members: 2 });
      expect(page.chunk[2]).toMatchObject({ room_type: "m.space", num_joined_members: 1 });
    });

    it("keeps the invite-only room out although published, and rooms the rules refused unpublished", async () => {
      expect(await ok(server.url, null, "GET", list(invite))).toEqual({ visibility: "public" });
      expect(await ok(server.url, null, "GET", list(secret))).toEqual({ visibility: "private" });
      expect(await ok(server.url, null, "GET", list(mallorys))).toEqual({ visibility: "private" });
      const unknown = await api(server.url, null, "GET", list("!nope:localhost"));
      expect([unknown.status, unknown.body.errcode]).toEqual([404, "M_NOT_FOUND"]);
      // A world_readable history makes the invite-only room listable.
      await ok(server.url, alice, "PUT", `${room(invite)}/state/m.room.history_visibility/`, {
        history_visibility: "world_readable",
      });
      const page = await ok<Page>(server.url, alice, "GET", "/publicRooms");
      expect(page.chunk.find((c) => c.room_id === invite)).toMatchObject({ world_readable: true, join_rule: "invite" });
      await ok(server.url, alice, "PUT", list(invite), { visibility: "private" });
    });

    it("pages forwards and back with stable tokens", async () => {
      const p1 = await ok<Page>(server.url, alice, "GET", "/publicRooms?limit=1");
      expect(p1.chunk.map((c) => c.room_id)).toEqual([big]);
      expect(p1.prev_batch).toBeUndefined();
      const p2 = await ok<Page>(server.url, alice, "GET", `/publicRooms?limit=1&since=${p1.next_batch!}`);
      expect(p2.chunk.map((c) => c.room_id)).toEqual([medium]);
      const p3 = await ok<Page>(server.url, alice, "GET", `/publicRooms?limit=1&since=${p2.next_batch!}`);
      expect(p3.chunk.map((c) => c.room_id)).toEqual([space]);
      expect(p3.next_batch).toBeUndefined();
      const back = await ok<Page>(server.url, alice, "GET", `/publicRooms?limit=1&since=${p3.prev_batch!}`);
      expect(back.chunk.map((c) => c.room_id)).toEqual([medium]);
      const first = await ok<Page>(server.url, alice, "GET", `/publicRooms?limit=1&since=${back.prev_batch!}`);
      expect(first.chunk.map((c) => c.room_id)).toEqual([big]);
      expect(first.prev_batch).toBeUndefined();
      expect(first.next_batch).toBeDefined();
      // The same token gives the same page, and a room listed meanwhile does not shift it.
      await createRoom(server.url, carol, { preset: "public_chat", visibility: "public", name: "Newcomer" });
      const again = await ok<Page>(server.url, alice, "GET", `/publicRooms?limit=1&since=${p1.next_batch!}`);
      expect(again.chunk.map((c) => c.room_id)).toEqual([medium]);
      expect(again.total_room_count_estimate).toBe(4);
    });

    it("filters by search term and room type, with POST", async () => {
      const post = (body: unknown) => ok<Page>(server.url, alice, "POST", "/publicRooms", body);
      expect((await post({ filter: { generic_search_term: "CATS" } })).chunk.map((c) => c.room_id)).toEqual([big]);
      const byAlias = await post({ filter: { generic_search_term: "#medium" } });
      expect([byAlias.chunk.map((c) => c.room_id), byAlias.total_room_count_estimate]).toEqual([[medium], 1]);
      expect((await post({ filter: { room_types: ["m.space"] } })).chunk.map((c) => c.room_id)).toEqual([space]);
      const plain = await post({ filter: { room_types: [null] }, limit: 2 });
      expect(plain.chunk.map((c) => c.room_id)).toEqual([big, medium]);
      const rest = await post({ filter: { room_types: [null] }, limit: 2, since: plain.next_batch });
      expect(rest.chunk.map((c) => c.name)).toEqual(["Newcomer"]);
      expect((await post({ third_party_instance_id: "bridge|network" })).chunk).toEqual([]);
      expect((await post({ include_all_networks: true })).chunk.length).toBe(4);
    });

    it("refuses bad parameters", async () => {
      const get = (q: string, user: ClientUser | null = alice) => api(server.url, user, "GET", `/publicRooms${q}`);
      const post = (body: unknown, q = "") => api(server.url, alice, "POST", `/publicRooms${q}`, body);
      expect((await get("?since=garbage")).body).toMatchObject({ errcode: "M_INVALID_PARAM" });
      expect((await get("?limit=-1")).body).toMatchObject({ errcode: "M_INVALID_PARAM" });
      expect((await get("?limit=ten")).body).toMatchObject({ errcode: "M_INVALID_PARAM" });
      expect((await get("?server=bad_server!")).body).toMatchObject({ errcode: "M_INVALID_PARAM" });
      const remote = await get("?server=elsewhere.example");
      expect([remote.status, remote.body.errcode]).toEqual([502, "M_UNKNOWN"]);
      expect((await get("?server=localhost")).status).toBe(200);
      expect((await post({ limit: "ten" })).body).toMatchObject({ errcode: "M_BAD_JSON" });
      expect((await post({ filter: [] })).body).toMatchObject({ errcode: "M_BAD_JSON" });
      expect((await post({ filter: { generic_search_term: 3 } })).body).toMatchObject({ errcode: "M_BAD_JSON" });
      expect((await post({ filter: { room_types: "m.space" } })).body).toMatchObject({ errcode: "M_BAD_JSON" });
      expect((await post({ since: "garbage" })).body).toMatchObject({ errcode: "M_INVALID_PARAM" });
      const both = await post({ include_all_networks: true, third_party_instance_id: "a|b" });
      expect([both.status, both.body.errcode]).toEqual([400, "M_UNKNOWN"]);
      expect((await post({ third_party_instance_id: "nobar" })).status).toBe(400);
      const notJson = await call(server.url, "POST", "/_matrix/client/v3/publicRooms", { token: alice.token });
      expect(notJson.body).toMatchObject({ errcode: "M_NOT_JSON" });
    });

    it("answers without a token when allowed, but not for another server", async () => {
      expect((await ok<Page>(server.url, null, "GET", "/publicRooms")).chunk.length).toBe(4);
      const bad = await call(server.url, "GET", "/_matrix/client/v3/publicRooms", { token: "not-a-token" });
      expect(bad.status).toBe(200);
      expect((await api(server.url, null, "POST", "/publicRooms", {})).status).toBe(200);
      const remote = await api(server.url, null, "GET", "/publicRooms?server=elsewhere.example");
      expect([remote.status, remote.body.errcode]).toEqual([401, "M_MISSING_TOKEN"]);
    });

    it("lets moderators and admins change a room's listing, within the rules", async () => {
      const put = (user: ClientUser | null, roomId: string, body: unknown) =>
        api(server.url, user, "PUT", list(roomId), body);
      const low = await put(bob, big, { visibility: "private" });
      expect([low.status, low.body.errcode]).toEqual([403, "M_FORBIDDEN"]);
      const stranger = await put(mallory, big, { visibility: "private" });
      expect([stranger.status, stranger.body.error]).toEqual([403, `User ${mallory.userId} not in room ${big}`]);
      const guestReg = await call(server.url, "POST", "/_matrix/client/v3/register?kind=guest", { json: {} });
      const guest = { userId: String(guestReg.body.user_id), token: String(guestReg.body.access_token), deviceId: "" };
      expect((await put(guest, big, { visibility: "private" })).status).toBe(403);
      expect((await put(null, big, {})).status).toBe(401);
      const unknown = await put(alice, "!nope:localhost", {});
      expect([unknown.status, unknown.body.errcode]).toEqual([400, "M_UNKNOWN"]);
      expect((await put(alice, big, { visibility: "hidden" })).body).toMatchObject({ errcode: "M_BAD_JSON" });
      expect((await put(alice, big, { visibility: "private" })).status).toBe(200);
      expect(await ok(server.url, null, "GET", list(big))).toEqual({ visibility: "private" });
      expect((await put(alice, big, {})).status).toBe(200);
      expect(await ok(server.url, null, "GET", list(big))).toEqual({ visibility: "public" });
      // The rules: mallory may not publish her own room; an alias the rules deny keeps the club out.
      const denied = await put(mallory, mallorys, { visibility: "public" });
      expect([denied.status, denied.body.errcode, denied.body.error]).toEqual([
        403,
        "M_UNKNOWN",
        "Not allowed to publish room",
      ]);
      expect((await put(alice, secret, { visibility: "public" })).status).toBe(403);
      // An admin needs no membership; the rules still apply to them, and these allow them.
      expect((await put(admin, mallorys, { visibility: "public" })).status).toBe(200);
      expect(await ok(server.url, null, "GET", list(mallorys))).toEqual({ visibility: "public" });
      // Unpublishing is never refused by the rules.
      expect((await put(mallory, mallorys, { visibility: "private" })).status).toBe(200);
    });

    it("answers /thirdparty/protocols with no protocols", async () => {
      expect(await ok(server.url, alice, "GET", "/thirdparty/protocols")).toEqual({});
      expect((await api(server.url, null, "GET", "/thirdparty/protocols")).status).toBe(401);
    });
  });

  describe("the public room directory with Synapse's defaults", () => {
    let server: TestServer;
    let alice: ClientUser;
    let admin: ClientUser;
    beforeAll(async () => {
      server = await startDirectoryServer(kind);
      alice = await registerUser(server.url, "alice");
      admin = await registerUser(server.url, "admin");
      await promote(server, admin.userId);
    });
    afterAll(async () => server.close());

    it("lets nobody publish, admins included, and wants a token", async () => {
      const roomId = await createRoom(server.url, alice, { preset: "public_chat", visibility: "public" });
      expect(await ok(server.url, null, "GET", list(roomId))).toEqual({ visibility: "private" });
      for (const user of [alice, admin]) {
        const r = await api(server.url, user, "PUT", list(roomId), { visibility: "public" });
        expect([r.status, r.body.errcode, r.body.error]).toEqual([403, "M_UNKNOWN", "Not allowed to publish room"]);
      }
      expect((await ok<Page>(server.url, alice, "GET", "/publicRooms")).chunk).toEqual([]);
      const anon = await api(server.url, null, "GET", "/publicRooms");
      expect([anon.status, anon.body.errcode]).toEqual([401, "M_MISSING_TOKEN"]);
      expect((await api(server.url, null, "POST", "/publicRooms", {})).status).toBe(401);
    });
  });
});
