/**
 * To-device messages over real HTTP on SQLite and PostgreSQL: `PUT /sendToDevice` and `/sync`'s `to_device`
 * section (delivery to one device and to `*`, order, the limit per response, acknowledgement by the next `since`,
 * redelivery on a repeated `since`, transaction IDs, the long-poll woken, deleted devices' queues, bad input, the
 * cap per device). Every response is checked against the spec's OpenAPI.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { elapsedSince, expectError, loginAgain } from "../api/sync-support.js";
import { forEachDatabase } from "../helpers/databases.js";
import type { TestServer } from "../helpers/server.js";
import { api, ok, registerUser, startOpenServer, type ClientUser } from "../rooms/support.js";
import { MAX_PENDING_PER_DEVICE, TRIMMED_PENDING } from "../../src/sync/to-device-send.js";

interface ToDeviceSync {
  next_batch: string;
  to_device: { events: { sender: string; type: string; content: Record<string, unknown> }[] };
}

let txn = 0;

forEachDatabase((kind) => {
  describe("to-device messages", () => {
    let server: TestServer;
    let alice: ClientUser;
    let bob: ClientUser;
    let carol: ClientUser;
    let dave: ClientUser;

    const sync = (user: ClientUser, query = "") =>
      ok<ToDeviceSync>(server.url, user, "GET", `/sync${query ? `?${query}` : ""}`);
    const put = (from: ClientUser, messages: unknown, type = "org.example.ping", txnId = `t${++txn}`) =>
      api(server.url, from, "PUT", `/sendToDevice/${type}/${txnId}`, { messages });
    const send = async (from: ClientUser, messages: unknown, type = "org.example.ping", txnId?: string) => {
      const r = await put(from, messages, type, txnId);
      expect(r.status, r.text).toBe(200);
      expect(r.body).toEqual({});
    };
    /** Syncs until the device's queue is acknowledged; returns the `since` from which it is empty. */
    const drain = async (user: ClientUser): Promise<string> => {
      let batch = (await sync(user)).next_batch;
      for (;;) {
        const s = await sync(user, `since=${batch}`);
        batch = s.next_batch;
        if (s.to_device.events.length === 0) return batch;
      }
    };
    const queueOf = (user: ClientUser) =>
      server.server.accounts.stores.toDeviceMessages.pending(user.userId, user.deviceId, Number.MAX_SAFE_INTEGER, 1e6);

    beforeAll(async () => {
      server = await startOpenServer(kind);
      alice = await registerUser(server.url, "alice");
      bob = await registerUser(server.url, "bob");
      carol = await registerUser(server.url, "carol");
      dave = await registerUser(server.url, "dave");
    });
    afterAll(async () => server.close());

    it("delivers to the addressed device only, and to every device with *", async () => {
      const bob2 = await loginAgain(server.url, "bob");
      const since1 = await drain(bob);
      const since2 = await drain(bob2);
      await send(alice, { [bob.userId]: { [bob.deviceId]: { n: 1 } } });
      const one = await sync(bob, `since=${since1}`);
      expect(one.to_device.events).toEqual([{ sender: alice.userId, type: "org.example.ping", content: { n: 1 } }]);
      expect((await sync(bob2, `since=${since2}`)).to_device.events).toEqual([]);

      await send(alice, { [bob.userId]: { "*": { n: 2 } } }, "m.room_key_request");
      const all1 = await sync(bob, `since=${one.next_batch}`);
      const all2 = await sync(bob2, `since=${since2}`);
      const expected = [{ sender: alice.userId, type: "m.room_key_request", content: { n: 2 } }];
      expect(all1.to_device.events).toEqual(expected);
      expect(all2.to_device.events).toEqual(expected);
      // Not a wildcard next to other device IDs, as in Synapse: an unknown device ID like any other.
      await send(alice, { [bob.userId]: { "*": { n: 3 }, [bob2.deviceId]: { n: 4 } } });
      expect((await sync(bob, `since=${all1.next_batch}`)).to_device.events).toEqual([]);
      expect((await sync(bob2, `since=${all2.next_batch}`)).to_device.events.map((e) => e.content)).toEqual([{ n: 4 }]);
    });

    it("expands * to the devices the user has at the time of the send", async () => {
      const gina = await registerUser(server.url, "gina");
      await send(alice, { [gina.userId]: { "*": { before: true } } });
      const later = await loginAgain(server.url, "gina");
      await send(alice, { [gina.userId]: { "*": { after: true } } });
      expect((await sync(gina)).to_device.events.map((e) => e.content)).toEqual([{ before: true }, { after: true }]);
      expect((await sync(later)).to_device.events.map((e) => e.content)).toEqual([{ after: true }]);
    });

    it("keeps the order of sends, at most 100 a response, the rest at once on the next sync", async () => {
      const since = await drain(carol);
      for (let n = 0; n < 130; n++) await send(alice, { [carol.userId]: { [carol.deviceId]: { n } } });
      const first = await sync(carol, `since=${since}&timeout=20000`);
      expect(first.to_device.events.map((e) => e.content.n)).toEqual([...Array(100).keys()]);
      const start = performance.now();
      const second = await sync(carol, `since=${first.next_batch}&timeout=20000`);
      expect(elapsedSince(start)).toBeLessThan(10_000);
      expect(second.to_device.events.map((e) => e.content.n)).toEqual([...Array(30).keys()].map((n) => n + 100));
      // The second response was lost: the same since again gets the 30 again, not fewer.
      const retried = await sync(carol, `since=${first.next_batch}`);
      expect(retried.to_device.events).toEqual(second.to_device.events);
      const third = await sync(carol, `since=${second.next_batch}`);
      expect(third.to_device.events).toEqual([]);
    });

    it("redelivers until the next since acknowledges, then deletes", async () => {
      const since = await drain(dave);
      await send(alice, { [dave.userId]: { [dave.deviceId]: { kept: true } } });
      const first = await sync(dave, `since=${since}`);
      expect(first.to_device.events).toHaveLength(1);
      // The response was lost: the client asks again from where it was, and gets the message again.
      const again = await sync(dave, `since=${since}`);
      expect(again.to_device.events).toEqual(first.to_device.events);
      expect(await queueOf(dave)).toHaveLength(1);
      // An initial sync delivers it too (Synapse's initial sync does).
      expect((await sync(dave)).to_device.events).toEqual(first.to_device.events);
      const acked = await sync(dave, `since=${first.next_batch}`);
      expect(acked.to_device.events).toEqual([]);
      expect(await queueOf(dave)).toEqual([]);
    });

    it("sends a transaction ID of a device once", async () => {
      const since = await drain(dave);
      const to = { [dave.userId]: { [dave.deviceId]: { once: 1 } } };
      await send(alice, to, "org.example.ping", "same-txn");
      await send(alice, to, "org.example.ping", "same-txn");
      const alice2 = await loginAgain(server.url, "alice");
      await send(alice2, { [dave.userId]: { [dave.deviceId]: { once: 2 } } }, "org.example.ping", "same-txn");
      const s = await sync(dave, `since=${since}`);
      expect(s.to_device.events.map((e) => e.content)).toEqual([{ once: 1 }, { once: 2 }]);
    });

    it("wakes the recipient's long-poll promptly", async () => {
      const since = await drain(bob);
      const start = performance.now();
      const waiting = sync(bob, `since=${since}&timeout=30000`);
      await new Promise((r) => setTimeout(r, 300));
      await send(alice, { [bob.userId]: { [bob.deviceId]: { wake: true } } });
      const s = await waiting;
      expect(elapsedSince(start)).toBeLessThan(15_000);
      expect(s.to_device.events.map((e) => e.content)).toEqual([{ wake: true }]);
    });

    it("drops the queue of a deleted device", async () => {
      const erin = await registerUser(server.url, "erin");
      const erin2 = await loginAgain(server.url, "erin");
      await send(alice, { [erin.userId]: { "*": { secret: 1 } } });
      expect(await queueOf(erin2)).toHaveLength(1);
      expect((await api(server.url, erin2, "POST", "/logout", {})).status).toBe(200);
      expect(await queueOf(erin2)).toEqual([]);
      expect(await queueOf(erin)).toHaveLength(1);
      // The same device ID logged in again starts empty.
      const r = await api<{ access_token: string; device_id: string }>(server.url, null, "POST", "/login", {
        type: "m.login.password",
        identifier: { type: "m.id.user", user: "erin" },
        password: "correct horse battery",
        device_id: erin2.deviceId,
      });
      expect(r.status, r.text).toBe(200);
      const back = { userId: erin.userId, token: r.body.access_token, deviceId: r.body.device_id };
      expect(back.deviceId).toBe(erin2.deviceId);
      expect((await sync(back)).to_device.events).toEqual([]);
    });

    it("drops unknown devices, unknown users and other servers' users without an error", async () => {
      const since = await drain(bob);
      await send(alice, {
        [bob.userId]: { NOSUCHDEVICE: { a: 1 } },
        "@nobody:localhost": { "*": { a: 2 } },
        "@someone:elsewhere.example": { DEV: { a: 3 } },
      });
      expect((await sync(bob, `since=${since}`)).to_device.events).toEqual([]);
    });

    it("refuses malformed bodies with the spec's errors and stores nothing", async () => {
      const since = await drain(bob);
      const good = { [bob.deviceId]: { fine: true } };
      const missing = await api(server.url, alice, "PUT", "/sendToDevice/org.example.ping/bad1", {});
      expectError(missing, 400, "M_MISSING_PARAM");
      expectError(await put(alice, "not an object", undefined, "bad2"), 400, "M_BAD_JSON");
      expectError(await put(alice, [good], undefined, "bad3"), 400, "M_BAD_JSON");
      expectError(
        await put(alice, { [bob.userId]: good, "not-a-user": good }, undefined, "bad4"),
        400,
        "M_INVALID_PARAM",
      );
      expectError(
        await put(alice, { [bob.userId]: good, "@x:localhost": ["D"] }, undefined, "bad5"),
        400,
        "M_BAD_JSON",
      );
      expectError(await put(alice, { [bob.userId]: { [bob.deviceId]: "text" } }, undefined, "bad6"), 400, "M_BAD_JSON");
      expectError(await put(alice, { [bob.userId]: { "D\u0000": {} } }, undefined, "bad7"), 400, "M_INVALID_PARAM");
      const notJson = await api(server.url, alice, "PUT", "/sendToDevice/org.example.ping/bad8", undefined);
      expectError(notJson, 400, "M_NOT_JSON");
      expect((await sync(bob, `since=${since}`)).to_device.events).toEqual([]);
      expect(await queueOf(bob)).toEqual([]);
      // A refused request did not spend its transaction ID.
      await send(alice, { [bob.userId]: good }, "org.example.ping", "bad4");
      expect((await sync(bob, `since=${since}`)).to_device.events.map((e) => e.content)).toEqual([{ fine: true }]);
    });

    it("holds at most MAX_PENDING_PER_DEVICE messages a device, dropping the oldest down to TRIMMED_PENDING", async () => {
      const frank = await registerUser(server.url, "frank");
      // A device that never syncs, its queue full: filled through the store, as 10,000 requests would take long.
      const stores = server.server.accounts.stores;
      const old = await stores.counters.current("stream");
      await stores.toDeviceMessages.insert(
        old,
        [...Array(MAX_PENDING_PER_DEVICE).keys()].map((seq) => ({
          userId: frank.userId,
          deviceId: frank.deviceId,
          seq,
          sender: alice.userId,
          type: "org.example.old",
          content: JSON.stringify({ seq }),
        })),
      );
      const pendingOf = async (user: ClientUser) =>
        Number(
          (
            await server.server.db.kysely
              .selectFrom("to_device_counts")
              .select("pending")
              .where("user_id", "=", user.userId)
              .where("device_id", "=", user.deviceId)
              .executeTakeFirst()
          )?.pending,
        );
      expect(await pendingOf(frank)).toBe(MAX_PENDING_PER_DEVICE);
      await send(alice, { [frank.userId]: { [frank.deviceId]: { newest: true } } });
      const queue = await queueOf(frank);
      expect(queue).toHaveLength(TRIMMED_PENDING);
      expect(queue[0]!.content).toEqual({ seq: MAX_PENDING_PER_DEVICE + 1 - TRIMMED_PENDING });
      expect(queue.at(-1)!.content).toEqual({ newest: true });
      expect(await pendingOf(frank)).toBe(TRIMMED_PENDING);
      const first = await sync(frank);
      expect(first.to_device.events[0]!.content).toEqual({ seq: MAX_PENDING_PER_DEVICE + 1 - TRIMMED_PENDING });
      expect(first.to_device.events).toHaveLength(100);
      // The acknowledgement deletes; the bound stays above the length until the next count.
      await sync(frank, `since=${first.next_batch}`);
      expect(await queueOf(frank)).toHaveLength(TRIMMED_PENDING - 100);
      expect(await pendingOf(frank)).toBe(TRIMMED_PENDING);
    });
  });
});
