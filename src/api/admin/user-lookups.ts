/**
 * @module Synapse's user lookups (`synapse/rest/admin/users.py` `UserByThreePid`, `UserByExternalId`): which account
 * holds an e-mail address or phone number, or an identity provider's ID. Admins only.
 */
import { userByExternalId, userByThreepid } from "../../accounts/threepid-lookups.js";
import { requireAdmin } from "../../http/auth.js";
import { ADMIN } from "../../http/paths.js";
import type { RouteModule } from "../../http/server.js";

export const adminUserLookupRoutes: RouteModule = (app, { accounts }) => {
  /**
   * # `GET /_synapse/admin/v1/threepid/{medium}/users/{address}`
   * - `{user_id}`; nobody holds it: 404 `M_NOT_FOUND` "User not found". E-mail addresses match in any case.
   */
  app.get<{ Params: { medium: string; address: string } }>(
    `${ADMIN}/v1/threepid/:medium/users/:address`,
    async (request) => {
      await requireAdmin(request, accounts);
      return userByThreepid(accounts, request.params.medium, request.params.address);
    },
  );

  /**
   * # `GET /_synapse/admin/v1/auth_providers/{provider}/users/{externalId}`
   * - `{user_id}`; no account has that ID from that provider: 404 `M_NOT_FOUND` "User not found".
   */
  app.get<{ Params: { provider: string; externalId: string } }>(
    `${ADMIN}/v1/auth_providers/:provider/users/:externalId`,
    async (request) => {
      await requireAdmin(request, accounts);
      return userByExternalId(accounts, request.params.provider, request.params.externalId);
    },
  );
};
