/**
 * Server-side key backups over real HTTP on SQLite and PostgreSQL: backup versions (create, get, update, delete,
 * `etag` and `count`), room keys at the three depths, Synapse's "keep the better key" rule, uploads to an old
 * backup (403 `M_WRONG_ROOM_KEYS_VERSION`), malformed keys (nothing stored), and that each user sees only their
 * own backup. Every response is checked against the spec's OpenAPI.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { forEachDatabase } from "../helpers/databases.js";
import { api, ok, registerUser, type ClientUser } from "../rooms/support.js";
import { expectError } from "../api/sync-support.js";
import { startKeysServer, type KeysServer } from "./keys-support.js";

type Json = Record<string, unknown>;

interface VersionInfo {
  version: string;
  algorithm: string;
  auth_data: Json;
  etag: string;
  count: number;
}

const ALGORITHM = "m.megolm_backup.v1.curve25519-aes-sha2";
const ROOM = "!room:localhost";
const OTHER_ROOM = "!other:localhost";

function key(first: number, forwarded: number, verified: boolean, data = "x"): Json {
  return {
    first_message_index: first,
    forwarded_count: forwarded,
    is_verified: verified,
    session_data: { ciphertext: data, ephemeral: "e", mac: "m" },
  };
}

forEachDatabase((kind) => {
  let server: KeysServer;
  beforeAll(async () => {
    server = await startKeysServer(kind);
  });
  afterAll(() => server.close());

  const keysPath = (version: string, roomId?: string, sessionId?: string) =>
    `/room_keys/keys${roomId ? `/${encodeURIComponent(roomId)}` : ""}${sessionId ? `/${sessionId}` : ""}?version=${version}`;
  const create = async (user: ClientUser, authData: Json = { public_key: "pk" }) =>
    (
      await ok<{ version: string }>(server.url, user, "POST", "/room_keys/version", {
        algorithm: ALGORITHM,
        auth_data: authData,
      })
    ).version;

  describe("backup versions", () => {
    let alice: ClientUser;
    beforeAll(async () => {
      alice = await registerUser(server.url, "alice");
    });

    it("create, read, update and delete", async () => {
      expectError(await api(server.url, alice, "GET", "/room_keys/version"), 404, "M_NOT_FOUND", "No backup found");
      const v1 = await create(alice);
      const info = await ok<VersionInfo>(server.url, alice, "GET", "/room_keys/version");
      expect(info).toEqual({ version: v1, algorithm: ALGORITHM, auth_data: { public_key: "pk" }, etag: "0", count: 0 });
      expect(await ok(server.url, alice, "GET", `/room_keys/version/${v1}`)).toEqual(info);

      await ok(server.url, alice, "PUT", `/room_keys/version/${v1}`, {
        algorithm: ALGORITHM,
        auth_data: { public_key: "pk2" },
        version: v1,
      });
      expect((await ok<VersionInfo>(server.url, alice, "GET", "/room_keys/version")).auth_data).toEqual({
        public_key: "pk2",
      });
      expectError(
        await api(server.url, alice, "PUT", `/room_keys/version/${v1}`, {
          algorithm: ALGORITHM,
          auth_data: {},
          version: "999",
        }),
        400,
        "M_INVALID_PARAM",
        "Version in body does not match",
      );
      expectError(
        await api(server.url, alice, "PUT", `/room_keys/version/${v1}`, { algorithm: "other", auth_data: {} }),
        400,
        "M_INVALID_PARAM",
        "Algorithm does not match",
      );
      expectError(
        await api(server.url, alice, "PUT", "/room_keys/version/999999", { algorithm: ALGORITHM, auth_data: {} }),
        404,
        "M_NOT_FOUND",
      );

      const v2 = await create(alice, { public_key: "new" });
      expect(Number(v2)).toBeGreaterThan(Number(v1));
      expect((await ok<VersionInfo>(server.url, alice, "GET", "/room_keys/version")).version).toBe(v2);
      expect(await ok(server.url, alice, "DELETE", `/room_keys/version/${v2}`)).toEqual({});
      expect((await ok<VersionInfo>(server.url, alice, "GET", "/room_keys/version")).version).toBe(v1);
      expectError(await api(server.url, alice, "GET", `/room_keys/version/${v2}`), 404, "M_NOT_FOUND");
      expectError(await api(server.url, alice, "DELETE", `/room_keys/version/${v2}`), 404, "M_NOT_FOUND");
      expectError(await api(server.url, alice, "GET", "/room_keys/version/notanumber"), 404, "M_NOT_FOUND");
    });

    it("malformed version bodies are 400 M_BAD_JSON", async () => {
      for (const body of [{ auth_data: {} }, { algorithm: ALGORITHM }, { algorithm: ALGORITHM, auth_data: "x" }]) {
        expectError(await api(server.url, alice, "POST", "/room_keys/version", body), 400, "M_BAD_JSON");
      }
    });

    it("a user sees only their own backups", async () => {
      const bob = await registerUser(server.url, "bob");
      const mine = await create(alice);
      expectError(await api(server.url, bob, "GET", `/room_keys/version/${mine}`), 404, "M_NOT_FOUND");
      expectError(await api(server.url, bob, "GET", keysPath(mine)), 404, "M_NOT_FOUND");
      expectError(await api(server.url, bob, "PUT", keysPath(mine, ROOM, "s"), key(0, 0, true)), 404, "M_NOT_FOUND");
      expectError(await api(server.url, bob, "DELETE", `/room_keys/version/${mine}`), 404, "M_NOT_FOUND");
    });
  });

  describe("room keys", () => {
    let carol: ClientUser;
    let version: string;
    beforeAll(async () => {
      carol = await registerUser(server.url, "carol");
      version = await create(carol);
    });

    it("stores keys at each depth and answers etag and count", async () => {
      const one = await ok<{ etag: string; count: number }>(
        server.url,
        carol,
        "PUT",
        keysPath(version, ROOM, "s1"),
        key(5, 1, false),
      );
      expect(one).toEqual({ etag: "1", count: 1 });
      const room = await ok(server.url, carol, "PUT", keysPath(version, ROOM), { sessions: { s2: key(0, 0, true) } });
      expect(room).toEqual({ etag: "2", count: 2 });
      const all = await ok(server.url, carol, "PUT", keysPath(version), {
        rooms: { [OTHER_ROOM]: { sessions: { s3: key(0, 0, false) } } },
      });
      expect(all).toEqual({ etag: "3", count: 3 });

      expect(await ok(server.url, carol, "GET", keysPath(version, ROOM, "s1"))).toEqual(key(5, 1, false));
      expect(await ok(server.url, carol, "GET", keysPath(version, ROOM))).toEqual({
        sessions: { s1: key(5, 1, false), s2: key(0, 0, true) },
      });
      expect(await ok(server.url, carol, "GET", keysPath(version))).toEqual({
        rooms: {
          [ROOM]: { sessions: { s1: key(5, 1, false), s2: key(0, 0, true) } },
          [OTHER_ROOM]: { sessions: { s3: key(0, 0, false) } },
        },
      });
      expect(await ok(server.url, carol, "GET", keysPath(version, "!empty:localhost"))).toEqual({ sessions: {} });
      expectError(
        await api(server.url, carol, "GET", keysPath(version, ROOM, "nosuch")),
        404,
        "M_NOT_FOUND",
        "No room_keys found",
      );
      const info = await ok<VersionInfo>(server.url, carol, "GET", "/room_keys/version");
      expect(info).toMatchObject({ etag: "3", count: 3 });
    });

    it("keeps the better key: verified, then lower first_message_index, then lower forwarded_count", async () => {
      const put = (k: Json) => ok<{ etag: string }>(server.url, carol, "PUT", keysPath(version, ROOM, "s1"), k);
      const stored = () => ok<Json>(server.url, carol, "GET", keysPath(version, ROOM, "s1"));
      const etagBefore = (await ok<VersionInfo>(server.url, carol, "GET", "/room_keys/version")).etag;

      // Worse on every count: kept out, and the etag does not move.
      expect((await put(key(9, 9, false, "worse"))).etag).toBe(etagBefore);
      expect(await stored()).toEqual(key(5, 1, false));
      // Lower forwarded_count wins.
      await put(key(5, 0, false, "fewer-forwards"));
      expect(await stored()).toEqual(key(5, 0, false, "fewer-forwards"));
      // Lower first_message_index wins.
      await put(key(2, 3, false, "earlier"));
      expect(await stored()).toEqual(key(2, 3, false, "earlier"));
      // Verified beats unverified even with a later index.
      await put(key(4, 4, true, "verified"));
      expect(await stored()).toEqual(key(4, 4, true, "verified"));
      // An unverified copy does not replace a verified one on verification alone.
      await put(key(4, 4, false, "unverified"));
      expect(await stored()).toEqual(key(4, 4, true, "verified"));
      const etagAfter = (await ok<VersionInfo>(server.url, carol, "GET", "/room_keys/version")).etag;
      expect(Number(etagAfter)).toBe(Number(etagBefore) + 3);
    });

    it("malformed keys are refused whole: nothing of the request is stored", async () => {
      const before = await ok(server.url, carol, "GET", keysPath(version));
      for (const [body, errcode] of [
        [
          { rooms: { [ROOM]: { sessions: { n1: key(0, 0, true), n2: { ...key(0, 0, true), is_verified: "yes" } } } } },
          "M_INVALID_PARAM",
        ],
        [
          {
            rooms: {
              [ROOM]: { sessions: { n1: key(0, 0, true), n2: { ...key(0, 0, true), first_message_index: -1 } } },
            },
          },
          "M_BAD_JSON",
        ],
        [
          { rooms: { [ROOM]: { sessions: { n1: key(0, 0, true), n2: { ...key(0, 0, true), session_data: "x" } } } } },
          "M_BAD_JSON",
        ],
        [{ rooms: { [ROOM]: { sessions: { n1: key(0, 0, true), n2: { is_verified: true } } } } }, "M_BAD_JSON"],
        [{ rooms: { [ROOM]: "x" } }, "M_BAD_JSON"],
        [{ rooms: [] }, "M_BAD_JSON"],
      ] as [Json, string][]) {
        expectError(await api(server.url, carol, "PUT", keysPath(version), body), 400, errcode);
      }
      expect(await ok(server.url, carol, "GET", keysPath(version))).toEqual(before);
      expectError(await api(server.url, carol, "PUT", "/room_keys/keys", { rooms: {} }), 400, "M_MISSING_PARAM");
    });

    it("uploading to an older backup is 403 M_WRONG_ROOM_KEYS_VERSION with current_version; unknown is 404", async () => {
      const newer = await create(carol);
      const r = await api(server.url, carol, "PUT", keysPath(version, ROOM, "late"), key(0, 0, true));
      expectError(r, 403, "M_WRONG_ROOM_KEYS_VERSION");
      expect(r.body.current_version).toBe(newer);
      expectError(
        await api(server.url, carol, "PUT", keysPath("987654", ROOM, "x"), key(0, 0, true)),
        404,
        "M_NOT_FOUND",
      );
      expectError(await api(server.url, carol, "GET", keysPath(version, ROOM, "late")), 404, "M_NOT_FOUND");
      // The older backup can still be read.
      expect(await ok(server.url, carol, "GET", keysPath(version, ROOM, "s2"))).toEqual(key(0, 0, true));
      version = newer;
    });

    it("deleting keys at each depth changes the etag and count; deleting the backup removes its keys", async () => {
      await ok(server.url, carol, "PUT", keysPath(version), {
        rooms: {
          [ROOM]: { sessions: { a: key(0, 0, true), b: key(0, 0, true) } },
          [OTHER_ROOM]: { sessions: { c: key(0, 0, true) } },
        },
      });
      const start = await ok<VersionInfo>(server.url, carol, "GET", "/room_keys/version");
      expect(start.count).toBe(3);
      const afterSession = await ok<{ etag: string; count: number }>(
        server.url,
        carol,
        "DELETE",
        keysPath(version, ROOM, "a"),
      );
      expect(afterSession).toEqual({ etag: String(Number(start.etag) + 1), count: 2 });
      expect(await ok(server.url, carol, "DELETE", keysPath(version, ROOM))).toMatchObject({ count: 1 });
      expect(await ok(server.url, carol, "DELETE", keysPath(version))).toMatchObject({ count: 0 });
      await ok(server.url, carol, "PUT", keysPath(version, ROOM, "d"), key(0, 0, true));
      await ok(server.url, carol, "DELETE", `/room_keys/version/${version}`);
      expectError(await api(server.url, carol, "GET", keysPath(version)), 404, "M_NOT_FOUND");
      const rows = await server.look.kysely
        .selectFrom("room_key_backup_keys")
        .select("session_id")
        .where("user_id", "=", carol.userId)
        .where("version", "=", Number(version))
        .execute();
      expect(rows).toEqual([]);
    });

    it("deactivating the account deletes its backups, as Synapse does", async () => {
      const dan = await registerUser(server.url, "dan", "correct horse battery");
      const v = await create(dan);
      await ok(server.url, dan, "PUT", keysPath(v, ROOM, "s"), key(0, 0, true));
      await ok(server.url, dan, "POST", "/account/deactivate", {
        auth: {
          type: "m.login.password",
          identifier: { type: "m.id.user", user: dan.userId },
          password: "correct horse battery",
        },
      });
      for (const table of ["room_key_backup_versions", "room_key_backup_keys"] as const) {
        const rows = await server.look.kysely
          .selectFrom(table)
          .select("user_id")
          .where("user_id", "=", dan.userId)
          .execute();
        expect(rows, table).toEqual([]);
      }
    });
  });
});
