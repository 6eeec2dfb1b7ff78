/**
 * Server notices on SQLite and PostgreSQL, over real HTTP: the first notice makes a room tagged `m.server_notice`
 * and invites the user (who cannot reject it, and sees notice and tag in /sync once joined), later notices reuse
 * it, a user who left gets a new one, a transaction ID makes the send idempotent per admin session, a changed
 * config is applied to the room on its next use, `auto_join`, the refusals in Synapse's words (nothing written),
 * notices off, and the audit entry.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectMatrixError } from "../api/support.js";
import { forEachDatabase } from "../helpers/databases.js";
import { call } from "../helpers/http.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { api, ok, sync, type SyncResult } from "../rooms/support.js";
import { ROOM_ADMIN_CONFIG } from "./rooms-support.js";
import { ADMIN, auditRows, closeAdminFixture, PASSWORD, startAdminFixture, type AdminFixture } from "./support.js";

const NOTICE = `${ADMIN}/v1/send_server_notice`;
const NOTICES = "@notices:localhost";
const NOTICES_CONFIG = {
  system_mxid_localpart: "notices",
  system_mxid_display_name: "Server Notices",
  room_topic: "Messages from the server",
};
const text = (body: string) => ({ msgtype: "m.text", body });
const roomPath = (roomId: string) => `/rooms/${encodeURIComponent(roomId)}`;

interface User {
  userId: string;
  token: string;
  deviceId: string;
}

forEachDatabase((kind) => {
  let fx: AdminFixture;
  let alice: User;
  let bob: User;
  let carol: User;
  beforeAll(async () => {
    fx = await startAdminFixture(kind, { ...ROOM_ADMIN_CONFIG, server_notices: NOTICES_CONFIG });
    alice = await fx.user("alice");
    bob = await fx.user("bob");
    carol = await fx.user("carol");
    // The first spec-checked answer compiles the OpenAPI schemas, long enough for the server to close an idle
    // keep-alive connection; a GET (which the helper retries on a fresh one) retires it before the first POST.
    await sync(fx.url, alice);
    await call(fx.url, "GET", "/_matrix/client/versions");
  });
  afterAll(() => closeAdminFixture(fx));

  const notice = async (userId: string, body: string, base = fx.url) => {
    const r = await call(base, "POST", NOTICE, {
      token: fx.admin.token,
      json: { user_id: userId, content: text(body) },
    });
    expect(r.status, r.text).toBe(200);
    expect(r.body.event_id).toMatch(/^\$/);
    return r.body.event_id as string;
  };
  /** The user's rooms by membership, from the database. */
  const roomsOf = async (userId: string, membership: string) =>
    (
      await fx.look.kysely
        .selectFrom("room_memberships")
        .select("room_id")
        .where("user_id", "=", userId)
        .where("membership", "=", membership)
        .orderBy("stream_ordering")
        .execute()
    ).map((r) => r.room_id);
  const messagesIn = async (user: User, roomId: string) => {
    const r = await ok<{ chunk: { type: string; sender: string; content: Record<string, unknown> }[] }>(
      fx.url,
      user,
      "GET",
      `${roomPath(roomId)}/messages?dir=b&limit=50`,
    );
    return r.chunk.filter((e) => e.type === "m.room.message").map((e) => [e.sender, e.content.body]);
  };
  const state = (user: User, roomId: string, type: string, stateKey = "") =>
    ok(fx.url, user, "GET", `${roomPath(roomId)}/state/${type}/${encodeURIComponent(stateKey)}`);

  describe("POST /_synapse/admin/v1/send_server_notice", () => {
    it("first notice: a private room from the notices user, tagged, the user invited; seen in /sync after joining", async () => {
      const before = await sync(fx.url, alice);
      const eventId = await notice(alice.userId, "Maintenance tonight");
      const [roomId] = await roomsOf(alice.userId, "invite");
      expect(roomId).toBeDefined();
      expect(await roomsOf(NOTICES, "join")).toEqual([roomId]);

      const invited = await sync(fx.url, alice, `since=${before.next_batch}`);
      const inviteState = invited.rooms.invite[roomId!]!.invite_state.events;
      expect(inviteState.find((e) => e.type === "m.room.name")?.content).toEqual({ name: "Server Notices" });
      expect(inviteState.find((e) => e.type === "m.room.member" && e.state_key === alice.userId)?.sender).toBe(NOTICES);

      // Synapse's rule: the invite cannot be rejected.
      expectMatrixError(
        await api(fx.url, alice, "POST", `${roomPath(roomId!)}/leave`, {}),
        403,
        "M_CANNOT_LEAVE_SERVER_NOTICE_ROOM",
        "You cannot reject this invite",
      );
      await ok(fx.url, alice, "POST", `/join/${encodeURIComponent(roomId!)}`, {});
      const joined = await sync(fx.url, alice, `since=${invited.next_batch}`);
      const room = joined.rooms.join[roomId!] as SyncResult["rooms"]["join"][string] & {
        account_data: { events: { type: string; content: Record<string, unknown> }[] };
      };
      const timeline = [...room.state.events, ...room.timeline.events];
      const message = timeline.find((e) => e.event_id === eventId);
      expect(message).toMatchObject({ type: "m.room.message", sender: NOTICES, content: text("Maintenance tonight") });
      expect(room.account_data.events).toContainEqual({ type: "m.tag", content: { tags: { "m.server_notice": {} } } });
      expect(await state(alice, roomId!, "m.room.topic")).toEqual({ topic: "Messages from the server" });
      expect(await state(alice, roomId!, "m.room.member", NOTICES)).toEqual({
        membership: "join",
        displayname: "Server Notices",
      });

      // Only the notices user speaks in its room.
      expect((await state(alice, roomId!, "m.room.power_levels")).users_default).toBe(-10);
      const reply = await api(fx.url, alice, "PUT", `${roomPath(roomId!)}/send/m.room.message/r1`, text("hi"));
      expect(reply.status).toBe(403);

      // The notices user is an account no one can log in as, kept out of the user directory.
      const row = await fx.look.kysely.selectFrom("users").selectAll().where("name", "=", NOTICES).executeTakeFirst();
      expect(row).toMatchObject({ password_hash: null, user_type: "support", displayname: "Server Notices" });
      const login = await call(fx.url, "POST", "/_matrix/client/v3/login", {
        json: { type: "m.login.password", identifier: { type: "m.id.user", user: "notices" }, password: "" },
      });
      expect(login.status).toBe(403);
      const taken = await call(fx.url, "POST", "/_matrix/client/v3/register", {
        json: { username: "notices", password: PASSWORD, auth: { type: "m.login.dummy" } },
      });
      expectMatrixError(taken, 400, "M_USER_IN_USE", "User ID already taken.");

      const audit = (await auditRows(fx.look)).filter((e) => e.action === "server_notice.send");
      expect(audit.map((e) => [e.actor, e.target, e.after])).toEqual([
        [
          fx.admin.userId,
          alice.userId,
          { room_id: roomId, event_id: eventId, type: "m.room.message", new_room: true, notices_user_created: NOTICES },
        ],
      ]);
    });

    it("a second notice reuses the room; after the user leaves, the next one opens a new room", async () => {
      const [roomId] = await roomsOf(alice.userId, "join");
      await notice(alice.userId, "Done");
      expect(await roomsOf(alice.userId, "invite")).toEqual([]);
      expect(await messagesIn(alice, roomId!)).toEqual([
        [NOTICES, "Done"],
        [NOTICES, "Maintenance tonight"],
      ]);

      // Joined, the user may leave (Synapse's rule), and the next notice goes to a new room.
      await ok(fx.url, alice, "POST", `${roomPath(roomId!)}/leave`, {});
      await notice(alice.userId, "Again");
      const invites = await roomsOf(alice.userId, "invite");
      expect(invites).toHaveLength(1);
      expect(invites[0]).not.toBe(roomId);
      expect(await roomsOf(NOTICES, "join")).toEqual([roomId, invites[0]]);
      // An invited user's room is reused too.
      await notice(alice.userId, "Still there?");
      expect(await roomsOf(alice.userId, "invite")).toEqual(invites);
    });

    it("two first notices at once make one room with both notices", async () => {
      const frank = await fx.user("frank");
      await Promise.all([notice(frank.userId, "one"), notice(frank.userId, "two")]);
      const invites = await roomsOf(frank.userId, "invite");
      expect(invites).toHaveLength(1);
      await ok(fx.url, frank, "POST", `/join/${encodeURIComponent(invites[0]!)}`, {});
      expect((await messagesIn(frank, invites[0]!)).map(([, body]) => body).sort()).toEqual(["one", "two"]);
    });

    it("refuses bad requests in Synapse's words and writes nothing", async () => {
      const rooms = async () => (await fx.look.kysely.selectFrom("rooms").select("room_id").execute()).length;
      const count = await rooms();
      const post = (json: unknown, token?: string | null) =>
        call(fx.url, "POST", NOTICE, { token: token === undefined ? fx.admin.token : (token ?? undefined), json });
      expectMatrixError(
        await call(fx.url, "POST", NOTICE, { token: fx.admin.token }),
        400,
        "M_NOT_JSON",
        "Content not JSON.",
      );
      expectMatrixError(await post({}), 400, "M_MISSING_PARAM", "Missing params: ['user_id', 'content']");
      expectMatrixError(await post({ user_id: bob.userId }), 400, "M_MISSING_PARAM", "Missing params: ['content']");
      expectMatrixError(await post({ user_id: bob.userId, content: "" }), 400, "M_UNKNOWN", "'body' not in content");
      expectMatrixError(
        await post({ user_id: bob.userId, content: { body: "" } }),
        400,
        "M_UNKNOWN",
        "'msgtype' not in content",
      );
      expectMatrixError(
        await post({ user_id: bob.userId, content: { body: 1, msgtype: "m.text" } }),
        400,
        "M_UNKNOWN",
        "'body' not a string type",
      );
      expectMatrixError(
        await post({ user_id: bob.userId, content: [], type: "org.example.notice" }),
        400,
        "M_BAD_JSON",
        "'content' must be an object",
      );
      expectMatrixError(
        await post({ user_id: bob.userId, content: { membership: "join" }, type: "m.room.member", state_key: "x" }),
        400,
        "M_BAD_JSON",
        "A server notice cannot be a member event",
      );
      expectMatrixError(
        await post({ user_id: bob.userId, content: text("x"), type: 5 }),
        400,
        "M_BAD_JSON",
        "'type' must be a string",
      );
      expectMatrixError(
        await post({ user_id: "@bob:elsewhere.example", content: text("x") }),
        400,
        "M_UNKNOWN",
        "Server notices can only be sent to local users",
      );
      expectMatrixError(
        await post({ user_id: "@nobody:localhost", content: text("x") }),
        404,
        "M_NOT_FOUND",
        "User not found",
      );
      expectMatrixError(
        await post({ user_id: "bob", content: text("x") }),
        400,
        "M_INVALID_PARAM",
        "Expected UserID string to start with '@'",
      );
      expectMatrixError(
        await post({ user_id: NOTICES, content: text("x") }),
        400,
        "M_UNKNOWN",
        "Server notices cannot be sent to the notices user",
      );
      expect((await post({ user_id: bob.userId, content: text("x") }, bob.token)).status).toBe(403);
      expect((await post({ user_id: bob.userId, content: text("x") }, null)).status).toBe(401);

      const dave = await fx.user("dave");
      const deactivated = await fx.as("POST", `${ADMIN}/v1/deactivate/${encodeURIComponent(dave.userId)}`, {
        json: {},
      });
      expect(deactivated.status, deactivated.text).toBe(200);
      expectMatrixError(
        await post({ user_id: dave.userId, content: text("x") }),
        400,
        "M_UNKNOWN",
        "Server notices cannot be sent to a deactivated user",
      );
      expect(await rooms()).toBe(count);
    });

    it("sends other event types and state events as Synapse allows", async () => {
      const r = await fx.as("POST", NOTICE, {
        json: { user_id: carol.userId, type: "org.example.policy", state_key: "v2", content: { url: "https://x" } },
      });
      expect(r.status, r.text).toBe(200);
      const [roomId] = await roomsOf(carol.userId, "invite");
      await ok(fx.url, carol, "POST", `/join/${encodeURIComponent(roomId!)}`, {});
      expect(await state(carol, roomId!, "org.example.policy", "v2")).toEqual({ url: "https://x" });
    });
  });

  describe("PUT /_synapse/admin/v1/send_server_notice/{txnId}", () => {
    const put = (txnId: string, body: string, token = fx.admin.token) =>
      call(fx.url, "PUT", `${NOTICE}/${txnId}`, { token, json: { user_id: bob.userId, content: text(body) } });

    it("a retry with the same transaction ID from the same session returns the first event and sends nothing", async () => {
      // Two at once, before any room exists: one room, one notice.
      const [first, concurrent] = await Promise.all([put("t1", "Welcome"), put("t1", "Welcome")]);
      expect(first.status, first.text).toBe(200);
      expect(concurrent.body).toEqual(first.body);
      const retry = await put("t1", "a different body");
      expect(retry.status).toBe(200);
      expect(retry.body).toEqual(first.body);
      const invites = await roomsOf(bob.userId, "invite");
      expect(invites).toHaveLength(1);
      await ok(fx.url, bob, "POST", `/join/${encodeURIComponent(invites[0]!)}`, {});
      expect(await messagesIn(bob, invites[0]!)).toEqual([[NOTICES, "Welcome"]]);

      const other = await put("t2", "Second");
      expect(other.body.event_id).not.toBe(first.body.event_id);
      // The same ID from another session of the admin is another notice, as Synapse scopes it.
      const login = await call(fx.url, "POST", "/_matrix/client/v3/login", {
        json: { type: "m.login.password", identifier: { type: "m.id.user", user: "root" }, password: PASSWORD },
      });
      const again = await put("t1", "From elsewhere", login.body.access_token as string);
      expect(again.status, again.text).toBe(200);
      expect(again.body.event_id).not.toBe(first.body.event_id);
      expect(await messagesIn(bob, invites[0]!)).toEqual([
        [NOTICES, "From elsewhere"],
        [NOTICES, "Second"],
        [NOTICES, "Welcome"],
      ]);
      const audited = (await auditRows(fx.look)).filter((e) => e.action === "server_notice.send");
      expect(audited.filter((e) => e.target === bob.userId)).toHaveLength(3);
    });
  });

  describe("another server on the same database", () => {
    let other: TestServer | null = null;
    afterAll(() => other?.close());

    it("applies a changed config to a reused room, and auto_join joins the user", async () => {
      other = await startTestServer(fx.db, {
        ...ROOM_ADMIN_CONFIG,
        server_notices: {
          system_mxid_localpart: "notices",
          system_mxid_display_name: "Ops",
          system_mxid_avatar_url: "mxc://localhost/ops",
          room_name: "Notices",
          room_avatar_url: "mxc://localhost/room",
          auto_join: true,
        },
      });
      const [roomId] = await roomsOf(bob.userId, "join");
      await notice(bob.userId, "Renamed", other.url);
      expect(await state(bob, roomId!, "m.room.member", NOTICES)).toEqual({
        membership: "join",
        displayname: "Ops",
        avatar_url: "mxc://localhost/ops",
      });
      expect(await state(bob, roomId!, "m.room.name")).toEqual({ name: "Notices" });
      expect(await state(bob, roomId!, "m.room.avatar")).toEqual({ url: "mxc://localhost/room" });
      // Unset in the config now: emptied, as Synapse does.
      expect(await state(bob, roomId!, "m.room.topic")).toEqual({ topic: "" });
      const profile = await ok(fx.url, bob, "GET", `/profile/${encodeURIComponent(NOTICES)}`);
      expect(profile).toEqual({ displayname: "Ops", avatar_url: "mxc://localhost/ops" });
      // Nothing changed since: the next notice sends no more state.
      const stateCount = async () =>
        (await fx.look.kysely.selectFrom("room_state").select("event_id").where("room_id", "=", roomId!).execute())
          .length;
      const count = await stateCount();
      await notice(bob.userId, "Unchanged", other.url);
      expect(await stateCount()).toBe(count);

      const erin = await fx.user("erin");
      await notice(erin.userId, "Joined for you", other.url);
      const [joined] = await roomsOf(erin.userId, "join");
      expect(joined).toBeDefined();
      expect(await roomsOf(erin.userId, "invite")).toEqual([]);
      expect(await messagesIn(erin, joined!)).toEqual([[NOTICES, "Joined for you"]]);
      expect(await state(erin, joined!, "m.room.avatar")).toEqual({ url: "mxc://localhost/room" });
    });

    it("without server_notices the endpoint answers as Synapse's does, and invites can be rejected", async () => {
      await other?.close();
      other = await startTestServer(fx.db, ROOM_ADMIN_CONFIG);
      const r = await call(other.url, "POST", NOTICE, {
        token: fx.admin.token,
        json: { user_id: carol.userId, content: text("x") },
      });
      expectMatrixError(r, 400, "M_UNKNOWN", "Server notices are not enabled on this server");
      const put = await call(other.url, "PUT", `${NOTICE}/t9`, {
        token: fx.admin.token,
        json: { user_id: carol.userId, content: text("x") },
      });
      expectMatrixError(put, 400, "M_UNKNOWN", "Server notices are not enabled on this server");
      const [invited] = await roomsOf(alice.userId, "invite");
      await ok(other.url, alice, "POST", `${roomPath(invited!)}/leave`, {});
      expect(await roomsOf(alice.userId, "invite")).toEqual([]);
    });
  });
});
