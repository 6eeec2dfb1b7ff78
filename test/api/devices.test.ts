/**
 * Device management (`/devices`, `/devices/{deviceId}`, `/delete_devices`) over real HTTP on SQLite and PostgreSQL:
 * listing, looking up, renaming, and deleting with UIA, including what a deletion takes with it (tokens, keys).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Db } from "../../src/db/database.js";
import { forEachDatabase } from "../helpers/databases.js";
import { call } from "../helpers/http.js";
import type { TestServer } from "../helpers/server.js";
import {
  challenge,
  login,
  passwordAuth,
  registerUser,
  startAccountServer,
  whoami,
  withPassword,
} from "./account-support.js";
import { expectMatrixError, openTestDb } from "./support.js";

const DEVICES = "/_matrix/client/v3/devices";
const device = (id: string) => `${DEVICES}/${encodeURIComponent(id)}`;
const DELETE_DEVICES = "/_matrix/client/v3/delete_devices";
/** What a device used by an authenticated request carries from then on. */
const SEEN = { last_seen_ip: "127.0.0.1", last_seen_ts: expect.any(Number) as number };

forEachDatabase((kind) => {
  let server: TestServer;
  let db: Db;
  beforeAll(async () => {
    const s = await startAccountServer(kind, { allow_guest_access: true });
    server = s;
    db = openTestDb(s.db);
  });
  afterAll(async () => {
    await db.close();
    await server.close();
  });

  describe("GET /devices and /devices/{deviceId}", () => {
    it("lists the requester's devices only, leaving out what is unset", async () => {
      const a = await registerUser(server.url, "ann", "pw", {
        device_id: "PHONE",
        initial_device_display_name: "Ann's phone",
      });
      await login(server.url, "ann", "pw", "LAPTOP");
      await registerUser(server.url, "bob", "pw", { device_id: "BOBDEV" });
      const r = await call(server.url, "GET", DEVICES, { token: a.token });
      expect(r.status, r.text).toBe(200);
      expect(r.body).toEqual({
        devices: [
          { device_id: "LAPTOP", user_id: "@ann:localhost" },
          // The request itself is PHONE's first use: it is recorded before the list is read.
          { device_id: "PHONE", user_id: "@ann:localhost", display_name: "Ann's phone", ...SEEN },
        ],
      });
      for (const v of ["r0", "unstable"]) {
        const other = await call(server.url, "GET", `/_matrix/client/${v}/devices`, { token: a.token });
        expect(other.body, v).toEqual(r.body);
      }
    });

    it("returns one device, and 404 for an unknown one or another user's", async () => {
      const a = await registerUser(server.url, "cat", "pw", {
        device_id: "CATDEV",
        initial_device_display_name: "Desk",
      });
      await registerUser(server.url, "dan", "pw", { device_id: "DANDEV" });
      const r = await call(server.url, "GET", device("CATDEV"), { token: a.token });
      expect(r.status).toBe(200);
      expect(r.body).toEqual({ device_id: "CATDEV", user_id: "@cat:localhost", display_name: "Desk", ...SEEN });
      expectMatrixError(
        await call(server.url, "GET", device("NOPE"), { token: a.token }),
        404,
        "M_NOT_FOUND",
        "No device found",
      );
      expectMatrixError(
        await call(server.url, "GET", device("DANDEV"), { token: a.token }),
        404,
        "M_NOT_FOUND",
        "No device found",
      );
    });

    it("handles device IDs with characters that must be percent-encoded", async () => {
      const id = "my device:1/ü";
      const a = await registerUser(server.url, "eli", "pw", { device_id: id });
      const r = await call(server.url, "GET", device(id), { token: a.token });
      expect(r.status, r.text).toBe(200);
      expect(r.body.device_id).toBe(id);
    });

    it("needs an access token; guests may look", async () => {
      expectMatrixError(await call(server.url, "GET", DEVICES), 401, "M_MISSING_TOKEN", "Missing access token");
      const g = await call(server.url, "POST", "/_matrix/client/v3/register?kind=guest", { json: {} });
      const r = await call(server.url, "GET", DEVICES, { token: g.body.access_token as string });
      expect(r.status).toBe(200);
      expect(r.body).toEqual({ devices: [{ device_id: "guest_device", user_id: g.body.user_id, ...SEEN }] });
    });
  });

  describe("PUT /devices/{deviceId}", () => {
    it("renames a device; absent display_name leaves it", async () => {
      const a = await registerUser(server.url, "fox", "pw", {
        device_id: "FOXDEV",
        initial_device_display_name: "Old",
      });
      const r = await call(server.url, "PUT", device("FOXDEV"), { token: a.token, json: { display_name: "New name" } });
      expect(r.status, r.text).toBe(200);
      expect(r.body).toEqual({});
      expect((await call(server.url, "GET", device("FOXDEV"), { token: a.token })).body.display_name).toBe("New name");
      expect((await call(server.url, "PUT", device("FOXDEV"), { token: a.token, json: {} })).status).toBe(200);
      expect((await call(server.url, "GET", device("FOXDEV"), { token: a.token })).body.display_name).toBe("New name");
      const max = "ü".repeat(100);
      expect(
        (await call(server.url, "PUT", device("FOXDEV"), { token: a.token, json: { display_name: max } })).status,
      ).toBe(200);
      expect((await call(server.url, "GET", device("FOXDEV"), { token: a.token })).body.display_name).toBe(max);
    });

    it("refuses a long or non-string name, an unknown device and another user's", async () => {
      const a = await registerUser(server.url, "gus", "pw", {
        device_id: "GUSDEV",
        initial_device_display_name: "Kept",
      });
      await registerUser(server.url, "hat", "pw", { device_id: "HATDEV" });
      const long = await call(server.url, "PUT", device("GUSDEV"), {
        token: a.token,
        json: { display_name: "x".repeat(101) },
      });
      expectMatrixError(long, 400, "M_TOO_LARGE", "Device display name is too long (max 100)");
      const notString = await call(server.url, "PUT", device("GUSDEV"), { token: a.token, json: { display_name: 5 } });
      expect(notString.status).toBe(400);
      expect(notString.body.errcode).toBe("M_BAD_JSON");
      expectMatrixError(
        await call(server.url, "PUT", device("GUSDEV"), { token: a.token }),
        400,
        "M_NOT_JSON",
        "Content not JSON.",
      );
      for (const id of ["NOPE", "HATDEV"]) {
        for (const json of [{ display_name: "x" }, {}]) {
          expectMatrixError(
            await call(server.url, "PUT", device(id), { token: a.token, json }),
            404,
            "M_NOT_FOUND",
            "Not found",
          );
        }
      }
      expect((await call(server.url, "GET", device("GUSDEV"), { token: a.token })).body.display_name).toBe("Kept");
    });
  });

  describe("DELETE /devices/{deviceId}", () => {
    it("asks for the password, refuses a wrong one, then deletes the device with its tokens and keys", async () => {
      const a = await registerUser(server.url, "ivy", "ivy-pw", { device_id: "IVY1" });
      const b = await login(server.url, "ivy", "ivy-pw", "IVY2");
      await db.kysely
        .insertInto("device_keys")
        .values({ user_id: a.userId, device_id: "IVY2", key_json: "{}" })
        .execute();

      const c = await challenge(server.url, "DELETE", device("IVY2"), a.token, {});
      expect(c.params).toEqual({});
      const wrong = await call(server.url, "DELETE", device("IVY2"), {
        token: a.token,
        json: { auth: passwordAuth(c.session, "ivy", "no") },
      });
      expect(wrong.status).toBe(401);
      expect(wrong.body.errcode).toBe("M_FORBIDDEN");
      expect((await whoami(server.url, b.token)).status).toBe(200);

      const r = await call(server.url, "DELETE", device("IVY2"), {
        token: a.token,
        json: { auth: passwordAuth(c.session, "ivy", "ivy-pw") },
      });
      expect(r.status, r.text).toBe(200);
      expect(r.body).toEqual({});
      expectMatrixError(await whoami(server.url, b.token), 401, "M_UNKNOWN_TOKEN", "Unrecognised access token", {
        soft_logout: false,
      });
      expect((await whoami(server.url, a.token)).status).toBe(200);
      expectMatrixError(
        await call(server.url, "GET", device("IVY2"), { token: a.token }),
        404,
        "M_NOT_FOUND",
        "No device found",
      );
      const keys = await db.kysely.selectFrom("device_keys").selectAll().where("user_id", "=", a.userId).execute();
      expect(keys).toEqual([]);
      // The user's other devices (and `/keys/changes`) hear that the device list changed.
      const changes = await db.kysely
        .selectFrom("device_list_changes")
        .selectAll()
        .where("user_id", "=", a.userId)
        .execute();
      expect(changes.map((c) => c.device_id)).toContain("IVY2");
    });

    it("a first request without a body still gets the challenge; an unknown device is not an error", async () => {
      const a = await registerUser(server.url, "jan", "jan-pw");
      const first = await call(server.url, "DELETE", device("NOPE"), { token: a.token });
      expect(first.status).toBe(401);
      const r = await call(server.url, "DELETE", device("NOPE"), {
        token: a.token,
        json: { auth: passwordAuth(first.body.session as string, "jan", "jan-pw") },
      });
      expect(r.status, r.text).toBe(200);
    });

    it("cannot delete another user's device", async () => {
      const a = await registerUser(server.url, "kim", "kim-pw");
      const other = await registerUser(server.url, "lee", "lee-pw", { device_id: "LEEDEV" });
      const r = await withPassword(server.url, "DELETE", device("LEEDEV"), a.token, {}, "kim", "kim-pw");
      expect(r.status).toBe(200);
      expect((await whoami(server.url, other.token)).status).toBe(200);
    });

    it("another user's password is 403 before it is checked: right and wrong get the same answer", async () => {
      const a = await registerUser(server.url, "kit", "kit-pw", { device_id: "KITDEV" });
      await registerUser(server.url, "lou", "lou-pw");
      for (const guess of ["lou-pw", "not lou's"]) {
        const c = await challenge(server.url, "DELETE", device("KITDEV"), a.token, {});
        const r = await call(server.url, "DELETE", device("KITDEV"), {
          token: a.token,
          json: { auth: passwordAuth(c.session, "lou", guess) },
        });
        expectMatrixError(r, 403, "M_FORBIDDEN", "Invalid auth");
      }
      expect((await whoami(server.url, a.token)).status).toBe(200);
    });

    it("may delete the requester's own device, ending its session", async () => {
      const a = await registerUser(server.url, "max", "max-pw", { device_id: "MAXDEV" });
      const r = await withPassword(server.url, "DELETE", device("MAXDEV"), a.token, {}, "max", "max-pw");
      expect(r.status).toBe(200);
      expect((await whoami(server.url, a.token)).status).toBe(401);
    });

    it("is closed to guests and needs a token", async () => {
      const g = await call(server.url, "POST", "/_matrix/client/v3/register?kind=guest", { json: {} });
      const r = await call(server.url, "DELETE", device("guest_device"), {
        token: g.body.access_token as string,
        json: {},
      });
      expectMatrixError(r, 403, "M_GUEST_ACCESS_FORBIDDEN", "Guest access not allowed");
      expectMatrixError(
        await call(server.url, "DELETE", device("X"), { json: {} }),
        401,
        "M_MISSING_TOKEN",
        "Missing access token",
      );
    });
  });

  describe("POST /delete_devices", () => {
    it("deletes every listed device in one go after UIA, ignoring unknown IDs", async () => {
      const a = await registerUser(server.url, "ned", "ned-pw", { device_id: "NED1" });
      const b = await login(server.url, "ned", "ned-pw", "NED2");
      const c = await login(server.url, "ned", "ned-pw", "NED3");
      const body = { devices: ["NED2", "NED3", "UNKNOWN"] };
      const ch = await challenge(server.url, "POST", DELETE_DEVICES, a.token, body);
      const r = await call(server.url, "POST", DELETE_DEVICES, {
        token: a.token,
        json: { ...body, auth: passwordAuth(ch.session, "@ned:localhost", "ned-pw") },
      });
      expect(r.status, r.text).toBe(200);
      expect(r.body).toEqual({});
      expect((await whoami(server.url, b.token)).status).toBe(401);
      expect((await whoami(server.url, c.token)).status).toBe(401);
      const list = await call(server.url, "GET", DEVICES, { token: a.token });
      expect(list.body).toEqual({ devices: [{ device_id: "NED1", user_id: "@ned:localhost", ...SEEN }] });
    });

    it("needs `devices` as a list of strings on every request, before UIA", async () => {
      const a = await registerUser(server.url, "ola", "ola-pw", { device_id: "OLA1" });
      for (const json of [{}, { devices: "OLA1" }, { devices: [1] }]) {
        const r = await call(server.url, "POST", DELETE_DEVICES, { token: a.token, json });
        expect(r.status, JSON.stringify(json)).toBe(400);
        expect(r.body.errcode).toBe("M_BAD_JSON");
      }
      const ch = await challenge(server.url, "POST", DELETE_DEVICES, a.token, { devices: ["OLA1"] });
      const r = await call(server.url, "POST", DELETE_DEVICES, {
        token: a.token,
        json: { auth: passwordAuth(ch.session, "ola", "ola-pw") },
      });
      expect(r.status).toBe(400);
      expect(r.body.errcode).toBe("M_BAD_JSON");
      expect((await whoami(server.url, a.token)).status).toBe(200);
    });

    it("a session opened for one device's DELETE cannot delete another", async () => {
      const a = await registerUser(server.url, "pia", "pia-pw", { device_id: "PIA1" });
      await login(server.url, "pia", "pia-pw", "PIA2");
      const ch = await challenge(server.url, "DELETE", device("PIA1"), a.token, {});
      const r = await call(server.url, "DELETE", device("PIA2"), {
        token: a.token,
        json: { auth: passwordAuth(ch.session, "pia", "pia-pw") },
      });
      expectMatrixError(r, 403, "M_UNKNOWN", "Requested operation has changed during the UI authentication session.");
    });
  });
});
