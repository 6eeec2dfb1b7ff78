/**
 * Room membership over real HTTP on SQLite and PostgreSQL: who may join, invite, kick, ban and unban under the
 * authorization rules; what each refusal says; that a refused event leaves nothing behind; profile changes re-sent
 * as member events; deactivation leaving every room; forget.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { forEachDatabase } from "../helpers/databases.js";
import type { TestServer } from "../helpers/server.js";
import {
  api,
  createRoom,
  ok,
  registerUser,
  room,
  send,
  startOpenServer,
  sync,
  text,
  type ClientUser,
} from "./support.js";

interface MemberEvent {
  state_key: string;
  content: { membership: string; displayname?: string };
}

async function membership(base: string, user: ClientUser, roomId: string, of: ClientUser): Promise<string | null> {
  const r = await api<{ membership?: string }>(
    base,
    user,
    "GET",
    `${room(roomId)}/state/m.room.member/${encodeURIComponent(of.userId)}`,
  );
  return r.status === 200 ? (r.body.membership ?? null) : null;
}

forEachDatabase((kind) => {
  describe("room membership", () => {
    let server: TestServer;
    let alice: ClientUser;
    let bob: ClientUser;
    let carol: ClientUser;
    beforeAll(async () => {
      server = await startOpenServer(kind);
      alice = await registerUser(server.url, "alice");
      bob = await registerUser(server.url, "bob");
      carol = await registerUser(server.url, "carol");
    });
    afterAll(async () => server.close());

    it("lets anyone join a public room, and only the invited join a private one", async () => {
      const pub = await createRoom(server.url, alice, { preset: "public_chat" });
      expect(await ok(server.url, bob, "POST", `${room(pub)}/join`, {})).toEqual({ room_id: pub });
      // Joining again changes nothing and succeeds.
      const before = await sync(server.url, alice);
      await ok(server.url, bob, "POST", `${room(pub)}/join`, {});
      const after = await sync(server.url, alice, `since=${before.next_batch}`);
      expect(after.rooms.join).toEqual({});

      const priv = await createRoom(server.url, alice, { preset: "private_chat" });
      const refused = await api(server.url, bob, "POST", `/join/${encodeURIComponent(priv)}`, {});
      expect([refused.status, refused.body.errcode, refused.body.error]).toEqual([
        403,
        "M_FORBIDDEN",
        "You are not invited to this room",
      ]);
      // The refusal left no event: bob's sync shows nothing of the room, and its state has no member event for him.
      expect(await membership(server.url, alice, priv, bob)).toBeNull();
      await ok(server.url, alice, "POST", `${room(priv)}/invite`, { user_id: bob.userId });
      expect(await membership(server.url, alice, priv, bob)).toBe("invite");
      await ok(server.url, bob, "POST", `/join/${encodeURIComponent(priv)}`, {});
      expect(await membership(server.url, alice, priv, bob)).toBe("join");
      const joined = await ok<{ joined_rooms: string[] }>(server.url, bob, "GET", "/joined_rooms");
      expect(joined.joined_rooms.sort()).toEqual([pub, priv].sort());
    });

    it("applies the power levels to invites, kicks and bans, with the rule's reason", async () => {
      const r = await createRoom(server.url, alice, { preset: "public_chat" });
      await ok(server.url, bob, "POST", `${room(r)}/join`, {});
      await ok(server.url, carol, "POST", `${room(r)}/join`, {});
      const kick = await api(server.url, bob, "POST", `${room(r)}/kick`, { user_id: carol.userId });
      expect([kick.status, kick.body.errcode]).toEqual([403, "M_FORBIDDEN"]);
      expect(kick.body.error).toMatch(/permission to kick/);
      await ok(server.url, alice, "POST", `${room(r)}/kick`, { user_id: carol.userId, reason: "spam" });
      expect(await membership(server.url, alice, r, carol)).toBe("leave");
      await ok(server.url, alice, "POST", `${room(r)}/ban`, { user_id: carol.userId });
      const banned = await api(server.url, carol, "POST", `${room(r)}/join`, {});
      expect([banned.status, banned.body.error]).toEqual([403, "You are banned from this room"]);
      const notBanned = await api(server.url, alice, "POST", `${room(r)}/unban`, { user_id: bob.userId });
      expect(notBanned.status).toBe(403);
      await ok(server.url, alice, "POST", `${room(r)}/unban`, { user_id: carol.userId });
      await ok(server.url, carol, "POST", `${room(r)}/join`, {});
      const missing = await api(server.url, alice, "POST", `${room(r)}/invite`, {});
      expect([missing.status, missing.body.errcode]).toEqual([400, "M_MISSING_PARAM"]);
      const bad = await api(server.url, alice, "POST", `${room(r)}/invite`, { user_id: "bob" });
      expect([bad.status, bad.body.errcode]).toEqual([400, "M_INVALID_PARAM"]);
    });

    it("refuses state a sender has no power for, and sends nothing", async () => {
      const r = await createRoom(server.url, alice, { preset: "public_chat", name: "Before" });
      await ok(server.url, bob, "POST", `${room(r)}/join`, {});
      const s0 = await sync(server.url, alice);
      const refused = await api(server.url, bob, "PUT", `${room(r)}/state/m.room.name/`, { name: "After" });
      expect([refused.status, refused.body.errcode]).toEqual([403, "M_FORBIDDEN"]);
      expect(await ok(server.url, alice, "GET", `${room(r)}/state/m.room.name/`)).toEqual({ name: "Before" });
      const s1 = await sync(server.url, alice, `since=${s0.next_batch}`);
      expect(s1.rooms.join).toEqual({});
      expect(s1.next_batch).toBe(s0.next_batch);
    });

    it("re-sends the member event in every joined room when the display name changes", async () => {
      const dave = await registerUser(server.url, "dave");
      const r1 = await createRoom(server.url, dave);
      const r2 = await createRoom(server.url, dave);
      await ok(server.url, dave, "PUT", `/profile/${encodeURIComponent(dave.userId)}/displayname`, {
        displayname: "Dave D",
      });
      for (const r of [r1, r2]) {
        const m = await ok<MemberEvent["content"]>(
          server.url,
          dave,
          "GET",
          `${room(r)}/state/m.room.member/${encodeURIComponent(dave.userId)}`,
        );
        expect(m).toEqual({ membership: "join", displayname: "Dave D" });
      }
    });

    it("makes a deactivated user leave every room and reject every invite", async () => {
      const erin = await registerUser(server.url, "erin");
      const joined = await createRoom(server.url, erin, { preset: "public_chat" });
      await ok(server.url, alice, "POST", `${room(joined)}/join`, {});
      const invitedTo = await createRoom(server.url, alice, { invite: [erin.userId] });
      await ok(server.url, erin, "POST", "/account/deactivate", {
        auth: {
          type: "m.login.password",
          identifier: { type: "m.id.user", user: "erin" },
          password: "correct horse battery",
        },
      });
      expect(await membership(server.url, alice, joined, erin)).toBe("leave");
      expect(await membership(server.url, alice, invitedTo, erin)).toBe("leave");
    });

    it("forgets a room only after leaving it, and a left room shows up once", async () => {
      const r = await createRoom(server.url, alice, { preset: "public_chat" });
      await ok(server.url, bob, "POST", `${room(r)}/join`, {});
      const still = await api(server.url, bob, "POST", `${room(r)}/forget`, {});
      expect(still.status).toBe(400);
      const s0 = await sync(server.url, bob);
      await ok(server.url, bob, "POST", `${room(r)}/leave`, {});
      await send(server.url, alice, r, text("after bob left"));
      const s1 = await sync(server.url, bob, `since=${s0.next_batch}`);
      expect(Object.keys(s1.rooms.leave)).toEqual([r]);
      const left = s1.rooms.leave[r]!;
      expect(left.timeline.events.at(-1)?.content.membership).toBe("leave");
      expect(left.timeline.events.some((e) => e.content.body === "after bob left")).toBe(false);
      const s2 = await sync(server.url, bob, `since=${s1.next_batch}`);
      expect(s2.rooms.leave).toEqual({});
      const withLeave = await sync(server.url, bob, `filter=${encodeURIComponent('{"room":{"include_leave":true}}')}`);
      expect(Object.keys(withLeave.rooms.leave)).toContain(r);
      await ok(server.url, bob, "POST", `${room(r)}/forget`, {});
      const forgotten = await sync(server.url, bob, `filter=${encodeURIComponent('{"room":{"include_leave":true}}')}`);
      expect(Object.keys(forgotten.rooms.leave)).not.toContain(r);
    });
  });
});
