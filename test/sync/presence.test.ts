/**
 * Presence over real HTTP on SQLite and PostgreSQL: set and read, who may see it, `set_presence` on `/sync`, the
 * inactivity transitions on a test clock (online → unavailable after 5 min idle, → offline 30 s after the last
 * sync), `presence.enabled: false`, and a device's first incremental sync answering at once either way.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sweepPresence } from "../../src/sync/presence.js";
import { forEachDatabase } from "../helpers/databases.js";
import type { TestClock, TestServer } from "../helpers/server.js";
import { api, createRoom, ok, registerUser, room, send, text, type ClientUser } from "../rooms/support.js";
import { startClockedServer, Syncer, type EphemeralSync } from "./ephemeral-support.js";

const statusPath = (u: ClientUser) => `/presence/${encodeURIComponent(u.userId)}/status`;
const presenceOf = (r: EphemeralSync, u: ClientUser) => r.presence.events.filter((e) => e.sender === u.userId);

/** Times an incremental sync that would hold for `timeout` ms if it had nothing to say. */
async function timedSync(s: Syncer, timeout: number): Promise<{ ms: number; r: EphemeralSync }> {
  const started = performance.now();
  const r = await s.next(`timeout=${timeout}`);
  return { ms: performance.now() - started, r };
}

