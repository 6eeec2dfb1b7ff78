/**
 * make_room_admin and the admin force-join on SQLite and PostgreSQL: the power level given by the room's own most
 * powerful local member, the invite into a private room, the refusals in Synapse's words, the audit entries.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectMatrixError } from "../api/support.js";
import { forEachDatabase } from "../helpers/databases.js";
import { ADMIN, auditRows, closeAdminFixture, startAdminFixture, type AdminFixture } from "./support.js";
import { clientCall, encRoom, makeRoom, type Member } from "./rooms-support.js";
import { ROOM_ADMIN_CONFIG } from "./rooms-support.js";

forEachDatabase((kind) => {
  let fx: AdminFixture;
  let alice: Member;
  let bob: Member;
  beforeAll(async () => {
    fx = await startAdminFixture(kind, ROOM_ADMIN_CONFIG);
    alice = await fx.user("alice");
    bob = await fx.user("bob");
  });
  afterAll(() => closeAdminFixture(fx));

  const powerOf = async (roomId: string) => {
    const state = (await fx.as("GET", `${ADMIN}/v1/rooms/${encRoom(roomId)}/state?type=m.room.power_levels`)).body
      .state as { sender: string; content: { users: Record<string, number> } }[];
    return state[0]!;
  };
  const membership = async (roomId: string, userId: string) =>
    (
      await fx.look.kysely
        .selectFrom("room_memberships")
        .select("membership")
        .where("room_id", "=", roomId)
        .where("user_id", "=", userId)
        .executeTakeFirst()
    )?.membership;

  describe("POST /_synapse/admin/v1/rooms/{roomIdOrAlias}/make_room_admin", () => {
    it("gives the admin the creator's level, sent by the creator, and invites them into a private room", async () => {
      const room = await makeRoom(fx.url, alice, { name: "private", room_alias_name: "priv" });
      const r = await fx.as("POST", `${ADMIN}/v1/rooms/${encodeURIComponent("#priv:localhost")}/make_room_admin`);
      expect(r.status, r.text).toBe(200);
      expect(r.body).toEqual({});
      const pl = await powerOf(room);
      expect(pl.sender).toBe(alice.userId);
      expect(pl.content.users[fx.admin.userId]).toBe(100);
      expect(await membership(room, fx.admin.userId)).toBe("invite");
      const audit = (await auditRows(fx.look)).filter((e) => e.target === room);
      expect(audit.map((e) => [e.action, e.after])).toEqual([
        [
          "room.make_room_admin",
          { user_id: fx.admin.userId, power_level: 100, granted_by: alice.userId, invited: true },
        ],
      ]);
    });

    it("promotes another user; no invite into a public room", async () => {
      const room = await makeRoom(fx.url, alice, { preset: "public_chat" });
      const r = await fx.as("POST", `${ADMIN}/v1/rooms/${encRoom(room)}/make_room_admin`, {
        json: { user_id: bob.userId },
      });
      expect(r.status, r.text).toBe(200);
      expect((await powerOf(room)).content.users[bob.userId]).toBe(100);
      expect(await membership(room, bob.userId)).toBeUndefined();
    });

    it("refuses when no joined local user has power", async () => {
      const room = await makeRoom(fx.url, alice, { preset: "public_chat" });
      await clientCall(fx.url, alice, "POST", `/rooms/${encRoom(room)}/leave`, {});
      expectMatrixError(
        await fx.as("POST", `${ADMIN}/v1/rooms/${encRoom(room)}/make_room_admin`),
        400,
        "M_UNKNOWN",
        "No local admin user in room",
      );
      expectMatrixError(
        await fx.as("POST", `${ADMIN}/v1/rooms/${encRoom("!none:localhost")}/make_room_admin`),
        400,
        "M_UNKNOWN",
        "Server not in room",
      );
      expect(
        (await fx.as("POST", `${ADMIN}/v1/rooms/${encRoom(room)}/make_room_admin`, { token: bob.token })).status,
      ).toBe(403);
    });
  });

  describe("POST /_synapse/admin/v1/join/{roomIdOrAlias}", () => {
    it("joins a local user into a public room", async () => {
      const room = await makeRoom(fx.url, alice, { preset: "public_chat", room_alias_name: "pub" });
      const r = await fx.as("POST", `${ADMIN}/v1/join/${encodeURIComponent("#pub:localhost")}`, {
        json: { user_id: bob.userId },
      });
      expect(r.status, r.text).toBe(200);
      expect(r.body).toEqual({ room_id: room });
      expect(await membership(room, bob.userId)).toBe("join");
      const audit = (await auditRows(fx.look)).filter((e) => e.action === "room.join");
      expect(audit.at(-1)).toMatchObject({ target: bob.userId, after: { room_id: room, membership: "join" } });
    });

    it("into a private room only once the admin is in it with invite power", async () => {
      const room = await makeRoom(fx.url, alice, {});
      const join = () => fx.as("POST", `${ADMIN}/v1/join/${encRoom(room)}`, { json: { user_id: bob.userId } });
      const refused = await join();
      expect(refused.status).toBe(403);
      expect(await membership(room, bob.userId)).toBeUndefined();
      await fx.as("POST", `${ADMIN}/v1/rooms/${encRoom(room)}/make_room_admin`);
      await clientCall(fx.url, fx.admin, "POST", `/join/${encRoom(room)}`, {});
      const r = await join();
      expect(r.status, r.text).toBe(200);
      expect(await membership(room, bob.userId)).toBe("join");
    });

    it("refuses bad users and blocked rooms", async () => {
      const room = await makeRoom(fx.url, alice, { preset: "public_chat" });
      const path = `${ADMIN}/v1/join/${encRoom(room)}`;
      expectMatrixError(await fx.as("POST", path, { json: {} }), 400, "M_MISSING_PARAM", "Missing params: ['user_id']");
      expectMatrixError(
        await fx.as("POST", path, { json: { user_id: "@x:elsewhere.org" } }),
        400,
        "M_UNKNOWN",
        "This endpoint can only be used with local users",
      );
      expectMatrixError(
        await fx.as("POST", path, { json: { user_id: "@ghost:localhost" } }),
        404,
        "M_NOT_FOUND",
        "User not found",
      );
      await fx.as("PUT", `${ADMIN}/v1/rooms/${encRoom(room)}/block`, { json: { block: true } });
      expectMatrixError(
        await fx.as("POST", path, { json: { user_id: bob.userId } }),
        403,
        "M_FORBIDDEN",
        "This room has been blocked on this server",
      );
    });
  });
});
