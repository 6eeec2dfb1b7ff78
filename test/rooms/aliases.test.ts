import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { forEachDatabase } from "../helpers/databases.js";
import type { TestServer } from "../helpers/server.js";
import { alias, promote, startDirectoryServer } from "./directory-support.js";
import { api, createRoom, ok, registerUser, room, type ClientUser } from "./support.js";

forEachDatabase((kind) => {
  describe("room aliases", () => {
    let server: TestServer;
    let alice: ClientUser;
    let bob: ClientUser;
    let admin: ClientUser;
    let roomId: string;
    let otherRoom: string;
    beforeAll(async () => {
      server = await startDirectoryServer(kind);
      alice = await registerUser(server.url, "alice");
      bob = await registerUser(server.url, "bob");
      admin = await registerUser(server.url, "admin");
      await promote(server, admin.userId);
      roomId = await createRoom(server.url, alice, { preset: "public_chat" });
      otherRoom = await createRoom(server.url, bob, {});
    });
    afterAll(async () => server.close());

    const canonical = async (r: string) => ok(server.url, alice, "GET", `${room(r)}/state/m.room.canonical_alias/`);

    it("creates, resolves and lists an alias", async () => {
      expect(await ok(server.url, alice, "PUT", alias("#life:localhost"), { room_id: roomId })).toEqual({});
      expect(await ok(server.url, null, "GET", alias("#life:localhost"))).toEqual({
        room_id: roomId,
        servers: ["localhost"],
      });
      expect(await ok(server.url, alice, "GET", `${room(roomId)}/aliases`)).toEqual({ aliases: ["#life:localhost"] });
      // Joining by it works too.
      expect(await ok(server.url, bob, "POST", `/join/${encodeURIComponent("#life:localhost")}`, {})).toEqual({
        room_id: roomId,
      });
    });

    it("acts on the room an alias names when a room route is given the alias", async () => {
      const byAlias = room("#life:localhost");
      await ok(server.url, bob, "POST", `/join/${encodeURIComponent("#life:localhost")}`, {});
      const sent = await ok<{ event_id: string }>(server.url, bob, "PUT", `${byAlias}/send/m.room.message/a1`, {
        msgtype: "m.text",
        body: "by alias",
      });
      const event = await ok(server.url, alice, "GET", `${room(roomId)}/event/${encodeURIComponent(sent.event_id)}`);
      expect(event).toMatchObject({ room_id: roomId, sender: bob.userId });
      expect(await ok(server.url, bob, "POST", `${byAlias}/leave`, {})).toEqual({});
      const members = await ok<{ chunk: { state_key: string; content: { membership: string } }[] }>(
        server.url,
        alice,
        "GET",
        `${room(roomId)}/members`,
      );
      expect(members.chunk.find((m) => m.state_key === bob.userId)?.content.membership).toBe("leave");
      // The later tests expect bob in the room.
      await ok(server.url, bob, "POST", `/join/${encodeURIComponent("#life:localhost")}`, {});
    });

    it("refuses a taken alias with 409, as Synapse", async () => {
      await ok(server.url, alice, "PUT", alias("#taken:localhost"), { room_id: roomId });
      const r = await api(server.url, bob, "PUT", alias("#taken:localhost"), { room_id: roomId });
      expect(r.status).toBe(409);
      expect(r.body).toEqual({ errcode: "M_UNKNOWN", error: "Room alias #taken:localhost already exists" });
    });

    it("refuses malformed, foreign and unusable aliases and bodies", async () => {
      const put = (a: string, body: unknown, user: ClientUser | null = alice) =>
        api(server.url, user, "PUT", alias(a), body);
      expect((await put("nohash:localhost", { room_id: roomId })).body).toMatchObject({ errcode: "M_INVALID_PARAM" });
      expect((await put("#nocolon", { room_id: roomId })).body).toMatchObject({ errcode: "M_INVALID_PARAM" });
      const foreign = await put("#x:elsewhere.example", { room_id: roomId });
      expect([foreign.status, foreign.body.errcode, foreign.body.error]).toEqual([
        400,
        "M_UNKNOWN",
        "Room alias must be local",
      ]);
      const spaced = await put("#a b:localhost", { room_id: roomId });
      expect([spaced.status, spaced.body.error]).toEqual([400, "Invalid characters in room alias"]);
      const long = await put(`#${"a".repeat(250)}:localhost`, { room_id: roomId });
      expect([long.status, long.body.errcode]).toEqual([400, "M_INVALID_PARAM"]);
      expect((await put("#x:localhost", {})).body).toMatchObject({ errcode: "M_BAD_JSON" });
      expect((await put("#x:localhost", { room_id: 5 })).body).toMatchObject({ errcode: "M_BAD_JSON" });
      const unknown = await put("#x:localhost", { room_id: "!nope:localhost" });
      expect([unknown.status, unknown.body.errcode, unknown.body.error]).toEqual([
        400,
        "M_UNKNOWN",
        "Room does not exist",
      ]);
      const stranger = await put("#x:localhost", { room_id: otherRoom });
      expect([stranger.status, stranger.body.errcode]).toEqual([403, "M_FORBIDDEN"]);
      expect((await put("#x:localhost", { room_id: roomId }, null)).status).toBe(401);
      // Nothing of these was stored.
      expect((await api(server.url, null, "GET", alias("#x:localhost"))).status).toBe(404);
    });

    it("lets an admin alias a room they are not in", async () => {
      expect(await ok(server.url, admin, "PUT", alias("#byadmin:localhost"), { room_id: otherRoom })).toEqual({});
    });

    it("answers 404 for an unknown alias and 400 for a malformed one", async () => {
      const r = await api(server.url, null, "GET", alias("#unknown:localhost"));
      expect([r.status, r.body.errcode]).toEqual([404, "M_NOT_FOUND"]);
      const bad = await api(server.url, null, "GET", alias("unknown"));
      expect([bad.status, bad.body.errcode]).toEqual([400, "M_INVALID_PARAM"]);
    });

    it("shows a room's aliases only to members, admins and world_readable rooms", async () => {
      const r = await api(server.url, alice, "GET", `${room(otherRoom)}/aliases`);
      expect([r.status, r.body.errcode]).toEqual([403, "M_FORBIDDEN"]);
      expect((await ok(server.url, admin, "GET", `${room(otherRoom)}/aliases`)).aliases).toEqual([
        "#byadmin:localhost",
      ]);
      await ok(server.url, bob, "PUT", `${room(otherRoom)}/state/m.room.history_visibility/`, {
        history_visibility: "world_readable",
      });
      expect((await ok(server.url, alice, "GET", `${room(otherRoom)}/aliases`)).aliases).toEqual([
        "#byadmin:localhost",
      ]);
      const bad = await api(server.url, alice, "GET", `${room("nonsense")}/aliases`);
      expect([bad.status, bad.body.errcode]).toEqual([400, "M_INVALID_PARAM"]);
    });

    it("deletes by the creator, an admin or a moderator; refuses others", async () => {
      await ok(server.url, alice, "PUT", alias("#del1:localhost"), { room_id: roomId });
      // bob is joined (from the first test) but only at power 0 and not the creator.
      const refused = await api(server.url, bob, "DELETE", alias("#del1:localhost"));
      expect([refused.status, refused.body.error]).toEqual([403, "You don't have permission to delete the alias."]);
      const stranger = await registerUser(server.url, "stranger");
      const notIn = await api(server.url, stranger, "DELETE", alias("#del1:localhost"));
      expect([notIn.status, notIn.body.errcode]).toEqual([403, "M_FORBIDDEN"]);
      expect(await ok(server.url, admin, "DELETE", alias("#del1:localhost"))).toEqual({});
      const gone = await api(server.url, alice, "DELETE", alias("#del1:localhost"));
      expect([gone.status, gone.body.errcode]).toEqual([404, "M_NOT_FOUND"]);
      // bob's own alias: he may delete it although his power is low.
      await ok(server.url, bob, "PUT", alias("#bobs:localhost"), { room_id: roomId });
      expect(await ok(server.url, bob, "DELETE", alias("#bobs:localhost"))).toEqual({});
      expect((await api(server.url, bob, "DELETE", alias("#bobs:localhost"))).status).toBe(404);
    });

    it("checks canonical alias events against the aliases of this server", async () => {
      await ok(server.url, alice, "PUT", alias("#canon:localhost"), { room_id: roomId });
      await ok(server.url, alice, "PUT", alias("#alt:localhost"), { room_id: roomId });
      const state = `${room(roomId)}/state/m.room.canonical_alias/`;
      const missing = await api(server.url, alice, "PUT", state, { alias: "#missing:localhost" });
      expect([missing.status, missing.body.errcode, missing.body.error]).toEqual([
        400,
        "M_BAD_ALIAS",
        "Room alias #missing:localhost does not point to the room",
      ]);
      const other = await api(server.url, alice, "PUT", state, { alias: "#byadmin:localhost" });
      expect([other.status, other.body.errcode]).toEqual([400, "M_BAD_ALIAS"]);
      const badAlt = await api(server.url, alice, "PUT", state, {
        alias: "#canon:localhost",
        alt_aliases: ["#nope:localhost"],
      });
      expect([badAlt.status, badAlt.body.errcode]).toEqual([400, "M_BAD_ALIAS"]);
      const notList = await api(server.url, alice, "PUT", state, { alt_aliases: "#alt:localhost" });
      expect([notList.status, notList.body.errcode]).toEqual([400, "M_INVALID_PARAM"]);
      const malformed = await api(server.url, alice, "PUT", state, { alias: "canon" });
      expect([malformed.status, malformed.body.errcode]).toEqual([400, "M_INVALID_PARAM"]);
      // Power comes first: bob may not send it at all.
      const bobTry = await api(server.url, bob, "PUT", state, { alias: "#missing:localhost" });
      expect([bobTry.status, bobTry.body.errcode]).toEqual([403, "M_FORBIDDEN"]);
      await ok(server.url, alice, "PUT", state, {
        alias: "#canon:localhost",
        alt_aliases: ["#alt:localhost", "#remote:elsewhere.example"],
      });
      expect(await canonical(roomId)).toEqual({
        alias: "#canon:localhost",
        alt_aliases: ["#alt:localhost", "#remote:elsewhere.example"],
      });
    });

    it("takes a deleted alias out of the canonical alias event, as Synapse", async () => {
      await ok(server.url, alice, "DELETE", alias("#alt:localhost"));
      expect(await canonical(roomId)).toEqual({
        alias: "#canon:localhost",
        alt_aliases: ["#remote:elsewhere.example"],
      });
      await ok(server.url, alice, "DELETE", alias("#canon:localhost"));
      expect(await canonical(roomId)).toEqual({ alt_aliases: ["#remote:elsewhere.example"] });
      // With the alias gone, the rest of the event can still change: kept aliases are not checked again.
      await ok(server.url, alice, "PUT", `${room(roomId)}/state/m.room.canonical_alias/`, {});
    });

    it("holds createRoom's initial_state to the same check, leaving nothing behind", async () => {
      const before = await ok<{ joined_rooms: string[] }>(server.url, alice, "GET", "/joined_rooms");
      const r = await api(server.url, alice, "POST", "/createRoom", {
        initial_state: [{ type: "m.room.canonical_alias", content: { alias: "#life:localhost" } }],
      });
      expect([r.status, r.body.errcode]).toEqual([400, "M_BAD_ALIAS"]);
      const after = await ok<{ joined_rooms: string[] }>(server.url, alice, "GET", "/joined_rooms");
      expect(after.joined_rooms).toEqual(before.joined_rooms);
      const made = await ok<{ room_id: string; room_alias: string }>(server.url, alice, "POST", "/createRoom", {
        room_alias_name: "fresh",
      });
      expect(made.room_alias).toBe("#fresh:localhost");
      expect(await canonical(made.room_id)).toEqual({ alias: "#fresh:localhost" });
    });
  });
});
