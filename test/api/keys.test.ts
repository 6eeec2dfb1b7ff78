/**
 * End-to-end encryption keys over real HTTP on SQLite and PostgreSQL: `/keys/upload`, `/keys/query`,
 * `/keys/claim` (including concurrent claims of the last one-time key), `/keys/changes`, the key backup probe, and
 * that the cross-signing endpoints are served. Every response body is checked against the spec's OpenAPI schema.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { forEachDatabase } from "../helpers/databases.js";
import { call, type HttpResult } from "../helpers/http.js";
import { expectSpecResponse } from "../helpers/openapi.js";
import type { TestServer } from "../helpers/server.js";
import {
  deviceKeysFor,
  expectError,
  loginAgain,
  registerUser,
  signedKey,
  startOpenServer,
  type ClientUser,
} from "./sync-support.js";

const VERSIONS = ["r0", "v3", "unstable"] as const;

type Obj = Record<string, unknown>;
type ByUserAndDevice = Record<string, Record<string, Obj>>;

/** Every field any of these endpoints answers with (each test reads the ones its endpoint has). */
interface Json {
  one_time_key_counts: Record<string, number>;
  device_keys: ByUserAndDevice;
  one_time_keys: ByUserAndDevice;
  failures: Obj;
  master_keys: Obj;
  self_signing_keys: Obj;
  device_one_time_keys_count: Record<string, number>;
  device_unused_fallback_key_types: string[];
  next_batch: string;
  changed: string[];
  left: string[];
  error: string;
}

async function keys(base: string, user: ClientUser, op: "upload" | "query" | "claim", json: unknown, version = "v3") {
  const path = `/_matrix/client/${version}/keys/${op}`;
  const r = await call<Json>(base, "POST", path, { token: user.token, json });
  await expectSpecResponse("POST", path, r.status, r.body);
  return r;
}

async function ok(p: Promise<HttpResult<Json>>): Promise<Json> {
  const r = await p;
  expect(r.status, r.text).toBe(200);
  return r.body;
}

async function nextBatch(base: string, user: ClientUser): Promise<string> {
  const r = await call<Json>(base, "GET", "/_matrix/client/v3/sync", { token: user.token });
  return r.body.next_batch;
}

