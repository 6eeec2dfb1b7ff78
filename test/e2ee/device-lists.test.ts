/**
 * Device lists over shared rooms, on SQLite and PostgreSQL over real HTTP: who appears in `/sync`'s
 * `device_lists.changed` and `left` and in `/keys/changes` as people join, leave and change devices; whose syncs a
 * device change wakes (those who share a room, not anyone else); which users `/keys/query` answers for; and that a
 * refused key upload stores nothing and records no change.
 */
import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { forEachDatabase } from "../helpers/databases.js";
import type { TestServer } from "../helpers/server.js";
import { deviceKeysFor, elapsedSince, expectError, loginAgain, signedKey } from "../api/sync-support.js";
import { api, createRoom, ok, registerUser, room, startOpenServer, type ClientUser } from "../rooms/support.js";

interface DeviceLists {
  changed: string[];
  left: string[];
}

interface SyncBody {
  next_batch: string;
  device_lists: DeviceLists;
  device_one_time_keys_count: Record<string, number>;
  device_unused_fallback_key_types: string[];
}

interface QueryBody {
  device_keys: Record<string, Record<string, Record<string, unknown>>>;
}

async function syncFrom(base: string, user: ClientUser, query = "timeout=0") {
  const start = performance.now();
  const body = await ok<SyncBody>(base, user, "GET", `/sync?${query}`);
  return { body, ms: elapsedSince(start) };
}

async function tokenOf(base: string, user: ClientUser): Promise<string> {
  return (await syncFrom(base, user)).body.next_batch;
}

/** A token past the device's first incremental sync, which answers at once (src/sync/first-sync.ts). */
async function caughtUp(base: string, user: ClientUser): Promise<string> {
  const first = await tokenOf(base, user);
  return (await syncFrom(base, user, `since=${first}&timeout=0`)).body.next_batch;
}

async function listsSince(base: string, user: ClientUser, since: string): Promise<DeviceLists> {
  return (await syncFrom(base, user, `since=${since}&timeout=0`)).body.device_lists;
}

async function keyChanges(base: string, user: ClientUser, from: string): Promise<DeviceLists> {
  return ok<DeviceLists>(base, user, "GET", `/keys/changes?from=${from}`);
}

async function eventually(check: () => boolean, ms = 10_000): Promise<void> {
  const start = performance.now();
  while (!check()) {
    if (elapsedSince(start) > ms) throw new Error("condition not reached in time");
    await sleep(20);
  }
}

