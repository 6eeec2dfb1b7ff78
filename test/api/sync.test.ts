/**
 * `GET /sync` and filters over real HTTP on SQLite and PostgreSQL: the response shape (checked against the spec's
 * OpenAPI schema), account data and device-list deltas, filters, the long-poll (it holds, it wakes early, it lets
 * go of a client that disconnected, it ends when the server stops), and every malformed parameter.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deviceListChanged } from "../../src/keys/device-lists.js";
import { forEachDatabase } from "../helpers/databases.js";
import { call } from "../helpers/http.js";
import { expectSpecResponse } from "../helpers/openapi.js";
import type { TestServer } from "../helpers/server.js";
import { sleep } from "../helpers/cli-tools.js";
import {
  deviceKeysFor,
  elapsedSince,
  expectError,
  loginAgain,
  registerGuest,
  registerUser,
  signedKey,
  startOpenServer,
  type ClientUser,
} from "./sync-support.js";

const VERSIONS = ["r0", "v3", "unstable"] as const;

interface SyncBody {
  next_batch: string;
  rooms: Record<string, unknown>;
  presence: { events: { sender: string }[] };
  account_data: { events: { type: string; content: Record<string, unknown> }[] };
  to_device: { events: unknown[] };
  device_lists: { changed: string[]; left: string[] };
  device_one_time_keys_count: Record<string, number>;
  device_unused_fallback_key_types: string[];
}

/** A /sync with the query given, its body checked against the spec; `ms` is how long the server took to answer. */
async function syncOnce(base: string, user: ClientUser, query = "", version = "v3") {
  const path = `/_matrix/client/${version}/sync${query ? `?${query}` : ""}`;
  const start = performance.now();
  const r = await call<SyncBody>(base, "GET", path, { token: user.token });
  const ms = elapsedSince(start);
  await expectSpecResponse("GET", path, r.status, r.body);
  return { ...r, ms };
}

const types = (body: SyncBody) => body.account_data.events.map((e) => e.type);

async function putAccountData(base: string, user: ClientUser, type: string, content: unknown) {
  const r = await call(base, "PUT", `/_matrix/client/v3/user/${encodeURIComponent(user.userId)}/account_data/${type}`, {
    token: user.token,
    json: content,
  });
  expect(r.status, r.text).toBe(200);
}

/** Polls `check` until it holds or `ms` pass. */
async function eventually(check: () => boolean, ms = 3000): Promise<void> {
  const start = performance.now();
  while (!check()) {
    if (elapsedSince(start) > ms) throw new Error("condition not reached in time");
    await sleep(20);
  }
}

