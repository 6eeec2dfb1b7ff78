/**
 * Synapse's user admin API over real HTTP on SQLite and PostgreSQL: each endpoint's happy path, Synapse's shapes
 * and quirks (seconds vs milliseconds, v2 vs v3 filters, Python truth for `admin`), and Synapse's errors.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loginRequest, whoami } from "../api/account-support.js";
import { expectMatrixError } from "../api/support.js";
import { forEachDatabase } from "../helpers/databases.js";
import { call } from "../helpers/http.js";
import { startTestServer } from "../helpers/server.js";
import { ADMIN, PASSWORD, enc, closeAdminFixture, startAdminFixture, type AdminFixture } from "./support.js";

const user = (id: string) => `${ADMIN}/v2/users/${enc(id)}`;

forEachDatabase((kind) => {
  let fx: AdminFixture;
  beforeAll(async () => {
    fx = await startAdminFixture(kind, { allow_guest_access: true });
  });
  afterAll(() => closeAdminFixture(fx));

  describe("GET /_synapse/admin/v2/users/{userId}", () => {
    it("returns Synapse's account shape, creation_ts in seconds, for raw and encoded IDs", async () => {
      const before = Math.floor(Date.now() / 1000);
      await fx.user("gina", { initial_device_display_name: "Gina's phone" });
      const encoded = await fx.as("GET", user("@gina:localhost"));
      expect(encoded.status, encoded.text).toBe(200);
      expect(encoded.body).toEqual({
        name: "@gina:localhost",
        admin: false,
        deactivated: false,
        locked: false,
        shadow_banned: false,
        creation_ts: expect.any(Number),
        appservice_id: null,
        consent_server_notice_sent: null,
        consent_version: null,
        consent_ts: null,
        user_type: null,
        is_guest: false,
        suspended: false,
        displayname: "gina",
        avatar_url: null,
        threepids: [],
        external_ids: [],
        erased: false,
        last_seen_ts: null,
      });
      expect(encoded.body.creation_ts as number).toBeGreaterThanOrEqual(before - 1);
      expect(encoded.body.creation_ts as number).toBeLessThan(before + 100);
      expect(encoded.text).not.toContain("password");
      const raw = await fx.as("GET", `${ADMIN}/v2/users/@gina:localhost`);
      expect(raw.body).toEqual(encoded.body);
    });

    it("refuses malformed, remote and unknown user IDs with Synapse's errors", async () => {
      expectMatrixError(
        await fx.as("GET", user("gina")),
        400,
        "M_INVALID_PARAM",
        "Expected UserID string to start with '@'",
      );
      expectMatrixError(
        await fx.as("GET", user("@gina")),
        400,
        "M_INVALID_PARAM",
        "Expected UserID of the form '@localname:domain'",
      );
      expectMatrixError(
        await fx.as("GET", user("@gina:elsewhere.org")),
        400,
        "M_UNKNOWN",
        "Can only look up local users",
      );
      expectMatrixError(await fx.as("GET", user("@nobody:localhost")), 404, "M_NOT_FOUND", "User not found");
    });
  });

  describe("PUT /_synapse/admin/v2/users/{userId}: create", () => {
    it("creates an account (201) that can log in, with the fields given", async () => {
      const r = await fx.as("PUT", user("@hana:localhost"), {
        json: {
          password: "hana's password",
          displayname: "Hana H",
          avatar_url: "mxc://localhost/abcdef",
          admin: true,
          user_type: "bot",
          threepids: [{ medium: "email", address: "Hana@Example.ORG" }],
          external_ids: [{ auth_provider: "oidc", external_id: "hana-1" }],
        },
      });
      expect(r.status, r.text).toBe(201);
      expect(r.body).toMatchObject({
        name: "@hana:localhost",
        admin: true,
        user_type: "bot",
        displayname: "Hana H",
        avatar_url: "mxc://localhost/abcdef",
        threepids: [{ medium: "email", address: "hana@example.org", validated_at: expect.any(Number) }],
        external_ids: [{ auth_provider: "oidc", external_id: "hana-1" }],
        deactivated: false,
        locked: false,
      });
      const tp = (r.body.threepids as { validated_at: number; added_at: number }[])[0]!;
      expect(tp.added_at).toBe(tp.validated_at);
      const l = await loginRequest(fx.url, "hana", "hana's password");
      expect(l.status, l.text).toBe(200);
    });

    it("defaults the display name to the localpart, and makes no password when none is given", async () => {
      const r = await fx.as("PUT", user("@ivo:localhost"), { json: {} });
      expect(r.status, r.text).toBe(201);
      expect(r.body).toMatchObject({ displayname: "ivo", admin: false, user_type: null });
      const l = await loginRequest(fx.url, "ivo", "");
      expect(l.status).toBe(403);
    });

    it("honours locked on creation (Synapse ignores it)", async () => {
      const r = await fx.as("PUT", user("@jon:localhost"), { json: { password: "jon's password", locked: true } });
      expect(r.status, r.text).toBe(201);
      expect(r.body.locked).toBe(true);
      expectMatrixError(
        await loginRequest(fx.url, "jon", "jon's password"),
        401,
        "M_USER_LOCKED",
        "User account has been locked",
        {
          soft_logout: true,
        },
      );
    });

    it("applies the username rules (no lower-casing) and refuses a case variant of a taken name", async () => {
      expectMatrixError(
        await fx.as("PUT", user("@Kim:localhost"), { json: {} }),
        400,
        "M_INVALID_USERNAME",
        "User ID can only contain characters a-z, 0-9, or '=_-./+'",
      );
      expectMatrixError(
        await fx.as("PUT", user("@12345:localhost"), { json: {} }),
        400,
        "M_INVALID_USERNAME",
        "Numeric user IDs are reserved for guest users.",
      );
    });

    it("checks the body with Synapse's words before writing anything", async () => {
      const cases: [Record<string, unknown>, number, string, string][] = [
        [{ admin: "yes" }, 400, "M_BAD_JSON", "Param 'admin' must be a boolean, if given"],
        [{ deactivated: "false" }, 400, "M_UNKNOWN", "'deactivated' parameter is not of type boolean"],
        [{ locked: 1 }, 400, "M_UNKNOWN", "'locked' parameter is not of type boolean"],
        [{ logout_devices: "no" }, 400, "M_UNKNOWN", "'logout_devices' parameter is not of type boolean"],
        [{ deactivated: true, locked: true }, 400, "M_UNKNOWN", "An user can't be deactivated and locked"],
        [{ password: 12 }, 400, "M_UNKNOWN", "Invalid password"],
        [{ password: "" }, 400, "M_UNKNOWN", "Invalid password"],
        [{ password: "x".repeat(513) }, 400, "M_UNKNOWN", "Invalid password"],
        [{ user_type: "robot" }, 400, "M_UNKNOWN", "Invalid user type"],
        [{ threepids: [{ medium: "email" }] }, 400, "M_MISSING_PARAM", "Missing params: ['address']"],
        [
          { threepids: [{ medium: "fax", address: "1" }] },
          400,
          "M_INVALID_PARAM",
          "'fax' is not a valid value for 'medium'",
        ],
        [{ external_ids: [{ auth_provider: "x" }] }, 400, "M_MISSING_PARAM", "Missing params: ['external_id']"],
        [{ avatar_url: "a\u0000b" }, 400, "M_INVALID_PARAM", "'avatar_url' must not contain NUL characters"],
      ];
      for (const [json, status, errcode, error] of cases) {
        expectMatrixError(await fx.as("PUT", user("@lea:localhost"), { json }), status, errcode, error);
      }
      expect((await fx.as("GET", user("@lea:localhost"))).status).toBe(404);
      expectMatrixError(
        await fx.as("PUT", user("@lea:elsewhere.org"), { json: {} }),
        400,
        "M_UNKNOWN",
        "This endpoint can only be used with local users",
      );
      expectMatrixError(
        await fx.as("PUT", user("@lea:localhost"), { body: "{" }),
        400,
        "M_NOT_JSON",
        "Content not JSON.",
      );
    });

    it("refuses a 3PID or external ID that belongs to another account (409) and creates nothing", async () => {
      await fx.as("PUT", user("@mia:localhost"), {
        json: {
          threepids: [{ medium: "email", address: "mia@example.org" }],
          external_ids: [{ auth_provider: "oidc", external_id: "mia" }],
        },
      });
      expectMatrixError(
        await fx.as("PUT", user("@mia2:localhost"), {
          json: { threepids: [{ medium: "email", address: "MIA@example.org" }] },
        }),
        409,
        "M_THREEPID_IN_USE",
        "Threepid is already in use.",
      );
      expectMatrixError(
        await fx.as("PUT", user("@mia2:localhost"), {
          json: { external_ids: [{ auth_provider: "oidc", external_id: "mia" }] },
        }),
        409,
        "M_UNKNOWN",
        "External id is already in use.",
      );
      expect((await fx.as("GET", user("@mia2:localhost"))).status).toBe(404);
    });
  });

  describe("PUT /_synapse/admin/v2/users/{userId}: modify", () => {
    it("changes only the fields given and answers 200 with the account", async () => {
      await fx.user("nia");
      const r = await fx.as("PUT", user("@nia:localhost"), {
        json: { displayname: "Nia N", avatar_url: "mxc://localhost/nia", user_type: "support" },
      });
      expect(r.status, r.text).toBe(200);
      expect(r.body).toMatchObject({
        displayname: "Nia N",
        avatar_url: "mxc://localhost/nia",
        user_type: "support",
        admin: false,
      });
      const again = await fx.as("PUT", user("@nia:localhost"), { json: { admin: true } });
      expect(again.body).toMatchObject({ displayname: "Nia N", admin: true, user_type: "support" });
      const off = await fx.as("PUT", user("@nia:localhost"), {
        json: { admin: false, user_type: null, displayname: "" },
      });
      expect(off.body).toMatchObject({ admin: false, user_type: null, displayname: null });
    });

    it("sets a password: logs the user out by default, or not with logout_devices false", async () => {
      const s = await fx.user("olaf");
      const r = await fx.as("PUT", user("@olaf:localhost"), {
        json: { password: "new password 1", logout_devices: false },
      });
      expect(r.status, r.text).toBe(200);
      expect((await whoami(fx.url, s.token)).status).toBe(200);
      expect((await loginRequest(fx.url, "olaf", PASSWORD)).status).toBe(403);
      expect((await loginRequest(fx.url, "olaf", "new password 1")).status).toBe(200);
      await fx.as("PUT", user("@olaf:localhost"), { json: { password: "new password 2" } });
      expectMatrixError(await whoami(fx.url, s.token), 401, "M_UNKNOWN_TOKEN", "Unrecognised access token", {
        soft_logout: false,
      });
      expect((await fx.as("GET", `${ADMIN}/v2/users/@olaf:localhost/devices`)).body.total).toBe(0);
    });

    it("deactivates and reactivates; reactivation restores no password", async () => {
      const s = await fx.user("pia");
      const d = await fx.as("PUT", user("@pia:localhost"), { json: { deactivated: true } });
      expect(d.status, d.text).toBe(200);
      expect(d.body.deactivated).toBe(true);
      expect((await whoami(fx.url, s.token)).status).toBe(401);
      expect((await loginRequest(fx.url, "pia", PASSWORD)).status).toBe(403);
      const a = await fx.as("PUT", user("@pia:localhost"), { json: { deactivated: false } });
      expect(a.body.deactivated).toBe(false);
      expect((await loginRequest(fx.url, "pia", PASSWORD)).status).toBe(403);
      await fx.as("PUT", user("@pia:localhost"), { json: { password: "pia again" } });
      expect((await loginRequest(fx.url, "pia", "pia again")).status).toBe(200);
    });

    it("locks and unlocks", async () => {
      const s = await fx.user("quin");
      expect((await fx.as("PUT", user("@quin:localhost"), { json: { locked: true } })).body.locked).toBe(true);
      expect((await whoami(fx.url, s.token)).body.errcode).toBe("M_USER_LOCKED");
      expect((await fx.as("PUT", user("@quin:localhost"), { json: { locked: false } })).body.locked).toBe(false);
      expect((await whoami(fx.url, s.token)).status).toBe(200);
    });

    it("replaces the 3PIDs and external IDs", async () => {
      await fx.user("rosa");
      await fx.as("PUT", user("@rosa:localhost"), {
        json: {
          threepids: [
            { medium: "email", address: "rosa@example.org" },
            { medium: "msisdn", address: "447700900000" },
          ],
          external_ids: [{ auth_provider: "a", external_id: "1" }],
        },
      });
      const r = await fx.as("PUT", user("@rosa:localhost"), {
        json: { threepids: [{ medium: "email", address: "rosa@example.net" }], external_ids: [] },
      });
      expect((r.body.threepids as { address: string }[]).map((t) => t.address)).toEqual(["rosa@example.net"]);
      expect(r.body.external_ids).toEqual([]);
    });

    it("will not let an admin demote themself, and changes nothing when one field is refused", async () => {
      expectMatrixError(
        await fx.as("PUT", user(fx.admin.userId), { json: { admin: false } }),
        400,
        "M_UNKNOWN",
        "You may not demote yourself.",
      );
      await fx.user("sven");
      await fx.as("PUT", user("@mia3:localhost"), {
        json: { external_ids: [{ auth_provider: "oidc", external_id: "taken" }] },
      });
      expectMatrixError(
        await fx.as("PUT", user("@sven:localhost"), {
          json: { displayname: "Changed", external_ids: [{ auth_provider: "oidc", external_id: "taken" }] },
        }),
        409,
        "M_UNKNOWN",
        "External id is already in use.",
      );
      expect((await fx.as("GET", user("@sven:localhost"))).body.displayname).toBe("sven");
    });
  });

  describe("GET /_synapse/admin/v2/users and v3/users", () => {
    const list = async (query: string, version = 2) => {
      const r = await fx.as("GET", `${ADMIN}/v${version}/users?${query}`);
      expect(r.status, r.text).toBe(200);
      return r.body as { users: Record<string, unknown>[]; total: number; next_token?: string };
    };
    const names = (b: { users: Record<string, unknown>[] }) => b.users.map((u) => u.name);

    beforeAll(async () => {
      for (const [localpart, json] of [
        ["ls_anna", { displayname: "Anna Zed" }],
        ["ls_bert", { displayname: "Bertrand", user_type: "bot" }],
        ["ls_cleo", { displayname: "Cleo", admin: true }],
        ["ls_dora", { displayname: "Dora", locked: true }],
        ["ls_emil", { displayname: "Emil_x", user_type: "support" }],
        ["ls_fay", { displayname: "Fay", deactivated: true }],
        ["lsxgus", { displayname: "Gus" }],
      ] as const) {
        const r = await fx.as("PUT", user(`@${localpart}:localhost`), { json });
        expect(r.status, r.text).toBe(201);
      }
      const g = await call(fx.url, "POST", "/_matrix/client/v3/register?kind=guest", { json: {} });
      expect(g.status, g.text).toBe(200);
    });

    it("answers Synapse's list shape with creation_ts in milliseconds", async () => {
      const b = await list("name=ls_anna");
      expect(b.total).toBe(1);
      expect(b.next_token).toBeUndefined();
      expect(b.users[0]).toEqual({
        name: "@ls_anna:localhost",
        user_type: null,
        is_guest: false,
        admin: false,
        deactivated: false,
        shadow_banned: false,
        displayname: "Anna Zed",
        avatar_url: null,
        creation_ts: expect.any(Number),
        approved: true,
        erased: false,
        last_seen_ts: null,
        locked: false,
        suspended: false,
      });
      expect(b.users[0]!.creation_ts as number).toBeGreaterThan(Date.now() - 600_000);
    });

    it("pages with from, limit and next_token", async () => {
      const all = await list("name=ls_&limit=100");
      expect(names(all)).toEqual([
        "@ls_anna:localhost",
        "@ls_bert:localhost",
        "@ls_cleo:localhost",
        "@ls_emil:localhost",
      ]);
      const p1 = await list("name=ls_&limit=2");
      expect(p1).toMatchObject({ total: 4, next_token: "2" });
      expect(names(p1)).toEqual(["@ls_anna:localhost", "@ls_bert:localhost"]);
      const p2 = await list("name=ls_&limit=2&from=2");
      expect(p2.next_token).toBeUndefined();
      expect(names(p2)).toEqual(["@ls_cleo:localhost", "@ls_emil:localhost"]);
      expect((await list("name=ls_&from=10")).users).toEqual([]);
      expect(await list("name=ls_&limit=0")).toEqual({ users: [], total: 4, next_token: "0" });
    });

    it("v2 hides deactivated accounts unless deactivated=true; v3 filters by it", async () => {
      expect(names(await list("name=ls_f"))).toEqual([]);
      expect(names(await list("name=ls_f&deactivated=false"))).toEqual([]);
      expect(names(await list("name=ls_f&deactivated=true"))).toEqual(["@ls_fay:localhost"]);
      expect(names(await list("name=ls_&deactivated=true"))).toHaveLength(5);
      expect(names(await list("name=ls_", 3))).toHaveLength(5);
      expect(names(await list("name=ls_&deactivated=true", 3))).toEqual(["@ls_fay:localhost"]);
      expect(names(await list("name=ls_&deactivated=false", 3))).toHaveLength(4);
    });

    it("hides locked accounts unless locked=true, and filters by admins, guests, suspended", async () => {
      expect(names(await list("name=ls_d"))).toEqual([]);
      expect(names(await list("name=ls_d&locked=true"))).toEqual(["@ls_dora:localhost"]);
      expect(names(await list("name=ls_&admins=true"))).toEqual(["@ls_cleo:localhost"]);
      expect(names(await list("name=ls_&admins=false"))).not.toContain("@ls_cleo:localhost");
      const guests = (await list("limit=1000")).users.filter((u) => u.is_guest);
      expect(guests.length).toBeGreaterThan(0);
      expect((await list("limit=1000&guests=false")).users.filter((u) => u.is_guest)).toEqual([]);
      await fx.as("PUT", `${ADMIN}/v1/suspend/${enc("@ls_anna:localhost")}`, { json: { suspend: true } });
      expect(names(await list("name=ls_a&suspended=false"))).toEqual([]);
      expect(names(await list("name=ls_a&suspended=true"))).toEqual(["@ls_anna:localhost"]);
      expect(names(await list("name=ls_a"))).toEqual(["@ls_anna:localhost"]);
      await fx.as("PUT", `${ADMIN}/v1/suspend/${enc("@ls_anna:localhost")}`, { json: { suspend: false } });
    });

    it("searches names: localpart or display name, any case, wildcards literal; user_id within the ID", async () => {
      expect(names(await list("name=LS_ANNA"))).toEqual(["@ls_anna:localhost"]);
      expect(names(await list("name=bertr"))).toEqual(["@ls_bert:localhost"]);
      expect(names(await list("name=ZED"))).toEqual(["@ls_anna:localhost"]);
      // `_` is not a wildcard: "ls_" does not match "lsxgus".
      expect(names(await list("name=lsxg"))).toEqual(["@lsxgus:localhost"]);
      expect(names(await list("name=ls_&limit=100"))).not.toContain("@lsxgus:localhost");
      expect(names(await list("name=mil_x"))).toEqual(["@ls_emil:localhost"]);
      // The server name alone matches nobody; a whole ID matches its account.
      expect(names(await list("name=localhost"))).toEqual([]);
      expect(names(await list("name=@ls_cleo:localhost"))).toEqual(["@ls_cleo:localhost"]);
      expect(names(await list("user_id=S_CLE"))).toEqual(["@ls_cleo:localhost"]);
      expect(names(await list("user_id=cleo&name=anna"))).toEqual(["@ls_anna:localhost"]);
    });

    it("filters by user type", async () => {
      expect(names(await list("name=ls_&not_user_type=bot"))).not.toContain("@ls_bert:localhost");
      expect(names(await list("name=ls_&not_user_type=bot&not_user_type=support"))).toEqual([
        "@ls_anna:localhost",
        "@ls_cleo:localhost",
      ]);
      expect(names(await list("name=ls_&not_user_type="))).toEqual(["@ls_bert:localhost", "@ls_emil:localhost"]);
      expect(names(await list("name=ls_&user_types=bot"))).toEqual(["@ls_bert:localhost"]);
      expect(names(await list("name=ls_&user_types=bot&user_types="))).toEqual([
        "@ls_anna:localhost",
        "@ls_bert:localhost",
        "@ls_cleo:localhost",
      ]);
    });

    it("orders by any of Synapse's columns, both ways, then by name", async () => {
      expect(names(await list("name=ls_&order_by=displayname&dir=b"))).toEqual([
        "@ls_emil:localhost",
        "@ls_cleo:localhost",
        "@ls_bert:localhost",
        "@ls_anna:localhost",
      ]);
      expect(names(await list("name=ls_&order_by=admin&dir=b"))[0]).toBe("@ls_cleo:localhost");
      expect(names(await list("name=ls_&order_by=user_type"))).toEqual([
        "@ls_anna:localhost",
        "@ls_cleo:localhost",
        "@ls_bert:localhost",
        "@ls_emil:localhost",
      ]);
      const seen = await fx.user("ls_seen");
      await whoami(fx.url, seen.token);
      const bySeen = names(await list("name=ls_&order_by=last_seen_ts&dir=b"));
      expect(bySeen[0]).toBe("@ls_seen:localhost");
      expect(names(await list("name=ls_&order_by=last_seen_ts")).at(-1)).toBe("@ls_seen:localhost");
      for (const col of ["name", "is_guest", "deactivated", "avatar_url", "shadow_banned", "creation_ts", "locked"]) {
        expect((await list(`name=ls_&order_by=${col}`)).total, col).toBe(5);
      }
    });

    it("refuses bad parameters with Synapse's words", async () => {
      const bad: [string, string][] = [
        ["guests=yes", "Boolean query parameter 'guests' must be one of ['true', 'false']"],
        ["deactivated=1", "Boolean query parameter 'deactivated' must be one of ['true', 'false']"],
        ["locked=", "Boolean query parameter 'locked' must be one of ['true', 'false']"],
        ["admins=TRUE", "Boolean query parameter 'admins' must be one of ['true', 'false']"],
        ["from=-1", "Query parameter from must be a string representing a positive integer."],
        ["limit=-5", "Query parameter limit must be a string representing a positive integer."],
        ["limit=ten", "Query parameter 'limit' must be an integer"],
        ["dir=up", "Query parameter 'dir' must be one of ['f', 'b']"],
        [
          "order_by=password_hash",
          "Query parameter 'order_by' must be one of ['name', 'displayname', 'is_guest', 'admin', 'deactivated', " +
            "'user_type', 'avatar_url', 'shadow_banned', 'creation_ts', 'last_seen_ts', 'locked']",
        ],
      ];
      for (const [query, error] of bad) {
        for (const v of [2, 3]) {
          expectMatrixError(await fx.as("GET", `${ADMIN}/v${v}/users?${query}`), 400, "M_INVALID_PARAM", error);
        }
      }
    });
  });

  describe("GET/PUT /_synapse/admin/v1/users/{userId}/admin", () => {
    it("reads and sets the flag, with Python's truth for the value", async () => {
      await fx.user("tove");
      const path = `${ADMIN}/v1/users/${enc("@tove:localhost")}/admin`;
      expect((await fx.as("GET", path)).body).toEqual({ admin: false });
      const put = await fx.as("PUT", path, { json: { admin: 1 } });
      expect(put.status, put.text).toBe(200);
      expect(put.body).toEqual({});
      expect((await fx.as("GET", path)).body).toEqual({ admin: true });
      await fx.as("PUT", path, { json: { admin: "" } });
      expect((await fx.as("GET", path)).body).toEqual({ admin: false });
      expect((await fx.as("GET", `${ADMIN}/v1/users/@nobody:localhost/admin`)).body).toEqual({ admin: false });
    });

    it("answers Synapse's errors", async () => {
      const path = (id: string) => `${ADMIN}/v1/users/${enc(id)}/admin`;
      const remote = "Only local users can be admins of this homeserver";
      expectMatrixError(await fx.as("GET", path("@x:elsewhere.org")), 400, "M_UNKNOWN", remote);
      expectMatrixError(
        await fx.as("PUT", path("@x:elsewhere.org"), { json: { admin: true } }),
        400,
        "M_UNKNOWN",
        remote,
      );
      expectMatrixError(
        await fx.as("PUT", path("@tove:localhost"), { json: {} }),
        400,
        "M_MISSING_PARAM",
        "Missing params: ['admin']",
      );
      expectMatrixError(
        await fx.as("PUT", path(fx.admin.userId), { json: { admin: false } }),
        400,
        "M_UNKNOWN",
        "You may not demote yourself.",
      );
      expectMatrixError(
        await fx.as("PUT", path("@nobody:localhost"), { json: { admin: true } }),
        404,
        "M_NOT_FOUND",
        "User not found",
      );
    });
  });

  describe("POST /_synapse/admin/v1/deactivate/{userId}", () => {
    it("deactivates with an empty body, and erases the profile with erase", async () => {
      const s = await fx.user("ulla");
      const r = await fx.as("POST", `${ADMIN}/v1/deactivate/${enc("@ulla:localhost")}`);
      expect(r.status, r.text).toBe(200);
      expect(r.body).toEqual({ id_server_unbind_result: "success" });
      expect((await whoami(fx.url, s.token)).status).toBe(401);
      const got = await fx.as("GET", user("@ulla:localhost"));
      expect(got.body).toMatchObject({ deactivated: true, erased: false, displayname: "ulla" });

      await fx.as("PUT", user("@vera:localhost"), {
        json: { threepids: [{ medium: "email", address: "vera@example.org" }] },
      });
      const e = await fx.as("POST", `${ADMIN}/v1/deactivate/@vera:localhost`, { json: { erase: true } });
      expect(e.body).toEqual({ id_server_unbind_result: "success" });
      expect((await fx.as("GET", user("@vera:localhost"))).body).toMatchObject({
        deactivated: true,
        erased: true,
        displayname: null,
        threepids: [],
      });
      const back = await fx.as("PUT", user("@vera:localhost"), { json: { deactivated: false } });
      expect(back.body).toMatchObject({ deactivated: false, erased: false });
    });

    it("answers Synapse's errors", async () => {
      expectMatrixError(
        await fx.as("POST", `${ADMIN}/v1/deactivate/${enc("@ulla:localhost")}`, { json: { erase: "yes" } }),
        400,
        "M_BAD_JSON",
        "Param 'erase' must be a boolean, if given",
      );
      expectMatrixError(
        await fx.as("POST", `${ADMIN}/v1/deactivate/@x:elsewhere.org`),
        400,
        "M_UNKNOWN",
        "Can only deactivate local users",
      );
      expectMatrixError(
        await fx.as("POST", `${ADMIN}/v1/deactivate/@nobody:localhost`),
        404,
        "M_NOT_FOUND",
        "User not found",
      );
    });
  });

  describe("POST /_synapse/admin/v1/reset_password/{userId}", () => {
    it("sets the password and logs the user out unless logout_devices is false", async () => {
      const s = await fx.user("walt");
      const path = `${ADMIN}/v1/reset_password/${enc("@walt:localhost")}`;
      const keep = await fx.as("POST", path, { json: { new_password: "walt one", logout_devices: false } });
      expect(keep.status, keep.text).toBe(200);
      expect(keep.body).toEqual({});
      expect((await whoami(fx.url, s.token)).status).toBe(200);
      expect((await loginRequest(fx.url, "walt", "walt one")).status).toBe(200);
      await fx.as("POST", path, { json: { new_password: "walt two" } });
      expect((await whoami(fx.url, s.token)).status).toBe(401);
      expect((await loginRequest(fx.url, "walt", "walt two")).status).toBe(200);
    });

    it("answers Synapse's errors", async () => {
      const path = `${ADMIN}/v1/reset_password/${enc("@walt:localhost")}`;
      expectMatrixError(
        await fx.as("POST", path, { json: {} }),
        400,
        "M_MISSING_PARAM",
        "Missing params: ['new_password']",
      );
      expectMatrixError(await fx.as("POST", path, { json: { new_password: 5 } }), 400, "M_UNKNOWN", "Invalid password");
      expectMatrixError(await fx.as("POST", path), 400, "M_NOT_JSON", "Content not JSON.");
      expectMatrixError(
        await fx.as("POST", `${ADMIN}/v1/reset_password/@nobody:localhost`, { json: { new_password: "abc" } }),
        404,
        "M_NOT_FOUND",
        "Unknown user",
      );
      expectMatrixError(
        await fx.as("POST", `${ADMIN}/v1/reset_password/nobody`, { json: { new_password: "abc" } }),
        400,
        "M_INVALID_PARAM",
        "Expected UserID string to start with '@'",
      );
    });
  });

  describe("GET /_synapse/admin/v1/username_available", () => {
    it("applies the username rules as given", async () => {
      const q = (u: string) => fx.as("GET", `${ADMIN}/v1/username_available?username=${encodeURIComponent(u)}`);
      expect((await q("free_name")).body).toEqual({ available: true });
      expectMatrixError(await q("root"), 400, "M_USER_IN_USE", "User ID already taken.");
      expectMatrixError(
        await q("ROOT"),
        400,
        "M_INVALID_USERNAME",
        "User ID can only contain characters a-z, 0-9, or '=_-./+'",
      );
      expectMatrixError(
        await fx.as("GET", `${ADMIN}/v1/username_available`),
        400,
        "M_MISSING_PARAM",
        "Missing string query parameter 'username'",
      );
    });
  });

  describe("POST /_synapse/admin/v1/users/{userId}/login", () => {
    it("issues a device-less token that acts as the user", async () => {
      await fx.user("xena");
      const r = await fx.as("POST", `${ADMIN}/v1/users/${enc("@xena:localhost")}/login`);
      expect(r.status, r.text).toBe(200);
      expect(Object.keys(r.body)).toEqual(["access_token"]);
      const token = r.body.access_token as string;
      expect(token).toMatch(/^syt_eGVuYQ_/);
      expect((await whoami(fx.url, token)).body).toEqual({ user_id: "@xena:localhost", is_guest: false });
      // The token is not an admin's: the admin API refuses it.
      expectMatrixError(
        await fx.as("GET", `${ADMIN}/v2/users`, { token }),
        403,
        "M_FORBIDDEN",
        "You are not a server admin",
      );
      const past = await fx.as("POST", `${ADMIN}/v1/users/@xena:localhost/login`, {
        json: { valid_until_ms: Date.now() - 1000 },
      });
      expectMatrixError(
        await whoami(fx.url, past.body.access_token as string),
        401,
        "M_UNKNOWN_TOKEN",
        "Access token has expired",
        {
          soft_logout: true,
        },
      );
      const future = await fx.as("POST", `${ADMIN}/v1/users/@xena:localhost/login`, {
        json: { valid_until_ms: Date.now() + 60_000 },
      });
      expect((await whoami(fx.url, future.body.access_token as string)).status).toBe(200);
    });

    it("answers Synapse's errors", async () => {
      const path = (id: string) => `${ADMIN}/v1/users/${enc(id)}/login`;
      expectMatrixError(
        await fx.as("POST", path(fx.admin.userId)),
        400,
        "M_UNKNOWN",
        "Cannot use admin API to login as self",
      );
      expectMatrixError(
        await fx.as("POST", path("@x:elsewhere.org")),
        400,
        "M_UNKNOWN",
        "Only local users can be logged in as",
      );
      expectMatrixError(
        await fx.as("POST", path("@xena:localhost"), { json: { valid_until_ms: "soon" } }),
        400,
        "M_UNKNOWN",
        "'valid_until_ms' parameter must be an int",
      );
      expectMatrixError(await fx.as("POST", path("@nobody:localhost")), 404, "M_NOT_FOUND", "User not found");
    });
  });

  describe("shadow_ban, suspend, joined_rooms", () => {
    it("shadow-bans and lifts it", async () => {
      await fx.user("yuri");
      const path = `${ADMIN}/v1/users/${enc("@yuri:localhost")}/shadow_ban`;
      expect((await fx.as("POST", path)).body).toEqual({});
      expect((await fx.as("GET", user("@yuri:localhost"))).body.shadow_banned).toBe(true);
      expect((await fx.as("DELETE", path)).body).toEqual({});
      expect((await fx.as("GET", user("@yuri:localhost"))).body.shadow_banned).toBe(false);
      expectMatrixError(
        await fx.as("POST", `${ADMIN}/v1/users/@x:elsewhere.org/shadow_ban`),
        400,
        "M_UNKNOWN",
        "Only local users can be shadow-banned",
      );
      expectMatrixError(
        await fx.as("DELETE", `${ADMIN}/v1/users/@nobody:localhost/shadow_ban`),
        404,
        "M_NOT_FOUND",
        "User not found",
      );
    });

    it("suspends: the user can no longer change their profile", async () => {
      const s = await fx.user("zoe");
      const path = `${ADMIN}/v1/suspend/${enc("@zoe:localhost")}`;
      const r = await fx.as("PUT", path, { json: { suspend: true } });
      expect(r.status, r.text).toBe(200);
      expect(r.body).toEqual({ "user_@zoe:localhost_suspended": true });
      expect((await fx.as("GET", user("@zoe:localhost"))).body.suspended).toBe(true);
      const p = await call(fx.url, "PUT", "/_matrix/client/v3/profile/@zoe:localhost/displayname", {
        token: s.token,
        json: { displayname: "Z" },
      });
      expect(p.body.errcode).toBe("M_USER_SUSPENDED");
      expect((await fx.as("PUT", path, { json: { suspend: false } })).body).toEqual({
        "user_@zoe:localhost_suspended": false,
      });
      expectMatrixError(
        await fx.as("PUT", path, { json: { suspend: "yes" } }),
        400,
        "M_BAD_JSON",
        "'suspend' must be a boolean",
      );
      expectMatrixError(
        await fx.as("PUT", `${ADMIN}/v1/suspend/@x:elsewhere.org`, { json: { suspend: true } }),
        400,
        "M_UNKNOWN",
        "Can only suspend local users",
      );
      expectMatrixError(
        await fx.as("PUT", `${ADMIN}/v1/suspend/@nobody:localhost`, { json: { suspend: true } }),
        404,
        "M_NOT_FOUND",
        "User not found",
      );
    });

    it("lists no joined rooms (there are none yet)", async () => {
      const r = await fx.as("GET", `${ADMIN}/v1/users/${enc("@zoe:localhost")}/joined_rooms`);
      expect(r.body).toEqual({ joined_rooms: [], total: 0 });
      expectMatrixError(
        await fx.as("GET", `${ADMIN}/v1/users/zoe/joined_rooms`),
        400,
        "M_INVALID_PARAM",
        "Expected UserID string to start with '@'",
      );
    });
  });

  describe("with a password policy, and with registration closed", () => {
    it("applies the password policy to every admin password path", async () => {
      const s = await startAdminFixture(kind, { password_config: { policy: { enabled: true, minimum_length: 12 } } });
      try {
        await s.user("pol");
        const short = "M_PASSWORD_TOO_SHORT";
        expect((await s.as("PUT", user("@newpol:localhost"), { json: { password: "short1" } })).body.errcode).toBe(
          short,
        );
        expect((await s.as("GET", user("@newpol:localhost"))).status).toBe(404);
        expect((await s.as("PUT", user("@pol:localhost"), { json: { password: "short1" } })).body.errcode).toBe(short);
        expect(
          (await s.as("POST", `${ADMIN}/v1/reset_password/@pol:localhost`, { json: { new_password: "short1" } })).body
            .errcode,
        ).toBe(short);
        expect((await loginRequest(s.url, "pol", PASSWORD)).status).toBe(200);
      } finally {
        await s.close();
      }
    });

    it("creates accounts and checks usernames with registration disabled", async () => {
      // The admin signs up while registration is open; then the server restarts on the same database with it closed.
      const s = await startAdminFixture(kind, {});
      await s.server.close();
      await s.look.close();
      const closed = await startTestServer(s.db, { enable_registration: false });
      try {
        const tok = s.admin.token;
        const put = await call(closed.url, "PUT", user("@closed:localhost"), {
          token: tok,
          json: { password: "closed pw" },
        });
        expect(put.status, put.text).toBe(201);
        const avail = await call(closed.url, "GET", `${ADMIN}/v1/username_available?username=another`, { token: tok });
        expect(avail.body).toEqual({ available: true });
      } finally {
        await closed.close();
      }
    });
  });
});
