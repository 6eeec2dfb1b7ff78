/**
 * What a woken `/sync` no longer reads from the database, against writes it does not see made: two servers on one
 * database, as two `--workers` processes are, so every write through B is another process's for A. Each case warms
 * A's memory with syncs first, then writes through B, then checks that A's next sync tells the truth:
 *
 * - unread counts carried forward over new events (src/sync/unread-memo.ts): a receipt, an own message and a
 *   redaction written by B;
 * - the to-device queue not read when nothing but events happened (src/sync/to-device.ts): a message sent through
 *   B, and a repeated `since` after a lost response;
 * - the presence touch of a sync not read when nothing but events happened (src/sync/presence.ts): presence set
 *   through B;
 * - the device's key counts remembered over stretches of only events (src/sync/key-counts.ts): keys uploaded and
 *   claimed through B.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, forEachDatabase } from "../helpers/databases.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { createRoom, ok, registerUser, room, send, text, type ClientUser } from "../rooms/support.js";

const OPEN = {
  enable_registration: true,
  enable_registration_without_verification: true,
  rc_registration: { per_second: 1000, burst_count: 1000 },
  rc_message: { per_second: 1000, burst_count: 1000 },
  rc_joins: { local: { per_second: 1000, burst_count: 1000 } },
};

interface WakeSync {
  next_batch: string;
  rooms: { join: Record<string, { unread_notifications: { notification_count: number } }> };
  to_device: { events: { type: string; content: Record<string, unknown> }[] };
  presence: { events: { sender: string; content: { presence: string } }[] };
  device_one_time_keys_count: Record<string, number>;
  device_unused_fallback_key_types: string[];
}

forEachDatabase((kind) => {
  describe("a woken /sync's memory, with another process writing", () => {
    let a: TestServer;
    let b: TestServer;
    let alice: ClientUser;
    let bob: ClientUser;
    let roomId: string;
    beforeAll(async () => {
      const db = await createTestDatabase(kind);
      a = await startTestServer(db, OPEN);
      b = await startTestServer(db, OPEN);
      alice = await registerUser(a.url, "alice");
      bob = await registerUser(a.url, "bob");
      roomId = await createRoom(a.url, alice, { preset: "public_chat" });
      await ok(a.url, bob, "POST", `${room(roomId)}/join`, {});
    }, 60_000);
    afterAll(async () => {
      await a.close();
      await b.close();
    });

    const syncA = (user: ClientUser, query: string) => ok<WakeSync>(a.url, user, "GET", `/sync?${query}`);
    /** Bob's unread count in the room by an incremental sync on A from `since`, and the next `since`. */
    const bobCount = async (since: string) => {
      const s = await syncA(bob, `since=${since}&timeout=0`);
      return { count: s.rooms.join[roomId]?.unread_notifications.notification_count, since: s.next_batch };
    };

    it("carries unread counts forward, and follows a receipt, an own message and a redaction written by B", async () => {
      let since = (await syncA(bob, "timeout=0")).next_batch;
      const m1 = await send(a.url, alice, roomId, text("one"));
      let r = await bobCount(since);
      const base = r.count as number;
      since = r.since;
      await send(a.url, alice, roomId, text("two"));
      r = await bobCount(since);
      expect(r.count).toBe(base + 1);
      since = r.since;

      // A receipt through B reads everything so far; the next message is the only unread one.
      await ok(b.url, bob, "POST", `${room(roomId)}/receipt/m.read/${encodeURIComponent(m1)}`, {});
      const m3 = await send(a.url, alice, roomId, text("three"));
      await ok(b.url, bob, "POST", `${room(roomId)}/receipt/m.read/${encodeURIComponent(m3)}`, {});
      await send(a.url, alice, roomId, text("four"));
      r = await bobCount(since);
      expect(r.count).toBe(1);
      since = r.since;

      // A redaction through B: "five" no longer counts, "six" does.
      const m5 = await send(a.url, alice, roomId, text("five"));
      r = await bobCount(since);
      expect(r.count).toBe(2);
      since = r.since;
      await ok(b.url, alice, "PUT", `${room(roomId)}/redact/${encodeURIComponent(m5)}/w1`, {});
      await send(a.url, alice, roomId, text("six"));
      r = await bobCount(since);
      expect(r.count).toBe(2);
      since = r.since;

      // Bob's own message through B: he has read everything before it.
      await send(b.url, bob, roomId, text("bob"));
      await send(a.url, alice, roomId, text("seven"));
      r = await bobCount(since);
      expect(r.count).toBe(1);
    });

    it("reads the key counts again after keys uploaded, a key claimed and a fallback key taken through B", async () => {
      const keysOf = (s: WakeSync) => [s.device_one_time_keys_count.org_example, s.device_unused_fallback_key_types];
      const start = (await syncA(bob, "timeout=0")).next_batch;
      await send(a.url, alice, roomId, text("keys"));
      // Two syncs with only events between: the second is answered from memory.
      const warm = await syncA(bob, `since=${start}&timeout=0`);
      await send(a.url, alice, roomId, text("keys again"));
      let last = await syncA(bob, `since=${warm.next_batch}&timeout=0`);
      expect(keysOf(last)).toEqual([undefined, []]);
      const next = async (what: string) => {
        await send(a.url, alice, roomId, text(what));
        last = await syncA(bob, `since=${last.next_batch}&timeout=0`);
        return keysOf(last);
      };

      await ok(b.url, bob, "POST", "/keys/upload", {
        one_time_keys: { "org_example:k1": "one", "org_example:k2": "two" },
        fallback_keys: { "org_example:f1": "fallback" },
      });
      expect(await next("after the upload")).toEqual([2, ["org_example"]]);
      expect(await next("nothing new")).toEqual([2, ["org_example"]]);

      const claim = { one_time_keys: { [bob.userId]: { [bob.deviceId]: "org_example" } } };
      await ok(b.url, alice, "POST", "/keys/claim", claim);
      expect(await next("after a claim")).toEqual([1, ["org_example"]]);
      await ok(b.url, alice, "POST", "/keys/claim", claim);
      await ok(b.url, alice, "POST", "/keys/claim", claim);
      // The one-time keys are gone, then the fallback key was handed out: used, so no longer unused.
      expect(await next("after two more")).toEqual([undefined, []]);
    });

    it("reads the to-device queue again after a message sent through B, and sends it once", async () => {
      const start = (await syncA(bob, "timeout=0")).next_batch;
      await send(a.url, alice, roomId, text("warm"));
      // Two syncs with only events between: the second is answered from memory.
      const warm = await syncA(bob, `since=${start}&timeout=0`);
      await send(a.url, alice, roomId, text("warm again"));
      const warmer = await syncA(bob, `since=${warm.next_batch}&timeout=0`);
      expect(warmer.to_device.events).toEqual([]);

      const messages = { [bob.userId]: { [bob.deviceId]: { n: 1 } } };
      await ok(b.url, alice, "PUT", "/sendToDevice/org.example.ping/w1", { messages });
      await send(a.url, alice, roomId, text("after the to-device message"));
      const got = await syncA(bob, `since=${warmer.next_batch}&timeout=0`);
      expect(got.to_device.events).toEqual([expect.objectContaining({ type: "org.example.ping", content: { n: 1 } })]);

      // The response that carried it was lost: the same `since` gets it again.
      await send(a.url, alice, roomId, text("later"));
      const again = await syncA(bob, `since=${warmer.next_batch}&timeout=0`);
      expect(again.to_device.events).toEqual([expect.objectContaining({ content: { n: 1 } })]);
      // Once a later `since` acknowledged it, it is not sent again.
      const next = await syncA(bob, `since=${again.next_batch}&timeout=0`);
      expect(next.to_device.events).toEqual([]);
      await send(a.url, alice, roomId, text("later still"));
      expect((await syncA(bob, `since=${next.next_batch}&timeout=0`)).to_device.events).toEqual([]);
    });

    it("brings a user back online after presence was set offline through B", async () => {
      const status = `/presence/${encodeURIComponent(bob.userId)}/status`;
      let since = (await syncA(bob, "timeout=0&set_presence=online")).next_batch;
      for (const body of ["warm", "warm again"]) {
        await send(a.url, alice, roomId, text(body));
        since = (await syncA(bob, `since=${since}&timeout=0&set_presence=online`)).next_batch;
      }
      expect((await ok<{ presence: string }>(a.url, alice, "GET", status)).presence).toBe("online");
      await ok(b.url, bob, "PUT", status, { presence: "offline" });
      expect((await ok<{ presence: string }>(a.url, alice, "GET", status)).presence).toBe("offline");
      await send(a.url, alice, roomId, text("after"));
      await syncA(bob, `since=${since}&timeout=0&set_presence=online`);
      expect((await ok<{ presence: string }>(a.url, alice, "GET", status)).presence).toBe("online");
    });
  });
});
