/**
 * The room admin API's reading half on SQLite and PostgreSQL: the room list (search, every order, paging), one
 * room's details, members and state, and a user's joined rooms, over real HTTP with rooms made by clients.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectMatrixError } from "../api/support.js";
import { forEachDatabase } from "../helpers/databases.js";
import { ADMIN, closeAdminFixture, enc, startAdminFixture, type AdminFixture } from "./support.js";
import { clientCall, encRoom, joinRoom, makeRoom, type Member } from "./rooms-support.js";
import { ROOM_ADMIN_CONFIG } from "./rooms-support.js";

const ROOMS = `${ADMIN}/v1/rooms`;

forEachDatabase((kind) => {
  let fx: AdminFixture;
  let alice: Member;
  let bob: Member;
  let alpha: string;
  let beta: string;
  let space: string;
  beforeAll(async () => {
    fx = await startAdminFixture(kind, ROOM_ADMIN_CONFIG);
    alice = await fx.user("alice");
    bob = await fx.user("bob");
    alpha = await makeRoom(fx.url, alice, {
      preset: "public_chat",
      name: "Alpha Lounge",
      topic: "Greek letters",
      room_alias_name: "alpha",
      visibility: "public",
    });
    await joinRoom(fx.url, bob, alpha);
    beta = await makeRoom(fx.url, bob, {
      name: "beta",
      initial_state: [
        { type: "m.room.encryption", state_key: "", content: { algorithm: "m.megolm.v1.aes-sha2" } },
        { type: "m.room.avatar", state_key: "", content: { url: "mxc://localhost/beta" } },
      ],
      creation_content: { "m.federate": false },
    });
    space = await makeRoom(fx.url, alice, { creation_content: { type: "m.space" } });
  });
  afterAll(() => closeAdminFixture(fx));

  describe("GET /_synapse/admin/v1/rooms", () => {
    it("lists every room in Synapse's fields, by name with unnamed rooms last", async () => {
      const r = await fx.as("GET", ROOMS);
      expect(r.status, r.text).toBe(200);
      expect(r.body).toEqual({
        rooms: [
          {
            room_id: alpha,
            name: "Alpha Lounge",
            canonical_alias: "#alpha:localhost",
            joined_members: 2,
            joined_local_members: 2,
            version: "11",
            creator: "@alice:localhost",
            encryption: null,
            federatable: true,
            public: true,
            join_rules: "public",
            guest_access: null,
            history_visibility: "shared",
            state_events: 9,
            room_type: null,
          },
          expect.objectContaining({
            room_id: beta,
            name: "beta",
            encryption: "m.megolm.v1.aes-sha2",
            federatable: false,
            public: false,
            join_rules: "invite",
            joined_members: 1,
            creator: "@bob:localhost",
          }),
          expect.objectContaining({ room_id: space, name: null, room_type: "m.space", canonical_alias: null }),
        ],
        offset: 0,
        total_rooms: 3,
      });
    });

    it("orders by each of Synapse's columns, both ways, and pages with next_batch and prev_batch", async () => {
      const ids = async (q: string) =>
        ((await fx.as("GET", `${ROOMS}?${q}`)).body.rooms as { room_id: string }[]).map((r) => r.room_id);
      expect(await ids("order_by=name&dir=b")).toEqual([space, beta, alpha]);
      expect((await ids("order_by=joined_members"))[0]).toBe(alpha);
      expect((await ids("order_by=size&dir=b")).at(-1)).toBe(alpha);
      expect(await ids("order_by=encryption")).toEqual([beta, ...[alpha, space].sort()]);
      expect((await ids("order_by=federatable"))[0]).toBe(beta);
      expect((await ids("order_by=public&dir=b"))[0]).toBe(alpha);
      expect((await ids("order_by=canonical_alias"))[0]).toBe(alpha);
      for (const order of [
        "alphabetical",
        "joined_local_members",
        "version",
        "creator",
        "join_rules",
        "guest_access",
        "history_visibility",
        "state_events",
      ]) {
        const r = await fx.as("GET", `${ROOMS}?order_by=${order}`);
        expect(r.status, `${order}: ${r.text}`).toBe(200);
        expect(r.body.total_rooms).toBe(3);
      }
      const first = await fx.as("GET", `${ROOMS}?limit=2`);
      expect(first.body).toMatchObject({ offset: 0, total_rooms: 3, next_batch: 2 });
      expect(first.body).not.toHaveProperty("prev_batch");
      const second = await fx.as("GET", `${ROOMS}?limit=2&from=2`);
      expect(second.body).toMatchObject({ offset: 2, total_rooms: 3, prev_batch: 0 });
      expect(second.body).not.toHaveProperty("next_batch");
      expect((second.body.rooms as { room_id: string }[]).map((r) => r.room_id)).toEqual([space]);
      expect((await fx.as("GET", `${ROOMS}?limit=1&from=2`)).body.prev_batch).toBe(1);
    });

    it("searches the name (any case), the alias's local part and the room ID; filters public and empty rooms", async () => {
      const ids = async (q: string) =>
        ((await fx.as("GET", `${ROOMS}?${q}`)).body.rooms as { room_id: string }[]).map((r) => r.room_id);
      expect(await ids("search_term=LOUNGE")).toEqual([alpha]);
      expect(await ids("search_term=alph")).toEqual([alpha]);
      expect(await ids(`search_term=${encodeURIComponent(space.slice(1, 8))}`)).toEqual([space]);
      expect(await ids("search_term=localhost")).toHaveLength(3);
      expect(await ids("public_rooms=true")).toEqual([alpha]);
      expect(await ids("public_rooms=false")).toEqual([beta, space]);
      expect(await ids("empty_rooms=true")).toEqual([]);
      expect(await ids("empty_rooms=false")).toHaveLength(3);
    });

    it("refuses bad parameters with Synapse's words, and non-admins", async () => {
      const order = await fx.as("GET", `${ROOMS}?order_by=colour`);
      expect(order.status).toBe(400);
      expect(order.body.errcode).toBe("M_INVALID_PARAM");
      expect(order.body.error).toContain("Query parameter 'order_by' must be one of ['alphabetical', 'size', 'name'");
      expectMatrixError(
        await fx.as("GET", `${ROOMS}?search_term=`),
        400,
        "M_INVALID_PARAM",
        "search_term cannot be an empty string",
      );
      expectMatrixError(
        await fx.as("GET", `${ROOMS}?from=-1`),
        400,
        "M_INVALID_PARAM",
        "Query parameter from must be a string representing a positive integer.",
      );
      expect((await fx.as("GET", `${ROOMS}?dir=x`)).status).toBe(400);
      expectMatrixError(
        await fx.as("GET", ROOMS, { token: alice.token }),
        403,
        "M_FORBIDDEN",
        "You are not a server admin",
      );
    });
  });

  describe("one room", () => {
    it("details add topic, avatar, local devices and forgotten", async () => {
      const a = await fx.as("GET", `${ROOMS}/${encRoom(alpha)}`);
      expect(a.status, a.text).toBe(200);
      expect(a.body).toMatchObject({
        room_id: alpha,
        name: "Alpha Lounge",
        topic: "Greek letters",
        avatar: null,
        joined_members: 2,
        joined_local_devices: 2,
        forgotten: false,
      });
      const b = await fx.as("GET", `${ROOMS}/${encRoom(beta)}`);
      expect(b.body).toMatchObject({ avatar: "mxc://localhost/beta", topic: null, joined_local_devices: 1 });
      expectMatrixError(
        await fx.as("GET", `${ROOMS}/${encRoom("!nope:localhost")}`),
        404,
        "M_NOT_FOUND",
        "Room not found",
      );
    });

    it("forgotten turns true once every local member has left and forgotten", async () => {
      const carol = await fx.user("carol");
      const r = await makeRoom(fx.url, carol, { name: "lonely" });
      await clientCall(fx.url, carol, "POST", `/rooms/${encRoom(r)}/leave`, {});
      expect((await fx.as("GET", `${ROOMS}/${encRoom(r)}`)).body).toMatchObject({
        forgotten: false,
        joined_members: 0,
      });
      await clientCall(fx.url, carol, "POST", `/rooms/${encRoom(r)}/forget`, {});
      expect((await fx.as("GET", `${ROOMS}/${encRoom(r)}`)).body.forgotten).toBe(true);
      expect((await fx.as("GET", `${ROOMS}?empty_rooms=true`)).body.rooms).toEqual([
        expect.objectContaining({ room_id: r }),
      ]);
    });

    it("members lists the joined users; state the current state, whole or of one type", async () => {
      expect((await fx.as("GET", `${ROOMS}/${encRoom(alpha)}/members`)).body).toEqual({
        members: ["@alice:localhost", "@bob:localhost"],
        total: 2,
      });
      const state = (await fx.as("GET", `${ROOMS}/${encRoom(beta)}/state`)).body.state as {
        type: string;
        state_key: string;
        room_id: string;
      }[];
      expect(state.map((e) => e.type)).toEqual(
        expect.arrayContaining(["m.room.create", "m.room.member", "m.room.power_levels", "m.room.encryption"]),
      );
      expect(state.every((e) => e.room_id === beta)).toBe(true);
      const only = (await fx.as("GET", `${ROOMS}/${encRoom(alpha)}/state?type=m.room.member`)).body.state as {
        state_key: string;
      }[];
      expect(only.map((e) => e.state_key).sort()).toEqual(["@alice:localhost", "@bob:localhost"]);
      expectMatrixError(
        await fx.as("GET", `${ROOMS}/${encRoom("!nope:localhost")}/members`),
        404,
        "M_NOT_FOUND",
        "Room not found",
      );
      expectMatrixError(
        await fx.as("GET", `${ROOMS}/${encRoom("!nope:localhost")}/state`),
        404,
        "M_NOT_FOUND",
        "Room not found",
      );
    });

    it("a user's joined rooms", async () => {
      const r = await fx.as("GET", `${ADMIN}/v1/users/${enc("@bob:localhost")}/joined_rooms`);
      expect(r.body).toEqual({ joined_rooms: [alpha, beta], total: 2 });
      expect((await fx.as("GET", `${ADMIN}/v1/users/${enc("@nobody:localhost")}/joined_rooms`)).body).toEqual({
        joined_rooms: [],
        total: 0,
      });
    });
  });

  describe("the user page's counts and account data", () => {
    it("sent_invite_count, cumulative_joined_room_count (since from_ts), accountdata", async () => {
      const dan = await fx.user("dan");
      const start = Date.now();
      const r1 = await makeRoom(fx.url, dan, { invite: [alice.userId, bob.userId] });
      const r2 = await makeRoom(fx.url, dan, {});
      await clientCall(fx.url, dan, "POST", `/rooms/${encRoom(r2)}/leave`, {});
      await joinRoom(fx.url, dan, alpha);
      const user = `${ADMIN}/v1/users/${enc(dan.userId)}`;
      expect((await fx.as("GET", `${user}/sent_invite_count?from_ts=0`)).body).toEqual({ invite_count: 2 });
      expect((await fx.as("GET", `${user}/sent_invite_count?from_ts=${Date.now() + 60_000}`)).body).toEqual({
        invite_count: 0,
      });
      expect((await fx.as("GET", `${user}/cumulative_joined_room_count?from_ts=${start}`)).body).toEqual({
        cumulative_joined_room_count: 3,
      });
      expect((await fx.as("GET", `${user}/cumulative_joined_room_count`)).body).toEqual({
        cumulative_joined_room_count: 3,
      });
      expect(r1).toMatch(/^!/);
      await clientCall(fx.url, dan, "PUT", `/user/${enc(dan.userId)}/account_data/org.example.colour`, { hue: 3 });
      expect((await fx.as("GET", `${user}/accountdata`)).body).toEqual({
        account_data: { global: { "org.example.colour": { hue: 3 } }, rooms: {} },
      });
      expectMatrixError(
        await fx.as("GET", `${ADMIN}/v1/users/${enc("@ghost:localhost")}/accountdata`),
        404,
        "M_NOT_FOUND",
        "User not found",
      );
      expectMatrixError(
        await fx.as("GET", `${ADMIN}/v1/users/${enc("@x:elsewhere.org")}/accountdata`),
        400,
        "M_UNKNOWN",
        "Can only look up local users",
      );
    });
  });
});
