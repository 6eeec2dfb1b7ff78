/**
 * The recent-events cache behind incremental `/sync` (src/sync/recent-events.ts) against writes it does not see
 * made: two servers on one database, as two `--workers` processes are, so every write through the second one is a
 * write by "another process" for the first one's cache. Each case first warms the first server's cache with an
 * incremental sync, then writes through the second, then checks that the first one's next sync tells the truth.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call } from "../helpers/http.js";
import { createTestDatabase, forEachDatabase } from "../helpers/databases.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { createRoom, ok, registerUser, room, send, sync, text, type ClientUser } from "./support.js";

const OPEN = {
  enable_registration: true,
  enable_registration_without_verification: true,
  rc_registration: { per_second: 1000, burst_count: 1000 },
  rc_message: { per_second: 1000, burst_count: 1000 },
  rc_joins: { local: { per_second: 1000, burst_count: 1000 } },
};

forEachDatabase((kind) => {
  describe("incremental /sync with another process writing", () => {
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
    });
    afterAll(async () => {
      await a.close();
      await b.close();
    });

    /** An incremental sync of `user` on server A that returns at once. */
    const syncA = (user: ClientUser, since: string) => sync(a.url, user, `since=${since}&timeout=0`);

    it("sees events written by the other process", async () => {
      const start = (await sync(a.url, bob)).next_batch;
      await syncA(bob, start);
      const id = await send(b.url, alice, roomId, text("from b"));
      const s = await syncA(bob, start);
      expect(s.rooms.join[roomId]?.timeline.events.map((e) => e.event_id)).toEqual([id]);
    });

    it("shows an event redacted by the other process as redacted", async () => {
      const start = (await sync(a.url, bob)).next_batch;
      const id = await send(a.url, alice, roomId, text("secret"));
      const before = await syncA(bob, start);
      expect(before.rooms.join[roomId]?.timeline.events.at(-1)?.content.body).toBe("secret");
      await ok(b.url, alice, "PUT", `${room(roomId)}/redact/${encodeURIComponent(id)}/r1`, {});
      const after = await syncA(bob, start);
      const event = after.rooms.join[roomId]?.timeline.events.find((e) => e.event_id === id);
      expect(event?.content).toEqual({});
      expect(event?.unsigned?.redacted_because).toBeDefined();
    });

    it("follows a membership change made by the other process", async () => {
      const carol = await registerUser(a.url, "carol");
      await ok(a.url, carol, "POST", `${room(roomId)}/join`, {});
      const start = (await sync(a.url, carol)).next_batch;
      await send(a.url, alice, roomId, text("carol sees this"));
      const joined = await syncA(carol, start);
      expect(joined.rooms.join[roomId]?.summary["m.joined_member_count"]).toBe(3);
      await ok(b.url, carol, "POST", `${room(roomId)}/leave`, {});
      const left = await syncA(carol, joined.next_batch);
      expect(Object.keys(left.rooms.leave)).toEqual([roomId]);
      await send(b.url, alice, roomId, text("after carol left"));
      const later = await syncA(carol, left.next_batch);
      expect(later.rooms.join).toEqual({});
      const bobSees = await syncA(bob, joined.next_batch);
      expect(bobSees.rooms.join[roomId]?.summary["m.joined_member_count"]).toBe(2);
    });

    it("reports account data the other process wrote between two events", async () => {
      const start = (await sync(a.url, bob)).next_batch;
      await send(a.url, alice, roomId, text("one"));
      await syncA(bob, start);
      const r = await call(
        b.url,
        "PUT",
        `/_matrix/client/v3/user/${encodeURIComponent(bob.userId)}/account_data/org.example.cache`,
        { token: bob.token, json: { n: 1 } },
      );
      expect(r.status, r.text).toBe(200);
      await send(a.url, alice, roomId, text("two"));
      const s = await sync(a.url, bob, `since=${start}&timeout=0`);
      const body = s as unknown as { account_data: { events: { type: string }[] } };
      expect(body.account_data.events.map((e) => e.type)).toEqual(["org.example.cache"]);
    });
  });
});
