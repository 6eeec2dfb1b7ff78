/**
 * Synapse's device admin API over real HTTP on SQLite and PostgreSQL: another user's devices listed, created,
 * looked up, renamed and deleted (with their tokens), and Synapse's errors.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { login, whoami } from "../api/account-support.js";
import { expectMatrixError } from "../api/support.js";
import { forEachDatabase } from "../helpers/databases.js";
import { ADMIN, PASSWORD, enc, closeAdminFixture, startAdminFixture, type AdminFixture } from "./support.js";

const devices = (id: string) => `${ADMIN}/v2/users/${enc(id)}/devices`;
const device = (id: string, dev: string) => `${devices(id)}/${encodeURIComponent(dev)}`;

forEachDatabase((kind) => {
  let fx: AdminFixture;
  beforeAll(async () => {
    fx = await startAdminFixture(kind);
  });
  afterAll(() => closeAdminFixture(fx));

  describe("GET /_synapse/admin/v2/users/{userId}/devices and /devices/{deviceId}", () => {
    it("lists every device with every field, null when unknown", async () => {
      await fx.user("amy", { device_id: "PHONE", initial_device_display_name: "Amy's phone" });
      const laptop = await login(fx.url, "amy", PASSWORD, "LAPTOP");
      await whoami(fx.url, laptop.token);
      const r = await fx.as("GET", devices("@amy:localhost"));
      expect(r.status, r.text).toBe(200);
      expect(r.body).toEqual({
        devices: [
          {
            device_id: "LAPTOP",
            display_name: null,
            last_seen_ip: "127.0.0.1",
            last_seen_ts: expect.any(Number),
            last_seen_user_agent: expect.any(String),
            user_id: "@amy:localhost",
            dehydrated: false,
          },
          {
            device_id: "PHONE",
            display_name: "Amy's phone",
            last_seen_ip: null,
            last_seen_ts: null,
            last_seen_user_agent: null,
            user_id: "@amy:localhost",
            dehydrated: false,
          },
        ],
        total: 2,
      });
      const one = await fx.as("GET", device("@amy:localhost", "PHONE"));
      expect(one.body).toEqual((r.body.devices as unknown[])[1]);
      expect((await fx.as("GET", `${ADMIN}/v2/users/@amy:localhost/devices/PHONE`)).body).toEqual(one.body);
      expectMatrixError(await fx.as("GET", device("@amy:localhost", "NOPE")), 404, "M_NOT_FOUND", "No device found");
    });

    it("answers Synapse's errors for remote, unknown and malformed users", async () => {
      for (const path of [devices("@x:elsewhere.org"), device("@x:elsewhere.org", "D")]) {
        expectMatrixError(await fx.as("GET", path), 400, "M_UNKNOWN", "Can only lookup local users");
      }
      for (const path of [devices("@nobody:localhost"), device("@nobody:localhost", "D")]) {
        expectMatrixError(await fx.as("GET", path), 404, "M_NOT_FOUND", "Unknown user");
      }
      expectMatrixError(
        await fx.as("GET", devices("amy")),
        400,
        "M_INVALID_PARAM",
        "Expected UserID string to start with '@'",
      );
    });
  });

  describe("POST /_synapse/admin/v2/users/{userId}/devices", () => {
    it("creates a device (201), and leaves an existing one alone", async () => {
      await fx.user("bea", { device_id: "FIRST" });
      const r = await fx.as("POST", devices("@bea:localhost"), { json: { device_id: "MADE" } });
      expect(r.status, r.text).toBe(201);
      expect(r.body).toEqual({});
      expect((await fx.as("GET", devices("@bea:localhost"))).body.total).toBe(2);
      expect((await fx.as("POST", devices("@bea:localhost"), { json: { device_id: "MADE" } })).status).toBe(201);
      expect((await fx.as("GET", devices("@bea:localhost"))).body.total).toBe(2);
      expectMatrixError(
        await fx.as("POST", devices("@bea:localhost"), { json: {} }),
        400,
        "M_UNKNOWN",
        "Missing device_id",
      );
    });
  });

  describe("PUT /_synapse/admin/v2/users/{userId}/devices/{deviceId}", () => {
    it("renames a device, with the client API's rules", async () => {
      await fx.user("cid", { device_id: "DEV" });
      const r = await fx.as("PUT", device("@cid:localhost", "DEV"), { json: { display_name: "Renamed by admin" } });
      expect(r.status, r.text).toBe(200);
      expect(r.body).toEqual({});
      expect((await fx.as("GET", device("@cid:localhost", "DEV"))).body.display_name).toBe("Renamed by admin");
      expect((await fx.as("PUT", device("@cid:localhost", "DEV"))).status).toBe(200);
      expectMatrixError(
        await fx.as("PUT", device("@cid:localhost", "DEV"), { json: { display_name: "x".repeat(101) } }),
        400,
        "M_TOO_LARGE",
        "Device display name is too long (max 100)",
      );
      expectMatrixError(
        await fx.as("PUT", device("@cid:localhost", "NOPE"), { json: { display_name: "a" } }),
        404,
        "M_NOT_FOUND",
        "Not found",
      );
    });
  });

  describe("DELETE …/devices/{deviceId} and POST …/delete_devices", () => {
    it("deletes devices with their tokens; unknown IDs are not an error", async () => {
      const s = await fx.user("dan", { device_id: "ONE" });
      const two = await login(fx.url, "dan", PASSWORD, "TWO");
      const three = await login(fx.url, "dan", PASSWORD, "THREE");
      const del = await fx.as("DELETE", device("@dan:localhost", "ONE"));
      expect(del.status, del.text).toBe(200);
      expect(del.body).toEqual({});
      expect((await whoami(fx.url, s.token)).status).toBe(401);
      expect((await whoami(fx.url, two.token)).status).toBe(200);
      expect((await fx.as("DELETE", device("@dan:localhost", "ONE"))).status).toBe(200);

      const many = await fx.as("POST", `${ADMIN}/v2/users/${enc("@dan:localhost")}/delete_devices`, {
        json: { devices: ["TWO", "THREE", "NEVER"] },
      });
      expect(many.status, many.text).toBe(200);
      expect(many.body).toEqual({});
      expect((await whoami(fx.url, two.token)).status).toBe(401);
      expect((await whoami(fx.url, three.token)).status).toBe(401);
      expect((await fx.as("GET", devices("@dan:localhost"))).body).toEqual({ devices: [], total: 0 });
    });

    it("answers Synapse's errors for delete_devices", async () => {
      const path = `${ADMIN}/v2/users/${enc("@dan:localhost")}/delete_devices`;
      expectMatrixError(await fx.as("POST", path, { json: {} }), 400, "M_MISSING_PARAM", "Missing params: ['devices']");
      expectMatrixError(
        await fx.as("POST", path, { json: { devices: [1] } }),
        400,
        "M_BAD_JSON",
        "devices must be a list of strings",
      );
      expectMatrixError(
        await fx.as("POST", `${ADMIN}/v2/users/@nobody:localhost/delete_devices`, { json: { devices: [] } }),
        404,
        "M_NOT_FOUND",
        "Unknown user",
      );
    });
  });
});
