/**
 * Cross-signing over real HTTP on SQLite and PostgreSQL, with real ed25519 keys and signatures made in the test:
 * `/keys/device_signing/upload` (first upload without UIA, identical re-upload, UIA for a replacement, the admin's
 * no-UIA window, refused keys store nothing), `/keys/signatures/upload` (own devices, own master key, another
 * user's master key; bad signatures in `failures`, nothing stored) and what `/keys/query` shows to whom. Every
 * client response is checked against the spec's OpenAPI.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { forEachDatabase } from "../helpers/databases.js";
import { call } from "../helpers/http.js";
import { expectSpecResponse } from "../helpers/openapi.js";
import { api, createRoom, ok, registerUser, room, type ClientUser } from "../rooms/support.js";
import { expectError, loginAgain } from "../api/sync-support.js";
import {
  crossSigningKey,
  crossSigningSet,
  ed25519,
  promote,
  realDeviceKeys,
  signed,
  startKeysServer,
  type CrossSigningSet,
  type Ed25519,
  type KeysServer,
} from "./keys-support.js";

type Json = Record<string, unknown>;

interface QueryResult {
  device_keys: Record<string, Record<string, Json>>;
  master_keys: Record<string, Json>;
  self_signing_keys: Record<string, Json>;
  user_signing_keys: Record<string, Json>;
}

const PASSWORD = "correct horse battery";

forEachDatabase((kind) => {
  let server: KeysServer;
  /** `/keys/query` shows a user's keys to those who share a room with them. */
  const shareRoom = async (a: ClientUser, b: ClientUser) => {
    const roomId = await createRoom(server.url, a, { preset: "public_chat" });
    await ok(server.url, b, "POST", `${room(roomId)}/join`, {});
  };

  beforeAll(async () => {
    server = await startKeysServer(kind);
  });
  afterAll(() => server.close());

  // The spec's OpenAPI lists no 401 for this endpoint (UIA answers one), so a 401 is left unchecked.
  const upload = async (user: ClientUser, body: unknown) => {
    const path = "/_matrix/client/v3/keys/device_signing/upload";
    const r = await call(server.url, "POST", path, { token: user.token, json: body });
    if (r.status !== 401) await expectSpecResponse("POST", path, r.status, r.body);
    return r;
  };
  const query = (user: ClientUser, ...userIds: string[]) =>
    ok<QueryResult>(server.url, user, "POST", "/keys/query", {
      device_keys: Object.fromEntries(userIds.map((u) => [u, []])),
    });
  const signatures = (user: ClientUser, body: unknown) =>
    api<{ failures: Record<string, Record<string, Json>> }>(server.url, user, "POST", "/keys/signatures/upload", body);
  const passwordAuth = (user: ClientUser, session: string, password = PASSWORD) => ({
    type: "m.login.password",
    identifier: { type: "m.id.user", user: user.userId },
    password,
    session,
  });
  const uploadDevice = async (user: ClientUser, identity: Ed25519) => {
    await ok(server.url, user, "POST", "/keys/upload", { device_keys: realDeviceKeys(user, identity) });
  };

  it("advertises org.matrix.e2e_cross_signing", async () => {
    const r = await call<{ unstable_features: Record<string, boolean> }>(server.url, "GET", "/_matrix/client/versions");
    expect(r.body.unstable_features["org.matrix.e2e_cross_signing"]).toBe(true);
  });

  describe("POST /keys/device_signing/upload", () => {
    let alice: ClientUser;
    let bob: ClientUser;
    let keys: CrossSigningSet;

    beforeAll(async () => {
      alice = await registerUser(server.url, "alice", PASSWORD);
      bob = await registerUser(server.url, "bob", PASSWORD);
      await shareRoom(alice, bob);
      keys = crossSigningSet(alice.userId);
    });

    it("refuses keys that are not the uploader's, malformed or badly signed, and stores none of them", async () => {
      const other = crossSigningSet(bob.userId);
      expectError(await upload(alice, other.body), 400, "M_INVALID_PARAM", "Invalid master key");
      const twoKeys = { ...keys.body.master_key, keys: { "ed25519:a": "x", "ed25519:b": "y" } };
      expectError(await upload(alice, { master_key: twoKeys }), 400, "M_INVALID_PARAM");
      const wrongUsage = { ...keys.body.master_key, usage: ["self_signing"] };
      expectError(await upload(alice, { master_key: wrongUsage }), 400, "M_INVALID_PARAM");
      expectError(await upload(alice, { master_key: "nope" }), 400, "M_BAD_JSON");
      const forged = crossSigningKey(alice.userId, "self_signing", keys.selfSigning, ed25519());
      expectError(
        await upload(alice, { master_key: keys.body.master_key, self_signing_key: forged }),
        400,
        "M_INVALID_SIGNATURE",
      );
      // Signed by the master key, then changed: the signature no longer holds.
      const tampered = { ...keys.body.user_signing_key, usage: ["user_signing", "extra"] };
      expectError(
        await upload(alice, { master_key: keys.body.master_key, user_signing_key: tampered }),
        400,
        "M_INVALID_SIGNATURE",
      );
      expectError(
        await upload(alice, { self_signing_key: keys.body.self_signing_key }),
        400,
        "M_MISSING_PARAM",
        "No master key available",
      );
      const q = await query(alice, alice.userId);
      expect(q.master_keys).toEqual({});
      expect(q.self_signing_keys).toEqual({});
    });

    it("a key whose ID is one of the user's device IDs is 403 M_FORBIDDEN", async () => {
      const clash = { ...keys.body.master_key, keys: { [`ed25519:${alice.deviceId}`]: keys.master.publicKey } };
      expectError(await upload(alice, { master_key: clash }), 403, "M_FORBIDDEN", "Key ID in use");
    });

    it("the first upload needs no UIA; the owner sees all three keys, others the master and self-signing keys", async () => {
      const r = await upload(alice, keys.body);
      expect(r.status, r.text).toBe(200);
      expect(r.body).toEqual({});
      const own = await query(alice, alice.userId);
      expect(own.master_keys[alice.userId]).toEqual(keys.body.master_key);
      expect(own.self_signing_keys[alice.userId]).toEqual(keys.body.self_signing_key);
      expect(own.user_signing_keys[alice.userId]).toEqual(keys.body.user_signing_key);
      const seen = await query(bob, alice.userId);
      expect(seen.master_keys[alice.userId]).toEqual(keys.body.master_key);
      expect(seen.self_signing_keys[alice.userId]).toEqual(keys.body.self_signing_key);
      expect(seen.user_signing_keys).toEqual({});
    });

    it("uploading the same keys again needs no UIA", async () => {
      const r = await upload(alice, keys.body);
      expect(r.status, r.text).toBe(200);
      const partial = await upload(alice, { self_signing_key: keys.body.self_signing_key });
      expect(partial.status, partial.text).toBe(200);
    });

    it("replacing the keys needs the password (UIA); a wrong one replaces nothing", async () => {
      const next = crossSigningSet(alice.userId);
      const first = await call(server.url, "POST", "/_matrix/client/v3/keys/device_signing/upload", {
        token: alice.token,
        json: next.body,
      });
      expect(first.status, first.text).toBe(401);
      expect(first.body.flows).toEqual([{ stages: ["m.login.password"] }]);
      const session = first.body.session as string;

      const wrong = await upload(alice, { ...next.body, auth: passwordAuth(alice, session, "wrong password") });
      expect(wrong.status, wrong.text).toBe(401);
      expect((await query(alice, alice.userId)).master_keys[alice.userId]).toEqual(keys.body.master_key);

      const right = await upload(alice, { ...next.body, auth: passwordAuth(alice, session) });
      expect(right.status, right.text).toBe(200);
      expect((await query(bob, alice.userId)).master_keys[alice.userId]).toEqual(next.body.master_key);
      keys = next;
    });

    it("a self-signing key alone must be signed by the stored master key", async () => {
      const stranger = ed25519();
      const badlySigned = crossSigningKey(alice.userId, "self_signing", ed25519(), stranger);
      expectError(await upload(alice, { self_signing_key: badlySigned }), 400, "M_INVALID_SIGNATURE");
    });

    it("a key change is a device-list change of the user", async () => {
      const since = (await ok<{ next_batch: string }>(server.url, alice, "GET", "/sync")).next_batch;
      const replacement = crossSigningSet(alice.userId);
      const first = await upload(alice, replacement.body);
      expect(first.status).toBe(401);
      const done = await upload(alice, {
        ...replacement.body,
        auth: passwordAuth(alice, first.body.session as string),
      });
      expect(done.status, done.text).toBe(200);
      keys = replacement;
      const changes = await ok<{ changed: string[] }>(server.url, alice, "GET", `/keys/changes?from=${since}`);
      expect(changes.changed).toContain(alice.userId);
    });

    it("guests may not upload cross-signing keys", async () => {
      const g = await call(server.url, "POST", "/_matrix/client/v3/register?kind=guest", { json: {} });
      const guest = { token: g.body.access_token as string, userId: g.body.user_id as string, deviceId: "" };
      expectError(await upload(guest, crossSigningSet(guest.userId).body), 403, "M_GUEST_ACCESS_FORBIDDEN");
    });
  });

  describe("the admin's _allow_cross_signing_replacement_without_uia", () => {
    it("opens a 10-minute window in which one replacement needs no UIA", async () => {
      const admin = await registerUser(server.url, "xsadmin", PASSWORD);
      await promote(server.look, admin.userId);
      const carol = await registerUser(server.url, "carol", PASSWORD);
      const path = (u: string) =>
        `/_synapse/admin/v1/users/${encodeURIComponent(u)}/_allow_cross_signing_replacement_without_uia`;

      expectError(
        await call(server.url, "POST", path(carol.userId), { token: admin.token, json: {} }),
        404,
        "M_NOT_FOUND",
        "User has no master cross-signing key",
      );
      expect((await upload(carol, crossSigningSet(carol.userId).body)).status).toBe(200);
      expectError(
        await call(server.url, "POST", path(carol.userId), { token: carol.token, json: {} }),
        403,
        "M_FORBIDDEN",
      );

      const before = Date.now();
      const r = await call(server.url, "POST", path(carol.userId), { token: admin.token, json: {} });
      expect(r.status, r.text).toBe(200);
      const until = r.body.updatable_without_uia_before_ms as number;
      expect(until).toBeGreaterThanOrEqual(before + 10 * 60 * 1000);
      expect(until).toBeLessThanOrEqual(Date.now() + 10 * 60 * 1000);
      const audit = await server.look.kysely
        .selectFrom("admin_audit")
        .select(["actor", "target", "after"])
        .where("action", "=", "user.allow_cross_signing_replacement")
        .execute();
      expect(audit.map((a) => ({ ...a, after: JSON.parse(a.after) as unknown }))).toEqual([
        { actor: admin.userId, target: carol.userId, after: { updatable_without_uia_before_ms: until } },
      ]);

      const replaced = await upload(carol, crossSigningSet(carol.userId).body);
      expect(replaced.status, replaced.text).toBe(200);
      // The window ends with the replacement.
      expect((await upload(carol, crossSigningSet(carol.userId).body)).status).toBe(401);
    });
  });

  describe("POST /keys/signatures/upload", () => {
    let dave: ClientUser;
    let phone: ClientUser;
    let erin: ClientUser;
    let daveKeys: CrossSigningSet;
    let erinKeys: CrossSigningSet;
    let phoneIdentity: Ed25519;
    let daveIdentity: Ed25519;

    beforeAll(async () => {
      dave = await registerUser(server.url, "dave", PASSWORD);
      phone = await loginAgain(server.url, "dave", PASSWORD);
      erin = await registerUser(server.url, "erin", PASSWORD);
      await shareRoom(dave, erin);
      daveIdentity = ed25519();
      phoneIdentity = ed25519();
      await uploadDevice(dave, daveIdentity);
      await uploadDevice(phone, phoneIdentity);
      await uploadDevice(erin, ed25519());
    });

    it("without cross-signing keys, every signature fails with M_NOT_FOUND", async () => {
      const stored = (await query(dave, dave.userId)).device_keys[dave.userId]![phone.deviceId]!;
      const r = await signatures(dave, { [dave.userId]: { [phone.deviceId]: stored } });
      expect(r.status, r.text).toBe(200);
      expect(r.body.failures[dave.userId]?.[phone.deviceId]).toMatchObject({ errcode: "M_NOT_FOUND" });
    });

    it("malformed requests are 400 M_INVALID_PARAM", async () => {
      expectError(await signatures(dave, { [dave.userId]: "nope" }), 400, "M_INVALID_PARAM");
      expectError(await signatures(dave, { [dave.userId]: { [phone.deviceId]: 3 } }), 400, "M_INVALID_PARAM");
    });

    it("a device signed by the self-signing key appears in everyone's /keys/query", async () => {
      daveKeys = crossSigningSet(dave.userId);
      expect((await upload(dave, daveKeys.body)).status).toBe(200);
      const stored = (await query(dave, dave.userId)).device_keys[dave.userId]![phone.deviceId]!;
      const { unsigned: _u, ...device } = stored;
      const sskId = `ed25519:${daveKeys.selfSigning.publicKey}`;
      const r = await signatures(dave, {
        [dave.userId]: { [phone.deviceId]: signed(device, dave.userId, sskId, daveKeys.selfSigning) },
      });
      expect(r.status, r.text).toBe(200);
      expect(r.body.failures).toEqual({});
      for (const asker of [dave, erin]) {
        const seen = (await query(asker, dave.userId)).device_keys[dave.userId]![phone.deviceId]!;
        const sigs = (seen.signatures as Record<string, Record<string, string>>)[dave.userId]!;
        expect(Object.keys(sigs).sort()).toEqual([`ed25519:${phone.deviceId}`, sskId].sort());
      }
    });

    it("bad signatures, changed keys and unknown devices are failures, and nothing of them is stored", async () => {
      const stored = (await query(dave, dave.userId)).device_keys[dave.userId]![dave.deviceId]!;
      const { unsigned: _u, ...device } = stored;
      const sskId = `ed25519:${daveKeys.selfSigning.publicKey}`;
      const forged = signed(device, dave.userId, sskId, ed25519());
      const changed = signed({ ...device, algorithms: ["x"] }, dave.userId, sskId, daveKeys.selfSigning);
      const unknown = signed({ ...device, device_id: "NOSUCH" }, dave.userId, sskId, daveKeys.selfSigning);
      for (const [body, errcode] of [
        [{ [dave.deviceId]: forged }, "M_INVALID_SIGNATURE"],
        [{ [dave.deviceId]: changed }, "M_UNKNOWN"],
        [{ NOSUCH: unknown }, "M_NOT_FOUND"],
        [{ [dave.deviceId]: device }, "M_INVALID_SIGNATURE"],
      ] as [Json, string][]) {
        const r = await signatures(dave, { [dave.userId]: body });
        expect(r.status, r.text).toBe(200);
        const [keyId] = Object.keys(body);
        expect(r.body.failures[dave.userId]?.[keyId!]).toMatchObject({ errcode, status: expect.any(Number) });
        expect(typeof r.body.failures[dave.userId]?.[keyId!]?.error).toBe("string");
      }
      const seen = (await query(erin, dave.userId)).device_keys[dave.userId]![dave.deviceId]!;
      expect(Object.keys((seen.signatures as Record<string, Json>)[dave.userId]!)).toEqual([
        `ed25519:${dave.deviceId}`,
      ]);
    });

    it("the master key signed by a device is shown to its owner only", async () => {
      const master = daveKeys.body.master_key;
      const bySigning = signed(master, dave.userId, `ed25519:${dave.deviceId}`, daveIdentity);
      const bad = signed(master, dave.userId, `ed25519:${phone.deviceId}`, ed25519());
      const refused = await signatures(phone, { [dave.userId]: { [daveKeys.master.publicKey]: bad } });
      expect(refused.body.failures[dave.userId]?.[daveKeys.master.publicKey]).toMatchObject({
        errcode: "M_INVALID_SIGNATURE",
      });
      const r = await signatures(dave, { [dave.userId]: { [daveKeys.master.publicKey]: bySigning } });
      expect(r.status, r.text).toBe(200);
      expect(r.body.failures).toEqual({});
      const own = (await query(dave, dave.userId)).master_keys[dave.userId]!;
      expect(Object.keys((own.signatures as Record<string, Json>)[dave.userId]!)).toEqual([`ed25519:${dave.deviceId}`]);
      expect((await query(erin, dave.userId)).master_keys[dave.userId]).toEqual(master);
    });

    it("another user's master key signed by one's user-signing key; shown to the signer", async () => {
      erinKeys = crossSigningSet(erin.userId);
      expect((await upload(erin, erinKeys.body)).status).toBe(200);
      const since = (await ok<{ next_batch: string }>(server.url, erin, "GET", "/sync")).next_batch;
      const uskId = `ed25519:${daveKeys.userSigning.publicKey}`;
      const erinMaster = erinKeys.body.master_key;

      const forged = signed(erinMaster, dave.userId, uskId, ed25519());
      const refused = await signatures(dave, { [erin.userId]: { [erinKeys.master.publicKey]: forged } });
      expect(refused.body.failures[erin.userId]?.[erinKeys.master.publicKey]).toMatchObject({
        errcode: "M_INVALID_SIGNATURE",
      });
      const notMaster = await signatures(dave, { [erin.userId]: { [erin.deviceId]: forged } });
      expect(notMaster.body.failures[erin.userId]?.[erin.deviceId]).toMatchObject({ errcode: "M_NOT_FOUND" });
      expect((await query(dave, erin.userId)).master_keys[erin.userId]).toEqual(erinMaster);

      const good = signed(erinMaster, dave.userId, uskId, daveKeys.userSigning);
      const r = await signatures(dave, { [erin.userId]: { [erinKeys.master.publicKey]: good } });
      expect(r.status, r.text).toBe(200);
      expect(r.body.failures).toEqual({});
      const bySigner = (await query(dave, erin.userId)).master_keys[erin.userId]!;
      expect((bySigner.signatures as Record<string, Json>)[dave.userId]).toEqual({ [uskId]: expect.any(String) });
      expect((await query(erin, erin.userId)).master_keys[erin.userId]).toEqual(erinMaster);
      const changes = await ok<{ changed: string[] }>(server.url, erin, "GET", `/keys/changes?from=${since}`);
      expect(changes.changed).toContain(erin.userId);
    });

    it("signing another user's key without a user-signing key fails with M_NOT_FOUND", async () => {
      const frank = await registerUser(server.url, "frank", PASSWORD);
      const r = await signatures(frank, { [erin.userId]: { [erinKeys.master.publicKey]: erinKeys.body.master_key } });
      expect(r.body.failures[erin.userId]?.[erinKeys.master.publicKey]).toMatchObject({ errcode: "M_NOT_FOUND" });
    });
  });
});
