/**
 * Reporting content over real HTTP on SQLite and PostgreSQL: users report events they can see (and rooms they are
 * in); admins list, read and delete the reports through Synapse's `event_reports` API; every refusal.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { forEachDatabase } from "../helpers/databases.js";
import { call } from "../helpers/http.js";
import type { TestServer } from "../helpers/server.js";
import { api, createRoom, ok, registerUser, room, send, startOpenServer, text, type ClientUser } from "./support.js";

const ADMIN = "/_synapse/admin/v1/event_reports";

forEachDatabase((kind) => {
  describe("reporting content", () => {
    let server: TestServer;
    let admin: ClientUser;
    let alice: ClientUser;
    let bob: ClientUser;
    beforeAll(async () => {
      server = await startOpenServer(kind);
      admin = await registerUser(server.url, "admin");
      await server.server.accounts.stores.users.setAdmin(admin.userId, true);
      alice = await registerUser(server.url, "alice");
      bob = await registerUser(server.url, "bob");
    });
    afterAll(async () => server.close());

    it("takes reports of visible events and rooms, and shows them to admins", async () => {
      const roomId = await createRoom(server.url, alice, { preset: "public_chat", name: "Reported" });
      await ok(server.url, bob, "POST", `${room(roomId)}/join`, {});
      const eventId = await send(server.url, alice, roomId, text("rude"));
      await ok(server.url, bob, "POST", `${room(roomId)}/report/${encodeURIComponent(eventId)}`, {
        reason: "rude",
        score: -100,
      });
      await ok(server.url, bob, "POST", `${room(roomId)}/report`, { reason: "the whole room" });

      const list = await call(server.url, "GET", ADMIN, { token: admin.token });
      expect(list.status).toBe(200);
      expect(list.body.total).toBe(2);
      const [newest, oldest] = list.body.event_reports as Record<string, unknown>[];
      expect(newest).toMatchObject({ room_id: roomId, event_id: null, user_id: bob.userId, reason: "the whole room" });
      expect(oldest).toMatchObject({
        room_id: roomId,
        event_id: eventId,
        user_id: bob.userId,
        reason: "rude",
        score: -100,
        sender: alice.userId,
        name: "Reported",
      });
      const one = await call(server.url, "GET", `${ADMIN}/${String(oldest!.id)}`, { token: admin.token });
      expect(one.status).toBe(200);
      expect((one.body.event_json as { content: unknown }).content).toEqual(text("rude"));
      const page = await call(server.url, "GET", `${ADMIN}?limit=1&dir=f`, { token: admin.token });
      expect([(page.body.event_reports as unknown[]).length, page.body.next_token]).toEqual([1, 1]);
      const del = await call(server.url, "DELETE", `${ADMIN}/${String(oldest!.id)}`, { token: admin.token });
      expect(del.status).toBe(200);
      const gone = await call(server.url, "GET", `${ADMIN}/${String(oldest!.id)}`, { token: admin.token });
      expect([gone.status, gone.body.errcode]).toEqual([404, "M_NOT_FOUND"]);
    });

    it("refuses reports of what the reporter cannot see, and non-admins", async () => {
      const secret = await createRoom(server.url, alice, { preset: "private_chat" });
      const hidden = await send(server.url, alice, secret, text("secret"));
      const r = await api(server.url, bob, "POST", `${room(secret)}/report/${encodeURIComponent(hidden)}`, {
        reason: "x",
      });
      expect([r.status, r.body.errcode]).toEqual([404, "M_NOT_FOUND"]);
      const unknown = await api(server.url, bob, "POST", `${room(secret)}/report/$nope`, {});
      expect(unknown.status).toBe(404);
      const badReason = await api(server.url, alice, "POST", `${room(secret)}/report/${encodeURIComponent(hidden)}`, {
        reason: 5,
      });
      expect([badReason.status, badReason.body.errcode]).toEqual([400, "M_BAD_JSON"]);
      const notAdmin = await call(server.url, "GET", ADMIN, { token: bob.token });
      expect(notAdmin.status).toBe(403);
      const badId = await call(server.url, "GET", `${ADMIN}/abc`, { token: admin.token });
      expect([badId.status, badId.body.errcode]).toEqual([400, "M_INVALID_PARAM"]);
    });
  });
});