forEachDatabase((kind) => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startOpenServer(kind);
  });
  afterAll(() => server.close());

  describe("POST /keys/upload and /keys/query", () => {
    let alice: ClientUser;
    let laptop: ClientUser;

    beforeAll(async () => {
      alice = await registerUser(server.url, "alice");
      laptop = await loginAgain(server.url, "alice");
      const named = await call(server.url, "PUT", `/_matrix/client/v3/devices/${laptop.deviceId}`, {
        token: laptop.token,
        json: { display_name: "Alice's laptop" },
      });
      expect(named.status, named.text).toBe(200);
    });

    it.each(VERSIONS)("stores device keys and answers the one-time key counts, under %s", async (v) => {
      const body = await ok(keys(server.url, alice, "upload", { device_keys: deviceKeysFor(alice) }, v));
      expect(body).toEqual({ one_time_key_counts: { signed_curve25519: 0 } });
    });

    it("an empty upload just reports the counts", async () => {
      expect(await ok(keys(server.url, alice, "upload", {}))).toEqual({
        one_time_key_counts: { signed_curve25519: 0 },
      });
    });

    it("query returns each device's keys as uploaded, with unsigned.device_display_name", async () => {
      await ok(keys(server.url, laptop, "upload", { device_keys: deviceKeysFor(laptop, "L") }));
      const body = await ok(keys(server.url, laptop, "query", { device_keys: { [alice.userId]: [] } }));
      expect(Object.keys(body.device_keys[alice.userId] ?? {}).sort()).toEqual(
        [alice.deviceId, laptop.deviceId].sort(),
      );
      expect(body.device_keys[alice.userId]?.[laptop.deviceId]).toEqual({
        ...deviceKeysFor(laptop, "L"),
        unsigned: { device_display_name: "Alice's laptop" },
      });
      expect(body.failures).toEqual({});
      expect(body.master_keys).toEqual({});
      expect(body.self_signing_keys).toEqual({});
    });

    it("query can ask for particular devices, and leaves out devices without keys", async () => {
      const keyless = await loginAgain(server.url, "alice");
      const body = await ok(
        keys(server.url, alice, "query", {
          device_keys: { [alice.userId]: [laptop.deviceId, keyless.deviceId, "NOSUCH"] },
        }),
      );
      expect(Object.keys(body.device_keys[alice.userId] ?? {})).toEqual([laptop.deviceId]);
      const all = await ok(keys(server.url, alice, "query", { device_keys: { [alice.userId]: [] } }));
      expect(Object.keys(all.device_keys[alice.userId] ?? {})).not.toContain(keyless.deviceId);
    });

    it("query leaves out a local user sharing no room with the requester, and records other servers under failures", async () => {
      const body = await ok(
        keys(server.url, alice, "query", { device_keys: { "@nobody:localhost": [], "@remote:elsewhere.example": [] } }),
      );
      expect(body.device_keys).toEqual({});
      expect(Object.keys(body.failures)).toEqual(["elsewhere.example"]);
    });

    it("re-uploading changed device keys replaces them", async () => {
      await ok(keys(server.url, laptop, "upload", { device_keys: deviceKeysFor(laptop, "M") }));
      const body = await ok(keys(server.url, alice, "query", { device_keys: { [alice.userId]: [laptop.deviceId] } }));
      expect(body.device_keys[alice.userId]?.[laptop.deviceId]?.keys).toEqual(deviceKeysFor(laptop, "M").keys);
    });

    it("device keys for another user or another device are 400 M_BAD_JSON (Synapse's errcode)", async () => {
      const otherUser = { ...deviceKeysFor(alice), user_id: "@mallory:localhost" };
      expectError(
        await keys(server.url, alice, "upload", { device_keys: otherUser }),
        400,
        "M_BAD_JSON",
        "Provided `user_id` in `device_keys` does not match that of the authenticated user",
      );
      const otherDevice = deviceKeysFor(laptop);
      expectError(
        await keys(server.url, alice, "upload", { device_keys: otherDevice }),
        400,
        "M_BAD_JSON",
        "Provided `device_id` in `device_keys` does not match that of the authenticated user device",
      );
      // Nothing was written: the laptop's keys are still its own.
      const body = await ok(keys(server.url, alice, "query", { device_keys: { [alice.userId]: [laptop.deviceId] } }));
      expect(body.device_keys[alice.userId]?.[laptop.deviceId]?.keys).toEqual(deviceKeysFor(laptop, "M").keys);
    });

    it("malformed uploads are 400 M_BAD_JSON", async () => {
      for (const bad of [
        { device_keys: null },
        { device_keys: { ...deviceKeysFor(alice), keys: { "ed25519:X": 5 } } },
        { device_keys: { ...deviceKeysFor(alice), algorithms: "m.megolm.v1.aes-sha2" } },
        { one_time_keys: { "no-colon": "key" } },
        { one_time_keys: { "a:b:c": "key" } },
        { one_time_keys: { "signed_curve25519:X": { signatures: {} } } },
        { one_time_keys: [] },
        { fallback_keys: { nocolon: "key" } },
      ]) {
        expectError(await keys(server.url, alice, "upload", bad), 400, "M_BAD_JSON");
      }
      expectError(
        await call(server.url, "POST", "/_matrix/client/v3/keys/upload", { token: alice.token, body: "[" }),
        400,
        "M_NOT_JSON",
      );
    });

    it("malformed queries are 400 M_BAD_JSON", async () => {
      expectError(await keys(server.url, alice, "query", {}), 400, "M_BAD_JSON");
      expectError(
        await keys(server.url, alice, "query", { device_keys: { [alice.userId]: "all" } }),
        400,
        "M_BAD_JSON",
      );
      expectError(await keys(server.url, alice, "query", { device_keys: { [alice.userId]: [1] } }), 400, "M_BAD_JSON");
    });

    it("a logged-out device's keys go with it", async () => {
      const temp = await loginAgain(server.url, "alice");
      await ok(
        keys(server.url, temp, "upload", {
          device_keys: deviceKeysFor(temp),
          one_time_keys: { "signed_curve25519:T1": signedKey(temp, "t1") },
        }),
      );
      const out = await call(server.url, "POST", "/_matrix/client/v3/logout", { token: temp.token });
      expect(out.status, out.text).toBe(200);
      const body = await ok(keys(server.url, alice, "query", { device_keys: { [alice.userId]: [temp.deviceId] } }));
      expect(body.device_keys[alice.userId]).toEqual({});
      const claim = await ok(
        keys(server.url, alice, "claim", {
          one_time_keys: { [alice.userId]: { [temp.deviceId]: "signed_curve25519" } },
        }),
      );
      expect(claim.one_time_keys).toEqual({});
    });

    it("needs an access token", async () => {
      for (const op of ["upload", "query", "claim"]) {
        expectError(
          await call(server.url, "POST", `/_matrix/client/v3/keys/${op}`, { json: {} }),
          401,
          "M_MISSING_TOKEN",
        );
      }
    });
  });

  describe("one-time and fallback keys", () => {
    let bob: ClientUser;
    let claimer: ClientUser;
    const claimBody = () => ({ one_time_keys: { [bob.userId]: { [bob.deviceId]: "signed_curve25519" } } });

    beforeAll(async () => {
      bob = await registerUser(server.url, "bob");
      claimer = await registerUser(server.url, "carol");
    });

    it("uploads are counted per algorithm", async () => {
      const body = await ok(
        keys(server.url, bob, "upload", {
          one_time_keys: {
            "signed_curve25519:AAAAAQ": signedKey(bob, "first-1"),
            "signed_curve25519:AAAAAg": signedKey(bob, "first-2"),
            "curve25519:AAAAAw": "plainkey",
          },
        }),
      );
      expect(body).toEqual({ one_time_key_counts: { signed_curve25519: 2, curve25519: 1 } });
    });

    it("re-sending a key unchanged is ignored; the same ID with another key is 400", async () => {
      const same = await ok(
        keys(server.url, bob, "upload", { one_time_keys: { "signed_curve25519:AAAAAQ": signedKey(bob, "first-1") } }),
      );
      expect(same.one_time_key_counts.signed_curve25519).toBe(2);
      const r = await keys(server.url, bob, "upload", {
        one_time_keys: { "signed_curve25519:AAAAAQ": signedKey(bob, "other") },
      });
      expectError(r, 400, "M_UNKNOWN");
      expect(r.body.error).toMatch(/^One time key signed_curve25519:AAAAAQ already exists\./);
    });

    it("claims hand out one-time keys oldest upload first, each only once", async () => {
      await new Promise((r) => setTimeout(r, 5));
      await ok(
        keys(server.url, bob, "upload", { one_time_keys: { "signed_curve25519:AAAAAA": signedKey(bob, "second") } }),
      );
      const seen: string[] = [];
      for (let i = 0; i < 3; i++) {
        const body = await ok(keys(server.url, claimer, "claim", claimBody()));
        const got = body.one_time_keys[bob.userId]?.[bob.deviceId] ?? {};
        expect(Object.keys(got)).toHaveLength(1);
        seen.push(Object.keys(got)[0]!);
        expect(body.failures).toEqual({});
      }
      // The first upload's two keys (in either order), then the later one, although its ID sorts first.
      expect(seen.slice(0, 2).sort()).toEqual(["signed_curve25519:AAAAAQ", "signed_curve25519:AAAAAg"]);
      expect(seen[2]).toBe("signed_curve25519:AAAAAA");
      const counts = await ok(keys(server.url, bob, "upload", {}));
      expect(counts.one_time_key_counts).toEqual({ signed_curve25519: 0, curve25519: 1 });
    });

    it("a claimed key comes back exactly as uploaded", async () => {
      const body = await ok(
        keys(server.url, claimer, "claim", { one_time_keys: { [bob.userId]: { [bob.deviceId]: "curve25519" } } }),
      );
      expect(body.one_time_keys).toEqual({ [bob.userId]: { [bob.deviceId]: { "curve25519:AAAAAw": "plainkey" } } });
    });

    it("with no one-time key and no fallback key, the device is left out", async () => {
      const body = await ok(keys(server.url, claimer, "claim", claimBody()));
      expect(body).toEqual({ one_time_keys: {}, failures: {} });
    });

    it("falls back to the fallback key, which stays and is marked used", async () => {
      const fb = signedKey(bob, "fallback-1", true);
      await ok(keys(server.url, bob, "upload", { fallback_keys: { "signed_curve25519:FB1": fb } }));
      const sync1 = await call<Json>(server.url, "GET", "/_matrix/client/v3/sync", { token: bob.token });
      expect(sync1.body.device_unused_fallback_key_types).toEqual(["signed_curve25519"]);
      for (let i = 0; i < 2; i++) {
        const body = await ok(keys(server.url, claimer, "claim", claimBody()));
        expect(body.one_time_keys[bob.userId]?.[bob.deviceId]).toEqual({ "signed_curve25519:FB1": fb });
      }
      const sync2 = await call<Json>(server.url, "GET", "/_matrix/client/v3/sync", { token: bob.token });
      expect(sync2.body.device_unused_fallback_key_types).toEqual([]);
      // Fallback keys are not one-time keys: not counted.
      expect(sync2.body.device_one_time_keys_count).toEqual({ signed_curve25519: 0 });
    });

    it("re-uploading the same fallback key keeps it used; a new one replaces it, unused", async () => {
      const fb = signedKey(bob, "fallback-1", true);
      await ok(keys(server.url, bob, "upload", { fallback_keys: { "signed_curve25519:FB1": fb } }));
      let s = await call<Json>(server.url, "GET", "/_matrix/client/v3/sync", { token: bob.token });
      expect(s.body.device_unused_fallback_key_types).toEqual([]);
      const fb2 = signedKey(bob, "fallback-2", true);
      await ok(keys(server.url, bob, "upload", { fallback_keys: { "signed_curve25519:FB2": fb2 } }));
      s = await call<Json>(server.url, "GET", "/_matrix/client/v3/sync", { token: bob.token });
      expect(s.body.device_unused_fallback_key_types).toEqual(["signed_curve25519"]);
      const body = await ok(keys(server.url, claimer, "claim", claimBody()));
      expect(body.one_time_keys[bob.userId]?.[bob.deviceId]).toEqual({ "signed_curve25519:FB2": fb2 });
    });

    it("claims for other servers are failures; unknown users and devices are left out", async () => {
      const body = await ok(
        keys(server.url, claimer, "claim", {
          one_time_keys: {
            "@remote:elsewhere.example": { DEV: "signed_curve25519" },
            "@nobody:localhost": { DEV: "signed_curve25519" },
            [bob.userId]: { NOSUCHDEVICE: "signed_curve25519" },
          },
        }),
      );
      expect(body.one_time_keys).toEqual({});
      expect(Object.keys(body.failures)).toEqual(["elsewhere.example"]);
    });

    it("malformed claims are 400 M_BAD_JSON", async () => {
      expectError(await keys(server.url, claimer, "claim", {}), 400, "M_BAD_JSON");
      expectError(
        await keys(server.url, claimer, "claim", { one_time_keys: { [bob.userId]: ["x"] } }),
        400,
        "M_BAD_JSON",
      );
      expectError(
        await keys(server.url, claimer, "claim", { one_time_keys: { [bob.userId]: { D: 1 } } }),
        400,
        "M_BAD_JSON",
      );
    });
  });

  describe("concurrent claims", () => {
    it("two claims of a device's last one-time key: exactly one gets it, the other the fallback key", async () => {
      const dave = await registerUser(server.url, "dave");
      const [c1, c2] = [await registerUser(server.url, "claimer1"), await registerUser(server.url, "claimer2")];
      const otk = signedKey(dave, "the-only-one");
      const fb = signedKey(dave, "dave-fallback", true);
      await ok(
        keys(server.url, dave, "upload", {
          one_time_keys: { "signed_curve25519:ONLY": otk },
          fallback_keys: { "signed_curve25519:FB": fb },
        }),
      );
      const body = { one_time_keys: { [dave.userId]: { [dave.deviceId]: "signed_curve25519" } } };
      const results = await Promise.all([
        ok(keys(server.url, c1, "claim", body)),
        ok(keys(server.url, c2, "claim", body)),
      ]);
      const got = results.map((r) => r.one_time_keys[dave.userId]?.[dave.deviceId] ?? {});
      expect(got.filter((k) => "signed_curve25519:ONLY" in k)).toEqual([{ "signed_curve25519:ONLY": otk }]);
      expect(got.filter((k) => "signed_curve25519:FB" in k)).toEqual([{ "signed_curve25519:FB": fb }]);
    });

    it("without a fallback key: one gets the key, the other nothing", async () => {
      const erin = await registerUser(server.url, "erin");
      const c = await registerUser(server.url, "claimer3");
      await ok(keys(server.url, erin, "upload", { one_time_keys: { "signed_curve25519:ONLY": signedKey(erin, "k") } }));
      const body = { one_time_keys: { [erin.userId]: { [erin.deviceId]: "signed_curve25519" } } };
      const results = await Promise.all([
        ok(keys(server.url, c, "claim", body)),
        ok(keys(server.url, c, "claim", body)),
      ]);
      const got = results.map((r) => r.one_time_keys[erin.userId]?.[erin.deviceId]);
      expect(got.filter((k) => k !== undefined)).toHaveLength(1);
    });

    it("many claimers of many keys: every key handed out once, nobody left empty-handed while keys remain", async () => {
      const frank = await registerUser(server.url, "frank");
      const c = await registerUser(server.url, "claimer4");
      const otks: Obj = {};
      for (let i = 0; i < 15; i++)
        otks[`signed_curve25519:K${String(i).padStart(2, "0")}`] = signedKey(frank, `key-${i}`);
      await ok(keys(server.url, frank, "upload", { one_time_keys: otks }));
      const body = { one_time_keys: { [frank.userId]: { [frank.deviceId]: "signed_curve25519" } } };
      const results = await Promise.all(Array.from({ length: 20 }, () => ok(keys(server.url, c, "claim", body))));
      const ids = results.flatMap((r) => Object.keys(r.one_time_keys[frank.userId]?.[frank.deviceId] ?? {}));
      expect(ids).toHaveLength(15);
      expect(new Set(ids).size).toBe(15);
    });
  });

  describe("GET /keys/changes", () => {
    it("lists the user when one of their devices changed between the tokens", async () => {
      const gina = await registerUser(server.url, "gina");
      const from = await nextBatch(server.url, gina);
      const phone = await loginAgain(server.url, "gina");
      await ok(keys(server.url, phone, "upload", { device_keys: deviceKeysFor(phone) }));
      const to = await nextBatch(server.url, gina);
      for (const v of VERSIONS) {
        const path = `/_matrix/client/${v}/keys/changes?from=${from}&to=${to}`;
        const r = await call<Json>(server.url, "GET", path, { token: gina.token });
        expect(r.status, r.text).toBe(200);
        await expectSpecResponse("GET", path, r.status, r.body);
        expect(r.body).toEqual({ changed: [gina.userId], left: [] });
      }
      const none = await call<Json>(server.url, "GET", `/_matrix/client/v3/keys/changes?from=${to}`, {
        token: gina.token,
      });
      expect(none.body).toEqual({ changed: [], left: [] });
      // An identical re-upload is not a change.
      await ok(keys(server.url, phone, "upload", { device_keys: deviceKeysFor(phone) }));
      const still = await call<Json>(server.url, "GET", `/_matrix/client/v3/keys/changes?from=${to}`, {
        token: gina.token,
      });
      expect(still.body).toEqual({ changed: [], left: [] });
    });

    it("from is required and both must be tokens of ours", async () => {
      const hank = await registerUser(server.url, "hank");
      expectError(
        await call(server.url, "GET", "/_matrix/client/v3/keys/changes", { token: hank.token }),
        400,
        "M_MISSING_PARAM",
      );
      expectError(
        await call(server.url, "GET", "/_matrix/client/v3/keys/changes?from=bad", { token: hank.token }),
        400,
        "M_INVALID_PARAM",
      );
      expectError(
        await call(server.url, "GET", "/_matrix/client/v3/keys/changes?from=s1&to=bad", { token: hank.token }),
        400,
        "M_INVALID_PARAM",
      );
    });
  });

  describe("key backup and cross-signing", () => {
    it.each(VERSIONS)("GET /room_keys/version is 404 M_NOT_FOUND 'No backup found' under %s", async (v) => {
      const ivy = await registerUser(server.url, `ivy${v}`);
      for (const path of [`/_matrix/client/${v}/room_keys/version`, `/_matrix/client/${v}/room_keys/version/1`]) {
        const r = await call(server.url, "GET", path, { token: ivy.token });
        expectError(r, 404, "M_NOT_FOUND", "No backup found");
        await expectSpecResponse("GET", path, r.status, r.body);
      }
      expectError(await call(server.url, "GET", `/_matrix/client/${v}/room_keys/version`), 401, "M_MISSING_TOKEN");
    });

    it("cross-signing uploads are served (test/e2ee/cross-signing.test.ts covers them)", async () => {
      const jay = await registerUser(server.url, "jay");
      for (const [path, answer] of [
        ["/_matrix/client/v3/keys/device_signing/upload", {}],
        ["/_matrix/client/v3/keys/signatures/upload", { failures: {} }],
      ] as const) {
        const r = await call(server.url, "POST", path, { token: jay.token, json: {} });
        expect(r.status, r.text).toBe(200);
        expect(r.body).toEqual(answer);
      }
    });
  });
});