forEachDatabase((kind) => {
  describe("device lists over shared rooms", () => {
    let server: TestServer;
    let alice: ClientUser;
    let bob: ClientUser;
    let carol: ClientUser;
    let roomId: string;
    const listeners = (userId: string) => server.server.accounts.syncNotifier.listenerCount(userId);
    const join = (user: ClientUser, id: string) => ok(server.url, user, "POST", `/join/${encodeURIComponent(id)}`, {});
    const leave = (user: ClientUser, id: string) => ok(server.url, user, "POST", `${room(id)}/leave`, {});
    const invite = (by: ClientUser, id: string, user: ClientUser) =>
      ok(server.url, by, "POST", `${room(id)}/invite`, { user_id: user.userId });
    const query = (by: ClientUser, users: ClientUser[]) =>
      ok<QueryBody>(server.url, by, "POST", "/keys/query", {
        device_keys: Object.fromEntries(users.map((u) => [u.userId, []])),
      });

    beforeAll(async () => {
      server = await startOpenServer(kind);
      alice = await registerUser(server.url, "alice");
      bob = await registerUser(server.url, "bob");
      carol = await registerUser(server.url, "carol");
      roomId = await createRoom(server.url, alice, { preset: "private_chat" });
    });
    afterAll(async () => server.close());

    it("an invite and a join put the newcomer in changed; the joiner gets every member", async () => {
      const a0 = await tokenOf(server.url, alice);
      const b0 = await tokenOf(server.url, bob);
      await invite(alice, roomId, bob);
      expect(await listsSince(server.url, alice, a0)).toEqual({ changed: [bob.userId], left: [] });
      const a1 = await tokenOf(server.url, alice);
      await join(bob, roomId);
      expect(await listsSince(server.url, alice, a1)).toEqual({ changed: [bob.userId], left: [] });
      expect(await listsSince(server.url, bob, b0)).toEqual({ changed: [alice.userId], left: [] });
      expect(await keyChanges(server.url, alice, a0)).toEqual({ changed: [bob.userId], left: [] });
      expect(await keyChanges(server.url, bob, b0)).toEqual({ changed: [alice.userId], left: [] });
    });

    it("Bob's new device wakes Alice's long-poll with Bob in changed; Carol, in no room with him, is not woken", async () => {
      const a = await caughtUp(server.url, alice);
      const c = await caughtUp(server.url, carol);
      const woken: string[] = [];
      const off = server.server.accounts.stores.onSyncChanged((userId) => void woken.push(userId));
      try {
        const forAlice = syncFrom(server.url, alice, `since=${a}&timeout=30000`);
        const forCarol = syncFrom(server.url, carol, `since=${c}&timeout=2500`);
        await eventually(() => listeners(alice.userId) > 0 && listeners(carol.userId) > 0);
        const phone = await loginAgain(server.url, "bob");
        const ra = await forAlice;
        expect(ra.ms).toBeLessThan(20_000);
        expect(ra.body.device_lists).toEqual({ changed: [bob.userId], left: [] });
        const rc = await forCarol;
        expect(rc.ms).toBeGreaterThanOrEqual(2000);
        expect(rc.body.device_lists).toEqual({ changed: [], left: [] });
        expect(woken).toContain(alice.userId);
        expect(woken).toContain(bob.userId);
        expect(woken).not.toContain(carol.userId);
        expect(await keyChanges(server.url, alice, a)).toEqual({ changed: [bob.userId], left: [] });
        expect(await keyChanges(server.url, carol, c)).toEqual({ changed: [], left: [] });

        // A key upload and a rename are changes too; Alice's own new device is one for her.
        const a2 = await tokenOf(server.url, alice);
        await ok(server.url, phone, "POST", "/keys/upload", { device_keys: deviceKeysFor(phone) });
        expect(await listsSince(server.url, alice, a2)).toEqual({ changed: [bob.userId], left: [] });
        const a3 = await tokenOf(server.url, alice);
        await ok(server.url, bob, "PUT", `/devices/${phone.deviceId}`, { display_name: "Bob's phone" });
        expect(await listsSince(server.url, alice, a3)).toEqual({ changed: [bob.userId], left: [] });
        const a4 = await tokenOf(server.url, alice);
        await loginAgain(server.url, "alice");
        expect(await listsSince(server.url, alice, a4)).toEqual({ changed: [alice.userId], left: [] });
        // And a logout.
        const a5 = await tokenOf(server.url, alice);
        await ok(server.url, phone, "POST", "/logout", {});
        expect(await listsSince(server.url, alice, a5)).toEqual({ changed: [bob.userId], left: [] });
      } finally {
        off();
      }
    });

    it("Bob leaving puts him in left only once no room is shared; his device changes then reach Alice no more", async () => {
      const second = await createRoom(server.url, alice, { preset: "private_chat" });
      await invite(alice, second, bob);
      await join(bob, second);
      const a = await tokenOf(server.url, alice);
      const b = await tokenOf(server.url, bob);
      await leave(bob, roomId);
      expect(await listsSince(server.url, alice, a)).toEqual({ changed: [], left: [] });
      await leave(bob, second);
      expect(await listsSince(server.url, alice, a)).toEqual({ changed: [], left: [bob.userId] });
      expect(await listsSince(server.url, bob, b)).toEqual({ changed: [], left: [alice.userId] });
      expect(await keyChanges(server.url, alice, a)).toEqual({ changed: [], left: [bob.userId] });
      expect(await keyChanges(server.url, bob, b)).toEqual({ changed: [], left: [alice.userId] });

      const woken: string[] = [];
      const off = server.server.accounts.stores.onSyncChanged((userId) => void woken.push(userId));
      const a1 = await tokenOf(server.url, alice);
      await loginAgain(server.url, "bob");
      off();
      expect(woken).not.toContain(alice.userId);
      expect(await listsSince(server.url, alice, a1)).toEqual({ changed: [], left: [] });

      await invite(alice, roomId, bob);
      await join(bob, roomId);
      expect(await listsSince(server.url, alice, a1)).toEqual({ changed: [bob.userId], left: [] });
    });

    it("/keys/query answers for the requester and users sharing a room or an invite, and leaves out anyone else", async () => {
      await ok(server.url, bob, "POST", "/keys/upload", { device_keys: deviceKeysFor(bob) });
      await ok(server.url, carol, "POST", "/keys/upload", { device_keys: deviceKeysFor(carol) });
      const dave = await registerUser(server.url, "dave");
      const seen = await query(alice, [alice, bob, carol, dave]);
      expect(Object.keys(seen.device_keys).sort()).toEqual([alice.userId, bob.userId].sort());
      expect(Object.keys(seen.device_keys[bob.userId] ?? {})).toEqual([bob.deviceId]);
      expect(Object.keys((await query(carol, [bob])).device_keys)).toEqual([]);

      // A pending invite is enough, either way; a keyless user then answers {}.
      const third = await createRoom(server.url, alice, { preset: "private_chat" });
      await invite(alice, third, carol);
      await invite(alice, third, dave);
      const now = await query(alice, [carol, dave]);
      expect(Object.keys(now.device_keys[carol.userId] ?? {})).toEqual([carol.deviceId]);
      expect(now.device_keys[dave.userId]).toEqual({});
      expect(Object.keys((await query(carol, [alice])).device_keys)).toEqual([alice.userId]);
      await leave(carol, third);
      expect(Object.keys((await query(alice, [carol])).device_keys)).toEqual([]);
    });

    it("a refused key upload stores nothing and records no change", async () => {
      const laptop = await loginAgain(server.url, "bob");
      await ok(server.url, laptop, "POST", "/keys/upload", {
        device_keys: deviceKeysFor(laptop, "A"),
        one_time_keys: { "signed_curve25519:K1": signedKey(laptop, "one") },
      });
      const a = await tokenOf(server.url, alice);
      const r = await api(server.url, laptop, "POST", "/keys/upload", {
        device_keys: deviceKeysFor(laptop, "B"),
        fallback_keys: { "signed_curve25519:FB": signedKey(laptop, "fallback", true) },
        one_time_keys: {
          "signed_curve25519:K2": signedKey(laptop, "two"),
          "signed_curve25519:K1": signedKey(laptop, "not one"),
        },
      });
      expectError(r, 400, "M_UNKNOWN");
      expect(await listsSince(server.url, alice, a)).toEqual({ changed: [], left: [] });
      const keys = await query(alice, [bob]);
      expect(keys.device_keys[bob.userId]?.[laptop.deviceId]?.keys).toEqual(deviceKeysFor(laptop, "A").keys);
      const s = await syncFrom(server.url, laptop);
      expect(s.body.device_one_time_keys_count).toEqual({ signed_curve25519: 1 });
      expect(s.body.device_unused_fallback_key_types).toEqual([]);
    });

    // Only PostgreSQL refuses a value at the database (a key ID too long for its index; random, so it does not compress): the refusal then comes
    // after some keys were written, which the one transaction must take back.
    it.runIf(kind === "postgres")(
      "an upload the database refuses halfway stores nothing and records no change",
      async () => {
        const tablet = await loginAgain(server.url, "bob");
        await ok(server.url, tablet, "POST", "/keys/upload", { device_keys: deviceKeysFor(tablet, "A") });
        const b = await tokenOf(server.url, bob);
        const r = await api(server.url, tablet, "POST", "/keys/upload", {
          device_keys: deviceKeysFor(tablet, "B"),
          one_time_keys: { "signed_curve25519:OK": signedKey(tablet, "fine") },
          fallback_keys: {
            [`signed_curve25519:${randomBytes(3000).toString("hex")}`]: signedKey(tablet, "too long", true),
          },
        });
        expectError(r, 400, "M_INVALID_PARAM");
        expect(await listsSince(server.url, bob, b)).toEqual({ changed: [], left: [] });
        const keys = await query(bob, [bob]);
        expect(keys.device_keys[bob.userId]?.[tablet.deviceId]?.keys).toEqual(deviceKeysFor(tablet, "A").keys);
        const s = await syncFrom(server.url, tablet);
        expect(s.body.device_one_time_keys_count).toEqual({ signed_curve25519: 0 });
      },
    );
  });
});
