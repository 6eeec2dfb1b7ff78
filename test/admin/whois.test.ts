/**
 * Last-seen recording and whois, on SQLite and PostgreSQL: an authenticated request records its device's IP (the
 * `X-Forwarded-For` one on an `x_forwarded` listener), user agent and time, at most once a minute per device; whois
 * shows them in Synapse's shape to admins and to the user themself.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { login, whoami } from "../api/account-support.js";
import { expectMatrixError } from "../api/support.js";
import { forEachDatabase } from "../helpers/databases.js";
import { call } from "../helpers/http.js";
import { specCall } from "../helpers/openapi.js";
import { ADMIN, PASSWORD, enc, closeAdminFixture, startAdminFixture, type AdminFixture } from "./support.js";

const adminWhois = (id: string) => `${ADMIN}/v1/whois/${enc(id)}`;

forEachDatabase((kind) => {
  let fx: AdminFixture;
  beforeAll(async () => {
    fx = await startAdminFixture(kind);
  });
  afterAll(() => closeAdminFixture(fx));

  describe("last seen", () => {
    it("is recorded on the first authenticated request, and not rewritten within the minute", async () => {
      const s = await fx.user("lou", { device_id: "LOUDEV" });
      const before = Date.now();
      await call(fx.url, "GET", "/_matrix/client/v3/account/whoami", {
        token: s.token,
        headers: { "user-agent": "First/1.0" },
      });
      await call(fx.url, "GET", "/_matrix/client/v3/account/whoami", {
        token: s.token,
        headers: { "user-agent": "Second/2.0" },
      });
      const row = await fx.look.kysely
        .selectFrom("devices")
        .selectAll()
        .where("user_id", "=", "@lou:localhost")
        .executeTakeFirstOrThrow();
      expect(row.last_seen_ip).toBe("127.0.0.1");
      expect(row.last_seen_user_agent).toBe("First/1.0");
      expect(Number(row.last_seen_ts)).toBeGreaterThanOrEqual(before);
      expect(Number(row.last_seen_ts)).toBeLessThanOrEqual(Date.now());
      const mine = await call(fx.url, "GET", "/_matrix/client/v3/devices", { token: s.token });
      expect(mine.body.devices).toEqual([
        {
          device_id: "LOUDEV",
          user_id: "@lou:localhost",
          last_seen_ip: "127.0.0.1",
          last_seen_ts: Number(row.last_seen_ts),
        },
      ]);
      const listed = await fx.as("GET", `${ADMIN}/v2/users?user_id=lou`);
      expect((listed.body.users as { last_seen_ts: number }[])[0]!.last_seen_ts).toBe(Number(row.last_seen_ts));
      expect((await fx.as("GET", `${ADMIN}/v2/users/@lou:localhost`)).body.last_seen_ts).toBe(Number(row.last_seen_ts));
    });
  });

  describe("GET /_synapse/admin/v1/whois/{userId} and /_matrix/client/v3/admin/whois/{userId}", () => {
    it('lists each used device\'s last connection under the device key "", newest first', async () => {
      const s = await fx.user("max", { device_id: "OLD" });
      await call(fx.url, "GET", "/_matrix/client/v3/account/whoami", {
        token: s.token,
        headers: { "user-agent": "Old/1" },
      });
      await login(fx.url, "max", PASSWORD, "UNUSED");
      const fresh = await login(fx.url, "max", PASSWORD, "NEW");
      await new Promise((r) => setTimeout(r, 5));
      await call(fx.url, "GET", "/_matrix/client/v3/account/whoami", { token: fresh.token });
      const r = await fx.as("GET", adminWhois("@max:localhost"));
      expect(r.status, r.text).toBe(200);
      expect(r.body).toEqual({
        user_id: "@max:localhost",
        devices: {
          "": {
            sessions: [
              {
                connections: [
                  { ip: "127.0.0.1", last_seen: expect.any(Number), user_agent: expect.any(String) },
                  { ip: "127.0.0.1", last_seen: expect.any(Number), user_agent: "Old/1" },
                ],
              },
            ],
          },
        },
      });
      const [a, b] = (r.body.devices as Record<string, { sessions: { connections: { last_seen: number }[] }[] }>)[""]!
        .sessions[0]!.connections;
      expect(a!.last_seen).toBeGreaterThan(b!.last_seen);
      expect((await fx.as("GET", `${ADMIN}/v1/whois/@max:localhost`)).body).toEqual(r.body);
      for (const v of ["v3", "r0", "api/v1"]) {
        const c = await call(fx.url, "GET", `/_matrix/client/${v}/admin/whois/${enc("@max:localhost")}`, {
          token: fx.admin.token,
        });
        expect(c.body, v).toEqual(r.body);
      }
    });

    it("answers the user about themself, in the spec's shape", async () => {
      const s = await fx.user("ned");
      await whoami(fx.url, s.token);
      const r = await specCall(fx.url, "GET", `/_matrix/client/v3/admin/whois/${enc("@ned:localhost")}`, {
        token: s.token,
      });
      expect(r.status, r.text).toBe(200);
      expect(r.body.user_id).toBe("@ned:localhost");
      expect((await call(fx.url, "GET", adminWhois("@ned:localhost"), { token: s.token })).status).toBe(200);
      expectMatrixError(
        await call(fx.url, "GET", adminWhois("@max:localhost"), { token: s.token }),
        403,
        "M_FORBIDDEN",
        "You are not a server admin",
      );
    });

    it("answers Synapse's errors", async () => {
      expectMatrixError(
        await fx.as("GET", adminWhois("@x:elsewhere.org")),
        400,
        "M_UNKNOWN",
        "Can only whois a local user",
      );
      expectMatrixError(await fx.as("GET", adminWhois("@nobody:localhost")), 404, "M_NOT_FOUND", "User not found");
      expectMatrixError(
        await fx.as("GET", adminWhois("max")),
        400,
        "M_INVALID_PARAM",
        "Expected UserID string to start with '@'",
      );
      expectMatrixError(
        await fx.as("GET", adminWhois("@max:localhost"), { token: null }),
        401,
        "M_MISSING_TOKEN",
        "Missing access token",
      );
    });
  });

  describe("behind a reverse proxy (x_forwarded)", () => {
    let proxied: AdminFixture;
    beforeAll(async () => {
      proxied = await startAdminFixture(kind, {
        listeners: [
          {
            port: 0,
            bind_addresses: ["127.0.0.1"],
            type: "http",
            x_forwarded: true,
            resources: [{ names: ["client"] }],
          },
        ],
      });
    });
    afterAll(() => closeAdminFixture(proxied));

    it("records the client's address from X-Forwarded-For", async () => {
      const s = await proxied.user("oli");
      await call(proxied.url, "GET", "/_matrix/client/v3/account/whoami", {
        token: s.token,
        headers: { "x-forwarded-for": "203.0.113.7, 10.0.0.1", "user-agent": "Proxied/1" },
      });
      const r = await proxied.as("GET", adminWhois("@oli:localhost"));
      expect(r.body.devices).toEqual({
        "": {
          sessions: [{ connections: [{ ip: "203.0.113.7", last_seen: expect.any(Number), user_agent: "Proxied/1" }] }],
        },
      });
    });
  });
});
