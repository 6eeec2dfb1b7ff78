/**
 * Who holds an address or an identity provider's ID, on SQLite and PostgreSQL: the admin lookups (any case of an
 * e-mail address finds its account; nobody: 404; non-admins: 403) and the account's own `GET /account/3pid`.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectSpecResponse } from "../helpers/openapi.js";
import { expectMatrixError } from "../api/support.js";
import { forEachDatabase } from "../helpers/databases.js";
import { ADMIN, closeAdminFixture, enc, startAdminFixture, type AdminFixture } from "./support.js";

forEachDatabase((kind) => {
  describe("user lookups", () => {
    let fx: AdminFixture;
    let aliceToken: string;
    const alice = "@alice:localhost";
    beforeAll(async () => {
      fx = await startAdminFixture(kind);
      aliceToken = (await fx.user("alice")).token;
      await fx.user("bob");
      const put = await fx.as("PUT", `${ADMIN}/v2/users/${enc(alice)}`, {
        json: {
          threepids: [
            { medium: "email", address: "Alice@Example.org" },
            { medium: "msisdn", address: "447700900123" },
          ],
          external_ids: [{ auth_provider: "oidc-corp", external_id: "a-1234" }],
        },
      });
      expect(put.status, put.text).toBe(200);
    });
    afterAll(() => closeAdminFixture(fx));

    it("finds the account by e-mail in any case, by phone number and by external ID", async () => {
      for (const [medium, address] of [
        ["email", "alice@example.org"],
        ["email", "ALICE@EXAMPLE.ORG"],
        ["msisdn", "447700900123"],
      ]) {
        const r = await fx.as("GET", `${ADMIN}/v1/threepid/${medium}/users/${encodeURIComponent(address!)}`);
        expect(r.status, r.text).toBe(200);
        expect(r.body).toEqual({ user_id: alice });
      }
      const ext = await fx.as("GET", `${ADMIN}/v1/auth_providers/oidc-corp/users/a-1234`);
      expect(ext.body).toEqual({ user_id: alice });
    });

    it("answers 404 for nobody and 403 for a non-admin", async () => {
      expectMatrixError(
        await fx.as("GET", `${ADMIN}/v1/threepid/email/users/nobody%40example.org`),
        404,
        "M_NOT_FOUND",
        "User not found",
      );
      expectMatrixError(
        await fx.as("GET", `${ADMIN}/v1/auth_providers/oidc-corp/users/other`),
        404,
        "M_NOT_FOUND",
        "User not found",
      );
      expectMatrixError(
        await fx.as("GET", `${ADMIN}/v1/auth_providers/ldap/users/a-1234`),
        404,
        "M_NOT_FOUND",
        "User not found",
      );
      const r = await fx.as("GET", `${ADMIN}/v1/threepid/msisdn/users/447700900123`, { token: aliceToken });
      expectMatrixError(r, 403, "M_FORBIDDEN", "You are not a server admin");
    });

    it("lists the account's own addresses in GET /account/3pid", async () => {
      const path = "/_matrix/client/v3/account/3pid";
      const r = await fx.as("GET", path, { token: aliceToken });
      expect(r.status, r.text).toBe(200);
      await expectSpecResponse("GET", path, r.status, r.body);
      const list = (r.body.threepids as { medium: string; address: string }[]).map((t) => `${t.medium}:${t.address}`);
      expect(list.sort()).toEqual(["email:alice@example.org", "msisdn:447700900123"]);
      const bob = await fx.as("GET", path, { token: (await fx.user("carol")).token });
      expect(bob.body).toEqual({ threepids: [] });
      expectMatrixError(await fx.as("GET", path, { token: null }), 401, "M_MISSING_TOKEN", "Missing access token");
    });
  });
});