forEachDatabase((kind) => {
  describe("presence", () => {
    let server: TestServer;
    let clock: TestClock;
    let alice: ClientUser;
    let bob: ClientUser;
    let carol: ClientUser;

    beforeAll(async () => {
      ({ server, clock } = await startClockedServer(kind));
      alice = await registerUser(server.url, "alice");
      bob = await registerUser(server.url, "bob");
      carol = await registerUser(server.url, "carol");
      const roomId = await createRoom(server.url, alice, { preset: "public_chat" });
      await ok(server.url, bob, "POST", `${room(roomId)}/join`, {});
    }, 60_000);
    afterAll(async () => server.close());

    it("is set by its owner and seen by those who share a room", async () => {
      const bobSync = new Syncer(server.url, bob);
      const carolSync = new Syncer(server.url, carol);
      await bobSync.next("timeout=0&set_presence=offline");
      await carolSync.next("timeout=0&set_presence=offline");
      await ok(server.url, alice, "PUT", statusPath(alice), { presence: "online", status_msg: "coffee" });
      const seen = await ok(server.url, bob, "GET", statusPath(alice));
      expect(seen).toMatchObject({ presence: "online", status_msg: "coffee", currently_active: true });
      expect(seen.last_active_ago).toBeGreaterThanOrEqual(0);
      expect(await ok(server.url, alice, "GET", statusPath(alice))).toMatchObject({ presence: "online" });

      const delta = await bobSync.next("timeout=0&set_presence=offline");
      expect(presenceOf(delta, alice)).toEqual([
        { type: "m.presence", sender: alice.userId, content: expect.objectContaining({ presence: "online" }) },
      ]);
      expect(presenceOf(await carolSync.next("timeout=0&set_presence=offline"), alice)).toEqual([]);
      // An initial sync carries the current presence of those who share a room.
      const initial = await new Syncer(server.url, bob).next("timeout=0&set_presence=offline");
      expect(presenceOf(initial, alice)[0]?.content).toMatchObject({ presence: "online", status_msg: "coffee" });

      const hidden = await api(server.url, carol, "GET", statusPath(alice));
      expect(hidden.status).toBe(403);
      expect(hidden.body).toEqual({ errcode: "M_FORBIDDEN", error: "You are not allowed to see their presence." });
    });

    it("refuses another user's presence and bad bodies", async () => {
      const other = await api(server.url, bob, "PUT", statusPath(alice), { presence: "online" });
      expect(other.status).toBe(403);
      expect(other.body.errcode).toBe("M_FORBIDDEN");
      for (const [body, errcode] of [
        [{}, "M_UNKNOWN"],
        [{ presence: "online", mood: "good" }, "M_UNKNOWN"],
        [{ presence: "online", status_msg: 3 }, "M_UNKNOWN"],
        [{ presence: "busy-ish" }, "M_INVALID_PARAM"],
      ] as const) {
        const r = await api(server.url, bob, "PUT", statusPath(bob), body);
        expect(r.status, JSON.stringify(body)).toBe(400);
        expect(r.body.errcode).toBe(errcode);
      }
      const r = await api(server.url, bob, "GET", "/sync?set_presence=away");
      expect(r.body.errcode).toBe("M_INVALID_PARAM");
    });

    it("goes online with a sync, unavailable after 5 idle minutes, back online on activity, offline after syncs stop", async () => {
      const dave = await registerUser(server.url, "dave");
      const roomId = await createRoom(server.url, dave, { preset: "public_chat" });
      await ok(server.url, bob, "POST", `${room(roomId)}/join`, {});
      const bobSync = new Syncer(server.url, bob);
      await bobSync.next("timeout=0&set_presence=offline");
      const daveSync = new Syncer(server.url, dave);
      await daveSync.next();
      expect(presenceOf(await bobSync.next("timeout=0&set_presence=offline"), dave)[0]?.content).toMatchObject({
        presence: "online",
        currently_active: true,
      });
      // Still syncing every 25 s, but doing nothing else for 5 minutes.
      for (let i = 0; i < 12; i++) {
        clock.advance(25_000);
        await daveSync.next();
      }
      clock.advance(2_000);
      await sweepPresence(server.server.accounts);
      expect(await ok(server.url, bob, "GET", statusPath(dave))).toMatchObject({ presence: "unavailable" });
      expect(presenceOf(await bobSync.next("timeout=0&set_presence=offline"), dave).at(-1)?.content.presence).toBe(
        "unavailable",
      );
      // A sync alone does not bring them back; typing does.
      await daveSync.next();
      expect(await ok(server.url, bob, "GET", statusPath(dave))).toMatchObject({ presence: "unavailable" });
      await ok(server.url, dave, "PUT", `${room(roomId)}/typing/${encodeURIComponent(dave.userId)}`, {
        typing: true,
        timeout: 1000,
      });
      expect(await ok(server.url, bob, "GET", statusPath(dave))).toMatchObject({ presence: "online" });
      // No sync for more than 30 s: offline.
      clock.advance(31_000);
      await sweepPresence(server.server.accounts);
      expect(await ok(server.url, bob, "GET", statusPath(dave))).toEqual(
        expect.objectContaining({ presence: "offline" }),
      );
      expect(presenceOf(await bobSync.next("timeout=0&set_presence=offline"), dave).at(-1)?.content.presence).toBe(
        "offline",
      );
      // Swept once: nothing is left to change.
      expect(await sweepPresence(server.server.accounts)).toBe(0);
    });

    it("set_presence=offline leaves presence alone; unavailable sets it; sending brings the user back", async () => {
      const erin = await registerUser(server.url, "erin");
      const s = new Syncer(server.url, erin);
      await s.next("timeout=0&set_presence=offline");
      expect(await ok(server.url, erin, "GET", statusPath(erin))).toEqual({ presence: "offline" });
      await s.next("timeout=0");
      expect(await ok(server.url, erin, "GET", statusPath(erin))).toMatchObject({ presence: "online" });
      await s.next("timeout=0&set_presence=unavailable");
      expect(await ok(server.url, erin, "GET", statusPath(erin))).toMatchObject({ presence: "unavailable" });
      // Sending a message is activity: online again.
      await send(server.url, erin, await createRoom(server.url, erin, {}), text("back"));
      expect(await ok(server.url, erin, "GET", statusPath(erin))).toMatchObject({ presence: "online" });
    });

    it("answers a device's first incremental sync at once: its own coming online is news", async () => {
      const frank = await registerUser(server.url, "frank");
      const s = new Syncer(server.url, frank);
      await s.next("timeout=0");
      const first = await timedSync(s, 20_000);
      expect(first.ms).toBeLessThan(5_000);
      expect(presenceOf(first.r, frank)[0]?.content.presence).toBe("online");
      // Later ones wait as usual.
      const second = await timedSync(s, 1_500);
      expect(second.ms).toBeGreaterThanOrEqual(1_000);
    });
  });

  describe("presence disabled", () => {
    let server: TestServer;
    let alice: ClientUser;
    let bob: ClientUser;

    beforeAll(async () => {
      ({ server } = await startClockedServer(kind, { presence: { enabled: false } }));
      alice = await registerUser(server.url, "alice");
      bob = await registerUser(server.url, "bob");
      const roomId = await createRoom(server.url, alice, { preset: "public_chat" });
      await ok(server.url, bob, "POST", `${room(roomId)}/join`, {});
    }, 60_000);
    afterAll(async () => server.close());

    it("accepts and ignores PUT, answers offline, and sends no presence", async () => {
      const bobSync = new Syncer(server.url, bob);
      expect((await bobSync.next()).presence.events).toEqual([]);
      await ok(server.url, alice, "PUT", statusPath(alice), { presence: "online", status_msg: "here" });
      expect(await ok(server.url, bob, "GET", statusPath(alice))).toEqual({ presence: "offline" });
      expect(await ok(server.url, bob, "GET", statusPath(bob))).toEqual({ presence: "offline" });
      expect((await bobSync.next()).presence.events).toEqual([]);
      expect(await server.server.accounts.stores.presence.get(alice.userId)).toBeNull();
    });

    it("still answers a device's first incremental sync at once, and only that one", async () => {
      const s = new Syncer(server.url, alice);
      await s.next("timeout=0");
      const first = await timedSync(s, 20_000);
      expect(first.ms).toBeLessThan(5_000);
      const second = await timedSync(s, 1_500);
      expect(second.ms).toBeGreaterThanOrEqual(1_000);
    });
  });
});
