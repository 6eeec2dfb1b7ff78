/**
 * `GET /_gatehouse/admin/v1/server`, the console's dashboard and admin check, on both databases: who may ask, the
 * registration mode, and user counts that agree with the accounts made.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { registrationMode } from "../../src/accounts/server-overview.js";
import { forEachDatabase } from "../helpers/databases.js";
import { call } from "../helpers/http.js";
import { closeAll, startWebFixture, type WebFixture } from "../web/support.js";

const SERVER = "/_gatehouse/admin/v1/server";

forEachDatabase((kind) => {
  let fx: WebFixture;
  beforeAll(async () => {
    fx = await startWebFixture(kind, { allow_guest_access: true, public_baseurl: "https://matrix.example.org" });
  });
  afterAll(() => closeAll(fx));

  it("answers admins only: 401 without a token, 403 for anyone else", async () => {
    expect((await call(fx.url, "GET", SERVER)).body.errcode).toBe("M_MISSING_TOKEN");
    await fx.makeUser("someone", "someone's password");
    const login = await call(fx.url, "POST", "/_matrix/client/v3/login", {
      json: {
        type: "m.login.password",
        identifier: { type: "m.id.user", user: "someone" },
        password: "someone's password",
      },
    });
    const r = await call(fx.url, "GET", SERVER, { token: login.body.access_token as string });
    expect(r.status).toBe(403);
    expect(r.body).toEqual({ errcode: "M_FORBIDDEN", error: "You are not a server admin" });
  });

  it("names the server, its mode and address, and counts accounts by state in one answer", async () => {
    const before = await fx.admin("GET", SERVER);
    expect(before).toMatchObject({
      server_name: "localhost",
      registration: "token",
      public_baseurl: "https://matrix.example.org/",
    });
    expect(before.server_version).toMatch(/^\d+\.\d+\.\d+/);
    // root (admin) and someone (from the test above).
    expect(before.users).toEqual({ total: 2, active: 2, admins: 1, deactivated: 0, locked: 0, guests: 0 });

    for (const name of ["a", "b", "locked", "gone", "boss", "oldboss"]) await fx.makeUser(name, "password of user");
    const put = (name: string, body: unknown) => fx.admin("PUT", `/_synapse/admin/v2/users/@${name}:localhost`, body);
    await put("locked", { locked: true });
    await put("boss", { admin: true });
    await put("oldboss", { admin: true });
    await fx.admin("POST", "/_synapse/admin/v1/deactivate/@gone:localhost", {});
    await fx.admin("POST", "/_synapse/admin/v1/deactivate/@oldboss:localhost", {});
    const guest = await call(fx.url, "POST", "/_matrix/client/v3/register?kind=guest", { json: {} });
    expect(guest.status).toBe(200);

    const after = await fx.admin("GET", SERVER);
    // Deactivated accounts count only as deactivated, whatever else they were.
    expect(after.users).toEqual({ total: 9, active: 5, admins: 2, deactivated: 2, locked: 1, guests: 1 });
  });
});

it("reads the registration mode from enable_registration and registration_requires_token", () => {
  expect(registrationMode({ enable_registration: false, registration_requires_token: true })).toBe("closed");
  expect(registrationMode({ enable_registration: true, registration_requires_token: true })).toBe("token");
  expect(registrationMode({ enable_registration: true, registration_requires_token: false })).toBe("open");
});
