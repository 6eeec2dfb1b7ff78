/**
 * Who may use the admin API. Every admin route the application registers (collected from fastify as the routes
 * are added, so a route added later is walked too) refuses a non-admin with 403 and an anonymous caller with 401.
 * The admin flag and the account state are read fresh: a demotion, a lock or a deactivation takes effect on the
 * very next request, whatever the token cache holds.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { whoami } from "../api/account-support.js";
import { expectMatrixError } from "../api/support.js";
import { forEachDatabase } from "../helpers/databases.js";
import { registeredRoutes } from "../helpers/routes.js";
import { ADMIN, enc, promote, closeAdminFixture, startAdminFixture, type AdminFixture } from "./support.js";

/** Shared-secret registration and the version probe are open to all, in Synapse too. */
const UNAUTHENTICATED = new Set([`${ADMIN}/v1/register`, `${ADMIN}/v1/server_version`]);

/** Every method and path of the admin API, as the real route modules register them. */
function adminRoutes(fx: AdminFixture): { method: string; url: string }[] {
  return registeredRoutes(fx.server.server).filter(
    ({ method, url }) =>
      method !== "HEAD" &&
      // Gatehouse's admin API is versioned; the rest of /_gatehouse/admin/ is the console's pages, public by design
      // (they log in through /login and call this API with the token).
      ((url.startsWith(`${ADMIN}/`) && !UNAUTHENTICATED.has(url)) || /^\/_gatehouse\/admin\/v\d+\//.test(url)),
  );
}

/** A concrete path for a route: each `:param` filled with a plausible value. */
function concrete(url: string, userId: string): string {
  return url.replace(/:(\w+)/g, (_m, name: string) => (name === "userId" ? enc(userId) : "SOMEDEVICE"));
}

forEachDatabase((kind) => {
  let fx: AdminFixture;
  beforeAll(async () => {
    fx = await startAdminFixture(kind);
  });
  afterAll(() => closeAdminFixture(fx));

  describe("every admin route", () => {
    it("is found, and includes the endpoints of this API", () => {
      const routes = adminRoutes(fx).map((r) => `${r.method} ${r.url}`);
      for (const expected of [
        `GET ${ADMIN}/v2/users`,
        `GET ${ADMIN}/v3/users`,
        `PUT ${ADMIN}/v2/users/:userId`,
        `POST ${ADMIN}/v1/deactivate/:userId`,
        `POST ${ADMIN}/v2/users/:userId/delete_devices`,
        `GET ${ADMIN}/v1/whois/:userId`,
        `GET /_gatehouse/admin/v1/audit`,
        `GET ${ADMIN}/v1/registration_tokens`,
        `POST ${ADMIN}/v1/registration_tokens/new`,
        `GET ${ADMIN}/v1/registration_tokens/:token`,
        `PUT ${ADMIN}/v1/registration_tokens/:token`,
        `DELETE ${ADMIN}/v1/registration_tokens/:token`,
      ]) {
        expect(routes).toContain(expected);
      }
      expect(routes.length).toBeGreaterThanOrEqual(22);
    });

    it("refuses a non-admin with 403 and no token with 401, and changes nothing", async () => {
      const plain = await fx.user("plain");
      const victim = await fx.user("victim");
      const routes = adminRoutes(fx);
      const audit = await fx.look.kysely.selectFrom("admin_audit").select("id").execute();
      for (const { method, url } of routes) {
        const path = concrete(url, victim.userId);
        const body =
          method === "GET" || method === "DELETE" ? {} : { json: { admin: true, password: "x", suspend: true } };
        const label = `${method} ${url}`;
        const forbidden = await fx.as(method, path, { ...body, token: plain.token });
        expect({ label, status: forbidden.status, body: forbidden.body }).toEqual({
          label,
          status: 403,
          body: { errcode: "M_FORBIDDEN", error: "You are not a server admin" },
        });
        const anonymous = await fx.as(method, path, { ...body, token: null });
        expect({ label, status: anonymous.status, errcode: anonymous.body.errcode }).toEqual({
          label,
          status: 401,
          errcode: "M_MISSING_TOKEN",
        });
      }
      expect(await fx.look.kysely.selectFrom("admin_audit").select("id").execute()).toEqual(audit);
      expect((await fx.as("GET", `${ADMIN}/v2/users/${enc(victim.userId)}`)).body).toMatchObject({
        admin: false,
        suspended: false,
        deactivated: false,
      });
      expect((await whoami(fx.url, victim.token)).status).toBe(200);
    });
  });

  describe("freshness", () => {
    it("a user promoted in the database is an admin on the next request, and demoted likewise", async () => {
      const s = await fx.user("rising");
      // Warm the token cache with the non-admin state first.
      expect((await whoami(fx.url, s.token)).status).toBe(200);
      expect((await fx.as("GET", `${ADMIN}/v2/users`, { token: s.token })).status).toBe(403);
      await promote(fx.look, s.userId);
      expect((await fx.as("GET", `${ADMIN}/v2/users`, { token: s.token })).status).toBe(200);
      const demote = await fx.as("PUT", `${ADMIN}/v1/users/${enc(s.userId)}/admin`, { json: { admin: false } });
      expect(demote.status, demote.text).toBe(200);
      expectMatrixError(
        await fx.as("GET", `${ADMIN}/v2/users`, { token: s.token }),
        403,
        "M_FORBIDDEN",
        "You are not a server admin",
      );
    });

    it("a user locked through the admin API is refused at once (401 M_USER_LOCKED)", async () => {
      const s = await fx.user("lockme");
      expect((await whoami(fx.url, s.token)).status).toBe(200);
      expect((await whoami(fx.url, s.token)).status).toBe(200);
      const lock = await fx.as("PUT", `${ADMIN}/v2/users/${enc(s.userId)}`, { json: { locked: true } });
      expect(lock.status, lock.text).toBe(200);
      expectMatrixError(await whoami(fx.url, s.token), 401, "M_USER_LOCKED", "User account has been locked", {
        soft_logout: true,
      });
      await fx.as("PUT", `${ADMIN}/v2/users/${enc(s.userId)}`, { json: { locked: false } });
      expect((await whoami(fx.url, s.token)).status).toBe(200);
    });

    it("a user deactivated through the admin API is refused at once", async () => {
      const s = await fx.user("goner");
      expect((await whoami(fx.url, s.token)).status).toBe(200);
      await fx.as("POST", `${ADMIN}/v1/deactivate/${enc(s.userId)}`);
      expectMatrixError(await whoami(fx.url, s.token), 401, "M_UNKNOWN_TOKEN", "Unrecognised access token", {
        soft_logout: false,
      });
    });

    it("a login-as token stops working once its user is locked", async () => {
      const s = await fx.user("puppet");
      const t = (await fx.as("POST", `${ADMIN}/v1/users/${enc(s.userId)}/login`)).body.access_token as string;
      expect((await whoami(fx.url, t)).status).toBe(200);
      await fx.as("PUT", `${ADMIN}/v2/users/${enc(s.userId)}`, { json: { locked: true } });
      expect((await whoami(fx.url, t)).body.errcode).toBe("M_USER_LOCKED");
    });
  });
});