forEachDatabase((kind) => {
  let server: TestServer;
  /** Waiting `/sync` subscriptions on this server (of one user, or of everyone). */
  const syncListenerCount = (userId?: string) => server.server.accounts.syncNotifier.listenerCount(userId);
  let alice: ClientUser;
  let bob: ClientUser;

  beforeAll(async () => {
    server = await startOpenServer(kind);
    alice = await registerUser(server.url, "alice");
    bob = await registerUser(server.url, "bob");
  });
  afterAll(() => server.close());

  describe("initial sync", () => {
    it.each(VERSIONS)("answers at once with every section, under %s", async (v) => {
      const r = await syncOnce(server.url, alice, "timeout=20000", v);
      expect(r.ms).toBeLessThan(2000);
      expect(r.status, r.text).toBe(200);
      expect(r.body.next_batch).toMatch(/^s\d+$/);
      expect(r.body.rooms).toEqual({ join: {}, invite: {}, leave: {}, knock: {} });
      // Alice shares no room: the only presence she may see is her own (online since her first sync).
      expect(r.body.presence.events.every((e) => e.sender === alice.userId)).toBe(true);
      expect(r.body.to_device).toEqual({ events: [] });
      expect(r.body.device_lists).toEqual({ changed: [], left: [] });
      expect(r.body.device_one_time_keys_count).toEqual({ signed_curve25519: 0 });
      expect(r.body.device_unused_fallback_key_types).toEqual([]);
      // The push rules come as account data, as from Synapse: clients read them from here.
      const pushRules = r.body.account_data.events.find((e) => e.type === "m.push_rules");
      expect(Object.keys(pushRules?.content.global as object).sort()).toEqual([
        "content",
        "override",
        "room",
        "sender",
        "underride",
      ]);
    });

    it("carries all of the user's account data, and none of anyone else's", async () => {
      await putAccountData(server.url, alice, "org.example.one", { n: 1 });
      await putAccountData(server.url, alice, "org.example.two", { n: 2 });
      await putAccountData(server.url, bob, "org.example.bobs", { secret: true });
      const r = await syncOnce(server.url, alice);
      expect(r.body.account_data.events).toEqual(
        expect.arrayContaining([
          { type: "org.example.one", content: { n: 1 } },
          { type: "org.example.two", content: { n: 2 } },
        ]),
      );
      expect(types(r.body)).not.toContain("org.example.bobs");
    });

    it("is not a long-poll: timeout is ignored without since", async () => {
      const r = await syncOnce(server.url, bob, "timeout=5000");
      expect(r.status).toBe(200);
      expect(r.ms).toBeLessThan(2000);
    });
  });

  describe("incremental sync", () => {
    it("sends only the account data written since the token", async () => {
      const first = await syncOnce(server.url, alice);
      await putAccountData(server.url, alice, "org.example.one", { n: 11 });
      const second = await syncOnce(server.url, alice, `since=${first.body.next_batch}`);
      expect(second.status, second.text).toBe(200);
      expect(second.body.account_data.events).toEqual([{ type: "org.example.one", content: { n: 11 } }]);
      expect(second.body.next_batch).not.toBe(first.body.next_batch);
      const third = await syncOnce(server.url, alice, `since=${second.body.next_batch}`);
      expect(third.body.account_data.events).toEqual([]);
      expect(third.body.next_batch).toBe(second.body.next_batch);
    });

    it("full_state=true sends everything again, at once", async () => {
      const first = await syncOnce(server.url, alice);
      const r = await syncOnce(server.url, alice, `since=${first.body.next_batch}&full_state=true&timeout=10000`);
      expect(r.ms).toBeLessThan(2000);
      expect(types(r.body)).toEqual(expect.arrayContaining(["m.push_rules", "org.example.one", "org.example.two"]));
    });

    it("reports the user's own device changes in device_lists.changed", async () => {
      const before = await syncOnce(server.url, alice);
      const laptop = await loginAgain(server.url, "alice");
      const up = await call(server.url, "POST", "/_matrix/client/v3/keys/upload", {
        token: laptop.token,
        json: { device_keys: deviceKeysFor(laptop) },
      });
      expect(up.status, up.text).toBe(200);
      const r = await syncOnce(server.url, alice, `since=${before.body.next_batch}`);
      expect(r.body.device_lists).toEqual({ changed: [alice.userId], left: [] });
      // Bob shares nothing with Alice: her devices are none of his business.
      const bobs = await syncOnce(server.url, bob, `since=${before.body.next_batch}`);
      expect(bobs.body.device_lists.changed).toEqual([]);
    });

    it("counts the requesting device's one-time keys and unused fallback key types", async () => {
      const phone = await loginAgain(server.url, "alice");
      const up = await call(server.url, "POST", "/_matrix/client/v3/keys/upload", {
        token: phone.token,
        json: {
          one_time_keys: {
            "signed_curve25519:AAAAAQ": signedKey(phone, "k1"),
            "signed_curve25519:AAAAAg": signedKey(phone, "k2"),
          },
          fallback_keys: { "signed_curve25519:AAAAAw": signedKey(phone, "fb", true) },
        },
      });
      expect(up.status, up.text).toBe(200);
      const r = await syncOnce(server.url, phone);
      expect(r.body.device_one_time_keys_count).toEqual({ signed_curve25519: 2 });
      expect(r.body.device_unused_fallback_key_types).toEqual(["signed_curve25519"]);
      // Another device of the same user has its own (empty) counts.
      const other = await syncOnce(server.url, alice);
      expect(other.body.device_one_time_keys_count).toEqual({ signed_curve25519: 0 });
    });

    it("a token from the future (a restored database) resumes from now", async () => {
      const r = await syncOnce(server.url, alice, "since=s999999999");
      expect(r.status, r.text).toBe(200);
      const next = Number(r.body.next_batch.slice(1));
      expect(next).toBeLessThan(999999999);
    });
  });

  describe("filters", () => {
    it.each(VERSIONS)("uploads and downloads a filter under %s; filter_id is a string", async (v) => {
      const filter = { room: { timeline: { limit: 10 }, state: { lazy_load_members: true } }, presence: { types: [] } };
      const path = `/_matrix/client/${v}/user/${encodeURIComponent(alice.userId)}/filter`;
      const r = await call(server.url, "POST", path, { token: alice.token, json: filter });
      expect(r.status, r.text).toBe(200);
      await expectSpecResponse("POST", path, r.status, r.body);
      expect(typeof r.body.filter_id).toBe("string");
      const getPath = `${path}/${r.body.filter_id as string}`;
      const g = await call(server.url, "GET", getPath, { token: alice.token });
      expect(g.status, g.text).toBe(200);
      await expectSpecResponse("GET", getPath, g.status, g.body);
      expect(g.body).toEqual(filter);
    });

    it("accepts the user ID raw or percent-encoded in the path", async () => {
      const raw = await call(server.url, "POST", `/_matrix/client/v3/user/${alice.userId}/filter`, {
        token: alice.token,
        json: {},
      });
      expect(raw.status, raw.text).toBe(200);
      const id = raw.body.filter_id as string;
      const encoded = await call(server.url, "GET", `/_matrix/client/v3/user/%40alice%3Alocalhost/filter/${id}`, {
        token: alice.token,
      });
      expect(encoded.status, encoded.text).toBe(200);
      expect(encoded.body).toEqual({});
    });

    it("room and user IDs in a filter must be IDs: 400 M_BAD_JSON naming the field", async () => {
      const cases: [Record<string, unknown>, string][] = [
        [{ room: { rooms: ["not-a-room"] } }, "room.rooms"],
        [{ room: { not_rooms: ["!nocolon"] } }, "room.not_rooms"],
        [{ room: { timeline: { rooms: ["#alias:localhost"] } } }, "room.timeline.rooms"],
        [{ room: { state: { senders: ["alice"] } } }, "room.state.senders"],
        [{ presence: { not_senders: ["@nocolon"] } }, "presence.not_senders"],
      ];
      for (const [json, field] of cases) {
        const r = await call(server.url, "POST", `/_matrix/client/v3/user/${alice.userId}/filter`, {
          token: alice.token,
          json,
        });
        expect([r.status, r.body.errcode, r.body.error], field).toEqual([
          400,
          "M_BAD_JSON",
          `${field} must be a list of ${field.endsWith("rooms") ? "room" : "user"} IDs`,
        ]);
      }
      const ok = await call(server.url, "POST", `/_matrix/client/v3/user/${alice.userId}/filter`, {
        token: alice.token,
        json: { room: { rooms: ["!abc:localhost"], timeline: { senders: ["@bob:example.org"] } } },
      });
      expect(ok.status, ok.text).toBe(200);
    });

    it("gives each new filter a new ID", async () => {
      const ids = new Set<string>();
      for (let i = 0; i < 3; i++) {
        const r = await call(server.url, "POST", `/_matrix/client/v3/user/${alice.userId}/filter`, {
          token: alice.token,
          json: { i },
        });
        ids.add(r.body.filter_id as string);
      }
      expect(ids.size).toBe(3);
    });

    it("is 403 M_FORBIDDEN for someone else's filters, both ways", async () => {
      const mine = await call(server.url, "POST", `/_matrix/client/v3/user/${alice.userId}/filter`, {
        token: alice.token,
        json: {},
      });
      const post = await call(server.url, "POST", `/_matrix/client/v3/user/${alice.userId}/filter`, {
        token: bob.token,
        json: {},
      });
      expectError(post, 403, "M_FORBIDDEN", "Cannot create filters for other users");
      const get = await call(
        server.url,
        "GET",
        `/_matrix/client/v3/user/${alice.userId}/filter/${mine.body.filter_id as string}`,
        {
          token: bob.token,
        },
      );
      expectError(get, 403, "M_FORBIDDEN", "Cannot get filters for other users");
      // Bob asking for his own filter with Alice's ID finds nothing: IDs do not cross users.
      const asOwn = await call(
        server.url,
        "GET",
        `/_matrix/client/v3/user/${bob.userId}/filter/${mine.body.filter_id as string}`,
        {
          token: bob.token,
        },
      );
      expectError(asOwn, 404, "M_NOT_FOUND", "No such filter");
    });

    it("an unknown filter ID is 404 M_NOT_FOUND", async () => {
      const path = `/_matrix/client/v3/user/${alice.userId}/filter/987654`;
      const r = await call(server.url, "GET", path, { token: alice.token });
      expectError(r, 404, "M_NOT_FOUND", "No such filter");
      await expectSpecResponse("GET", path, r.status, r.body);
    });

    it("the body must be a JSON object of the spec's field types", async () => {
      const path = `/_matrix/client/v3/user/${alice.userId}/filter`;
      expectError(await call(server.url, "POST", path, { token: alice.token, json: [] }), 400, "M_BAD_JSON");
      expectError(await call(server.url, "POST", path, { token: alice.token, body: "{nope" }), 400, "M_NOT_JSON");
      for (const bad of [
        { event_fields: "content.body" },
        { event_format: "xml" },
        { account_data: { types: "m.direct" } },
        { room: { timeline: { limit: "ten" } } },
        { room: { state: { lazy_load_members: "yes" } } },
        { presence: [] },
      ]) {
        const r = await call(server.url, "POST", path, { token: alice.token, json: bad });
        expectError(r, 400, "M_BAD_JSON");
      }
    });

    it("needs an access token", async () => {
      const r = await call(server.url, "POST", `/_matrix/client/v3/user/${alice.userId}/filter`, { json: {} });
      expectError(r, 401, "M_MISSING_TOKEN");
    });

    it("/sync applies an inline filter's account_data types", async () => {
      const filter = encodeURIComponent(
        JSON.stringify({ account_data: { not_types: ["m.push_rules", "org.example.t*"] } }),
      );
      const r = await syncOnce(server.url, alice, `filter=${filter}`);
      expect(r.status, r.text).toBe(200);
      expect(types(r.body)).toContain("org.example.one");
      expect(types(r.body)).not.toContain("m.push_rules");
      expect(types(r.body)).not.toContain("org.example.two");
    });

    it("/sync applies a stored filter by ID", async () => {
      const created = await call(server.url, "POST", `/_matrix/client/v3/user/${alice.userId}/filter`, {
        token: alice.token,
        json: { account_data: { types: ["org.example.two"] } },
      });
      const r = await syncOnce(server.url, alice, `filter=${created.body.filter_id as string}`);
      expect(r.status, r.text).toBe(200);
      expect(types(r.body)).toEqual(["org.example.two"]);
      // Named again (now remembered in memory): the same answer; another user's sync cannot name it.
      const again = await syncOnce(server.url, alice, `filter=${created.body.filter_id as string}`);
      expect(types(again.body)).toEqual(["org.example.two"]);
      const asBob = await syncOnce(server.url, bob, `filter=${created.body.filter_id as string}`);
      expectError(asBob, 400, "M_INVALID_PARAM", "No such filter");
    });

    it("/sync refuses an unknown filter ID (400 M_INVALID_PARAM), bad inline JSON (400 M_NOT_JSON), a bad filter", async () => {
      expectError(await syncOnce(server.url, alice, "filter=424242"), 400, "M_INVALID_PARAM", "No such filter");
      expectError(
        await syncOnce(server.url, alice, `filter=${encodeURIComponent("{oops")}`),
        400,
        "M_NOT_JSON",
        "Invalid filter JSON",
      );
      const wrong = encodeURIComponent(JSON.stringify({ room: { timeline: { limit: "x" } } }));
      expectError(await syncOnce(server.url, alice, `filter=${wrong}`), 400, "M_BAD_JSON");
    });
  });

  describe("parameters", () => {
    it("a since token that is not ours is 400 M_INVALID_PARAM", async () => {
      for (const since of ["abc", "s", "s12x", "t5", "s-1", "s72594_4483_1934"]) {
        expectError(await syncOnce(server.url, alice, `since=${since}`), 400, "M_INVALID_PARAM");
      }
    });

    it("timeout must be an integer; full_state a boolean; set_presence a known state", async () => {
      expectError(await syncOnce(server.url, alice, "timeout=soon"), 400, "M_INVALID_PARAM");
      expectError(await syncOnce(server.url, alice, "full_state=yes"), 400, "M_INVALID_PARAM");
      expectError(await syncOnce(server.url, alice, "set_presence=busy"), 400, "M_INVALID_PARAM");
      for (const p of ["online", "offline", "unavailable"]) {
        expect((await syncOnce(server.url, alice, `set_presence=${p}`)).status).toBe(200);
      }
    });

    it("'from' is refused as Synapse refuses it", async () => {
      expectError(
        await syncOnce(server.url, alice, "from=s1"),
        400,
        "M_UNKNOWN",
        "'from' is not a valid query parameter. Did you mean 'since'?",
      );
    });

    it("needs an access token (header or query)", async () => {
      expectError(await call(server.url, "GET", "/_matrix/client/v3/sync"), 401, "M_MISSING_TOKEN");
      const viaQuery = await call(
        server.url,
        "GET",
        `/_matrix/client/v3/sync?access_token=${encodeURIComponent(alice.token)}`,
      );
      expect(viaQuery.status).toBe(200);
    });
  });

  describe("guests", () => {
    it("may sync and use keys, as in Synapse", async () => {
      const guest = await registerGuest(server.url);
      const filter = encodeURIComponent(JSON.stringify({ room: { timeline: { limit: 5 } } }));
      const r = await syncOnce(server.url, guest, `filter=${filter}`);
      expect(r.status, r.text).toBe(200);
      const up = await call(server.url, "POST", "/_matrix/client/v3/keys/upload", {
        token: guest.token,
        json: { device_keys: deviceKeysFor(guest) },
      });
      expect(up.status, up.text).toBe(200);
      const q = await call(server.url, "POST", "/_matrix/client/v3/keys/query", {
        token: guest.token,
        json: { device_keys: { [alice.userId]: [] } },
      });
      expect(q.status, q.text).toBe(200);
    });

    it("may not use filters, account data, push rules, key backup, TURN or media config (403 M_GUEST_ACCESS_FORBIDDEN)", async () => {
      const guest = await registerGuest(server.url);
      const me = encodeURIComponent(guest.userId);
      for (const [method, path, json] of [
        ["POST", `/_matrix/client/v3/user/${me}/filter`, {}],
        ["GET", `/_matrix/client/v3/user/${me}/filter/1`, undefined],
        ["PUT", `/_matrix/client/v3/user/${me}/account_data/m.direct`, {}],
        ["GET", `/_matrix/client/v3/user/${me}/account_data/m.direct`, undefined],
        ["GET", "/_matrix/client/v3/pushrules/", undefined],
        ["GET", "/_matrix/client/v3/room_keys/version", undefined],
        ["GET", "/_matrix/client/v3/voip/turnServer", undefined],
        ["GET", "/_matrix/client/v1/media/config", undefined],
      ] as [string, string, unknown][]) {
        expectError(
          await call(server.url, method, path, { token: guest.token, json }),
          403,
          "M_GUEST_ACCESS_FORBIDDEN",
        );
      }
    });
  });

  describe("long-poll", () => {
    it("holds an incremental sync when nothing happens, then answers with an empty delta", async () => {
      const first = await syncOnce(server.url, bob);
      const r = await syncOnce(server.url, bob, `since=${first.body.next_batch}&timeout=3000`);
      const elapsed = r.ms;
      expect(r.status, r.text).toBe(200);
      expect(elapsed).toBeGreaterThanOrEqual(2000);
      expect(elapsed).toBeLessThan(10_000);
      expect(r.body.account_data.events).toEqual([]);
      expect(r.body.device_lists.changed).toEqual([]);
      expect(r.body.next_batch).toMatch(/^s\d+$/);
    });

    it("timeout=0 answers at once", async () => {
      const first = await syncOnce(server.url, bob);
      const r = await syncOnce(server.url, bob, `since=${first.body.next_batch}&timeout=0`);
      expect(r.ms).toBeLessThan(1500);
    });

    it("wakes early when the user's account data changes, with that change", async () => {
      const first = await syncOnce(server.url, bob);
      const pending = syncOnce(server.url, bob, `since=${first.body.next_batch}&timeout=20000`);
      await eventually(() => syncListenerCount(bob.userId) > 0);
      await sleep(200);
      await putAccountData(server.url, bob, "org.example.wake", { hello: "bob" });
      const r = await pending;
      expect(r.status, r.text).toBe(200);
      expect(r.ms).toBeLessThan(3000);
      expect(r.body.account_data.events).toEqual([{ type: "org.example.wake", content: { hello: "bob" } }]);
    });

    it("is not woken by someone else's changes", async () => {
      const first = await syncOnce(server.url, bob);
      const pending = syncOnce(server.url, bob, `since=${first.body.next_batch}&timeout=2500`);
      await eventually(() => syncListenerCount(bob.userId) > 0);
      await putAccountData(server.url, alice, "org.example.not-for-bob", { x: 1 });
      const r = await pending;
      expect(r.ms).toBeGreaterThanOrEqual(2000);
      expect(r.body.account_data.events).toEqual([]);
    });

    it("wakes every waiting sync of the user (several devices)", async () => {
      const laptop = await loginAgain(server.url, "bob");
      const first = await syncOnce(server.url, bob);
      const a = syncOnce(server.url, bob, `since=${first.body.next_batch}&timeout=20000`);
      const b = syncOnce(server.url, laptop, `since=${first.body.next_batch}&timeout=20000`);
      await eventually(() => syncListenerCount(bob.userId) >= 2);
      await putAccountData(server.url, bob, "org.example.both", { n: 2 });
      const [ra, rb] = await Promise.all([a, b]);
      expect(Math.max(ra.ms, rb.ms)).toBeLessThan(3000);
      expect(types(ra.body)).toEqual(["org.example.both"]);
      expect(types(rb.body)).toEqual(["org.example.both"]);
    });

    it("wakes on a device-list change (key upload by another of the user's devices)", async () => {
      const tablet = await loginAgain(server.url, "bob");
      const first = await syncOnce(server.url, bob);
      const pending = syncOnce(server.url, bob, `since=${first.body.next_batch}&timeout=20000`);
      await eventually(() => syncListenerCount(bob.userId) > 0);
      const up = await call(server.url, "POST", "/_matrix/client/v3/keys/upload", {
        token: tablet.token,
        json: { device_keys: deviceKeysFor(tablet) },
      });
      expect(up.status, up.text).toBe(200);
      const r = await pending;
      expect(r.ms).toBeLessThan(3000);
      expect(r.body.device_lists.changed).toEqual([bob.userId]);
    });

    it("wakes on the device-change hook (what login and logout call)", async () => {
      const first = await syncOnce(server.url, bob);
      const pending = syncOnce(server.url, bob, `since=${first.body.next_batch}&timeout=20000`);
      await eventually(() => syncListenerCount(bob.userId) > 0);
      await deviceListChanged(server.server.accounts.stores, bob.userId, ["NEWDEVICE"]);
      const r = await pending;
      expect(r.ms).toBeLessThan(3000);
      expect(r.body.device_lists.changed).toEqual([bob.userId]);
    });

    it("leaves no listener behind when the client disconnects mid-poll", async () => {
      const first = await syncOnce(server.url, bob);
      const before = syncListenerCount();
      const controller = new AbortController();
      const pending = fetch(`${server.url}/_matrix/client/v3/sync?since=${first.body.next_batch}&timeout=30000`, {
        headers: { authorization: `Bearer ${bob.token}` },
        signal: controller.signal,
      }).catch((err: unknown) => err);
      await eventually(() => syncListenerCount(bob.userId) === 1);
      expect(syncListenerCount()).toBe(before + 1);
      controller.abort();
      expect(await pending).toBeInstanceOf(Error);
      await eventually(() => syncListenerCount(bob.userId) === 0, 2000);
      expect(syncListenerCount()).toBe(before);
    });

    it("leaves no listener behind after normal answers either", async () => {
      await eventually(() => syncListenerCount(bob.userId) === 0, 2000);
      expect(syncListenerCount(alice.userId)).toBe(0);
    });
  });

  // Enable once src/accounts/login.ts calls deviceListChanged after login and logout (see docs/api.md, "Sync").
  it("login and logout wake a waiting sync with device_lists.changed", async () => {
    const device = await loginAgain(server.url, "alice");
    for (const step of ["login", "logout"] as const) {
      const first = await syncOnce(server.url, alice);
      const pending = syncOnce(server.url, alice, `since=${first.body.next_batch}&timeout=20000`);
      await eventually(() => syncListenerCount(alice.userId) > 0);
      if (step === "login") await loginAgain(server.url, "alice");
      else
        expect((await call(server.url, "POST", "/_matrix/client/v3/logout", { token: device.token })).status).toBe(200);
      const r = await pending;
      expect(r.ms).toBeLessThan(3000);
      expect(r.body.device_lists.changed).toEqual([alice.userId]);
    }
  });
});

