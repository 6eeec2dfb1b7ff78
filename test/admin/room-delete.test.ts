/**
 * Deleting and blocking rooms through the admin API on SQLite and PostgreSQL: the members' leave events, the notice
 * room, the purge of every room row in one go, the status endpoints, blocked joins, and the audit entries.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectMatrixError, sleep } from "../api/support.js";
import { forEachDatabase } from "../helpers/databases.js";
import { call } from "../helpers/http.js";
import { ADMIN, auditRows, closeAdminFixture, enc, startAdminFixture, type AdminFixture } from "./support.js";
import { clientCall, encRoom, joinRoom, makeRoom, type Member } from "./rooms-support.js";
import { ROOM_ADMIN_CONFIG } from "./rooms-support.js";

const C = "/_matrix/client/v3";

forEachDatabase((kind) => {
  let fx: AdminFixture;
  let alice: Member;
  let bob: Member;
  let carol: Member;
  beforeAll(async () => {
    fx = await startAdminFixture(kind, ROOM_ADMIN_CONFIG);
    alice = await fx.user("alice");
    bob = await fx.user("bob");
    carol = await fx.user("carol");
  });
  afterAll(() => closeAdminFixture(fx));

  /** Polls the status by ID until the deletion has finished. */
  async function finished(deleteId: string): Promise<Record<string, unknown>> {
    for (let i = 0; i < 200; i++) {
      const r = await fx.as("GET", `${ADMIN}/v2/rooms/delete_status/${deleteId}`);
      expect(r.status, r.text).toBe(200);
      if (r.body.status === "complete" || r.body.status === "failed") return r.body;
      await sleep(25);
    }
    throw new Error("the deletion did not finish");
  }

  const roomRows = async (roomId: string) => {
    const counts: Record<string, number> = {};
    for (const table of [
      "rooms",
      "events",
      "room_state",
      "current_state",
      "room_memberships",
      "room_aliases",
    ] as const) {
      const rows = await fx.look.kysely.selectFrom(table).select("room_id").where("room_id", "=", roomId).execute();
      counts[table] = rows.length;
    }
    return counts;
  };

  describe("block", () => {
    it("blocks a room: non-admins can no longer join or be invited, admins still can; unblocking lets them in", async () => {
      const room = await makeRoom(fx.url, alice, { preset: "public_chat", name: "to block" });
      const block = `${ADMIN}/v1/rooms/${encRoom(room)}/block`;
      expect((await fx.as("GET", block)).body).toEqual({ block: false });
      expect((await fx.as("PUT", block, { json: { block: true } })).body).toEqual({ block: true });
      expect((await fx.as("GET", block)).body).toEqual({ block: true, user_id: fx.admin.userId });
      const refused = await call(fx.url, "POST", `${C}/join/${encRoom(room)}`, { token: bob.token, json: {} });
      expectMatrixError(refused, 403, "M_FORBIDDEN", "This room has been blocked on this server");
      const invite = await call(fx.url, "POST", `${C}/rooms/${encRoom(room)}/invite`, {
        token: alice.token,
        json: { user_id: carol.userId },
      });
      expectMatrixError(invite, 403, "M_FORBIDDEN", "This room has been blocked on this server");
      await joinRoom(fx.url, fx.admin, room);
      // Blocking again changes nothing and is not audited again.
      expect((await fx.as("PUT", block, { json: { block: true } })).body).toEqual({ block: true });
      expect((await fx.as("PUT", block, { json: { block: false } })).body).toEqual({ block: false });
      await joinRoom(fx.url, bob, room);
      const audit = (await auditRows(fx.look)).filter((r) => r.target === room);
      expect(audit.map((r) => [r.action, r.actor, r.after])).toEqual([
        ["room.block", fx.admin.userId, { blocked_by: fx.admin.userId }],
        ["room.unblock", fx.admin.userId, { blocked_by: null }],
      ]);
    });

    it("blocks a room this server does not know yet; refuses bad input in Synapse's words", async () => {
      const block = `${ADMIN}/v1/rooms/${encRoom("!future:elsewhere.org")}/block`;
      expect((await fx.as("PUT", block, { json: { block: true } })).body).toEqual({ block: true });
      expect((await fx.as("GET", block)).body).toEqual({ block: true, user_id: fx.admin.userId });
      expectMatrixError(await fx.as("PUT", block, { json: {} }), 400, "M_MISSING_PARAM", "Missing params: ['block']");
      expectMatrixError(
        await fx.as("PUT", block, { json: { block: "yes" } }),
        400,
        "M_BAD_JSON",
        "Param 'block' must be a boolean.",
      );
      expectMatrixError(
        await fx.as("GET", `${ADMIN}/v1/rooms/nonsense/block`),
        400,
        "M_UNKNOWN",
        "nonsense is not a legal room ID",
      );
      expectMatrixError(
        await fx.as("PUT", block, { json: { block: false }, token: alice.token }),
        403,
        "M_FORBIDDEN",
        "You are not a server admin",
      );
    });
  });

  describe("DELETE /_synapse/admin/v2/rooms/{roomId}", () => {
    it("makes every local member leave by their own event, blocks, purges every row, and reports it", async () => {
      const room = await makeRoom(fx.url, alice, {
        preset: "public_chat",
        room_alias_name: "doomed",
        visibility: "public",
      });
      await joinRoom(fx.url, bob, room);
      await clientCall(fx.url, alice, "POST", `/rooms/${encRoom(room)}/invite`, { user_id: carol.userId });
      const r = await fx.as("DELETE", `${ADMIN}/v2/rooms/${encRoom(room)}`, { json: { block: true } });
      expect(r.status, r.text).toBe(200);
      expect(Object.keys(r.body)).toEqual(["delete_id"]);
      const deleteId = r.body.delete_id as string;
      const status = await finished(deleteId);
      expect(status).toEqual({
        delete_id: deleteId,
        room_id: room,
        status: "complete",
        shutdown_room: {
          kicked_users: expect.arrayContaining([alice.userId, bob.userId, carol.userId]) as unknown,
          failed_to_kick_users: [],
          local_aliases: ["#doomed:localhost"],
          new_room_id: null,
        },
      });
      expect((status.shutdown_room as { kicked_users: string[] }).kicked_users).toHaveLength(3);
      expect(await roomRows(room)).toEqual({
        rooms: 0,
        events: 0,
        room_state: 0,
        current_state: 0,
        room_memberships: 0,
        room_aliases: 0,
      });
      expectMatrixError(await fx.as("GET", `${ADMIN}/v1/rooms/${encRoom(room)}`), 404, "M_NOT_FOUND", "Room not found");
      expect((await fx.as("GET", `${ADMIN}/v1/users/${enc(bob.userId)}/joined_rooms`)).body.joined_rooms).not.toContain(
        room,
      );
      expect((await fx.as("GET", `${ADMIN}/v1/rooms/${encRoom(room)}/block`)).body.block).toBe(true);
      const refused = await call(fx.url, "POST", `${C}/join/${encRoom(room)}`, { token: bob.token, json: {} });
      expect(refused.status).toBe(403);
      expect((await fx.as("GET", `${ADMIN}/v2/rooms/${encRoom(room)}/delete_status`)).body).toEqual({
        results: [status],
      });
      const audit = (await auditRows(fx.look)).filter((e) => e.target === room);
      expect(audit.map((e) => e.action)).toEqual(["room.delete", "room.block", "room.purge"]);
      expect(audit[0]!.after).toMatchObject({ delete_id: deleteId, block: true, purge: true, force_purge: false });
    });

    it("without purge, members leave and move to a notice room with the aliases; the room stays", async () => {
      const room = await makeRoom(fx.url, alice, { preset: "public_chat", room_alias_name: "moved", name: "Old" });
      await joinRoom(fx.url, bob, room);
      const r = await fx.as("DELETE", `${ADMIN}/v2/rooms/${encRoom(room)}`, {
        json: { purge: false, new_room_user_id: "@notices:localhost", room_name: "Closed", message: "Gone." },
      });
      expect(r.status, r.text).toBe(200);
      const status = await finished(r.body.delete_id as string);
      expect(status.status).toBe("complete");
      const result = status.shutdown_room as { new_room_id: string; kicked_users: string[] };
      expect(result.kicked_users.sort()).toEqual([alice.userId, bob.userId]);
      const newRoom = result.new_room_id;
      expect(newRoom).toMatch(/^!/);
      // Each leave is the member's own event.
      const state = (await fx.as("GET", `${ADMIN}/v1/rooms/${encRoom(room)}/state?type=m.room.member`)).body.state as {
        sender: string;
        state_key: string;
        content: { membership: string };
      }[];
      expect(state.map((e) => [e.state_key, e.sender, e.content.membership]).sort()).toEqual([
        [alice.userId, alice.userId, "leave"],
        [bob.userId, bob.userId, "leave"],
      ]);
      expect((await fx.as("GET", `${ADMIN}/v1/rooms/${encRoom(room)}`)).body).toMatchObject({
        joined_members: 0,
        forgotten: true,
        public: false,
      });
      const details = (await fx.as("GET", `${ADMIN}/v1/rooms/${encRoom(newRoom)}`)).body;
      expect(details).toMatchObject({ name: "Closed", creator: "@notices:localhost", joined_members: 3 });
      const aliasRow = await fx.look.kysely
        .selectFrom("room_aliases")
        .select("room_id")
        .where("alias", "=", "#moved:localhost")
        .executeTakeFirstOrThrow();
      expect(aliasRow.room_id).toBe(newRoom);
      const sync = await clientCall(fx.url, bob, "GET", "/sync");
      const joined = (
        sync.rooms as { join: Record<string, { timeline: { events: { content: { body?: string } }[] } }> }
      ).join;
      expect(Object.keys(joined)).toContain(newRoom);
      expect(Object.keys(joined)).not.toContain(room);
      expect(joined[newRoom]!.timeline.events.some((e) => e.content.body === "Gone.")).toBe(true);
    });

    it("v1 answers once done with the result", async () => {
      const room = await makeRoom(fx.url, carol, { name: "v1" });
      const r = await fx.as("DELETE", `${ADMIN}/v1/rooms/${encRoom(room)}`, { json: {} });
      expect(r.status, r.text).toBe(200);
      expect(r.body).toEqual({
        kicked_users: [carol.userId],
        failed_to_kick_users: [],
        local_aliases: [],
        new_room_id: null,
      });
      expect((await roomRows(room)).events).toBe(0);
    });

    it("blocks an unknown room when asked to; refuses bad requests", async () => {
      const unknown = "!never:localhost";
      const r = await fx.as("DELETE", `${ADMIN}/v2/rooms/${encRoom(unknown)}`, { json: { block: true } });
      expect(r.status, r.text).toBe(200);
      expect((await finished(r.body.delete_id as string)).status).toBe("complete");
      expect((await fx.as("GET", `${ADMIN}/v1/rooms/${encRoom(unknown)}/block`)).body.block).toBe(true);
      expectMatrixError(
        await fx.as("DELETE", `${ADMIN}/v2/rooms/${encRoom("!other:localhost")}`, { json: {} }),
        404,
        "M_NOT_FOUND",
        "Unknown room id !other:localhost",
      );
      const room = await makeRoom(fx.url, alice);
      for (const field of ["block", "purge", "force_purge"]) {
        expectMatrixError(
          await fx.as("DELETE", `${ADMIN}/v2/rooms/${encRoom(room)}`, { json: { [field]: "yes" } }),
          400,
          "M_BAD_JSON",
          `Param '${field}' must be a boolean, if given`,
        );
      }
      expectMatrixError(
        await fx.as("DELETE", `${ADMIN}/v2/rooms/${encRoom(room)}`, { json: { new_room_user_id: "@x:elsewhere.org" } }),
        400,
        "M_UNKNOWN",
        "User must be our own: @x:elsewhere.org",
      );
      expectMatrixError(
        await fx.as("DELETE", `${ADMIN}/v2/rooms/nonsense`, { json: {} }),
        400,
        "M_UNKNOWN",
        "nonsense is not a legal room ID",
      );
      expect((await fx.as("DELETE", `${ADMIN}/v2/rooms/${encRoom(room)}`)).status).toBe(400);
      expectMatrixError(
        await fx.as("DELETE", `${ADMIN}/v2/rooms/${encRoom(room)}`, { json: {}, token: alice.token }),
        403,
        "M_FORBIDDEN",
        "You are not a server admin",
      );
      expectMatrixError(
        await fx.as("GET", `${ADMIN}/v2/rooms/delete_status/nope`),
        404,
        "M_NOT_FOUND",
        "delete id 'nope' not found",
      );
      expectMatrixError(
        await fx.as("GET", `${ADMIN}/v2/rooms/${encRoom(room)}/delete_status`),
        404,
        "M_NOT_FOUND",
        `No delete task for room_id '${room}' found`,
      );
      // Nothing was recorded for the refused requests.
      expect((await auditRows(fx.look)).filter((e) => e.target === room)).toEqual([]);
    });
  });
});