describe("stopping the server", () => {
  it("ends held syncs at once instead of waiting out their timeout", async () => {
    const server = await startOpenServer("sqlite");
    const carol = await registerUser(server.url, "carol");
    const initial = await call<SyncBody>(server.url, "GET", "/_matrix/client/v3/sync", { token: carol.token });
    // The first incremental sync answers at once with carol coming online; the next one is held.
    const first = await call<SyncBody>(
      server.url,
      "GET",
      `/_matrix/client/v3/sync?since=${initial.body.next_batch}&timeout=0`,
      { token: carol.token },
    );
    const pending = call<SyncBody>(
      server.url,
      "GET",
      `/_matrix/client/v3/sync?since=${first.body.next_batch}&timeout=60000`,
      {
        token: carol.token,
      },
    );
    const syncListenerCount = (userId: string) => server.server.accounts.syncNotifier.listenerCount(userId);
    await eventually(() => syncListenerCount(carol.userId) > 0);
    const start = performance.now();
    await server.close();
    const r = await pending;
    expect(elapsedSince(start)).toBeLessThan(5000);
    expect(r.status).toBe(200);
    expect(r.body.next_batch).toMatch(/^s\d+$/);
    expect(syncListenerCount(carol.userId)).toBe(0);
  });
});

describe("two servers in one process", () => {
  it("a write on one never wakes the other's waiting syncs, even for the same user ID", async () => {
    const [a, b] = [await startOpenServer("sqlite"), await startOpenServer("sqlite")];
    try {
      const onA = await registerUser(a.url, "dana");
      const onB = await registerUser(b.url, "dana");
      expect(onA.userId).toBe(onB.userId);
      const waitingOnA = a.server.accounts.syncNotifier.subscribe(onA.userId);
      const waitingOnB = b.server.accounts.syncNotifier.subscribe(onB.userId);
      try {
        await putAccountData(a.url, onA, "org.example.a", { on: "a" });
        expect(await waitingOnA.wait(1000)).toBe("notified");
        expect(await waitingOnB.wait(300)).toBe("timeout");
      } finally {
        waitingOnA.close();
        waitingOnB.close();
      }
    } finally {
      await a.close();
      await b.close();
    }
  });
});
