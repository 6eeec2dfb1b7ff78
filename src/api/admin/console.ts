/**
 * @module Gatehouse's own admin endpoints that the web console needs and Synapse's API does not have.
 */
import { serverOverview, type ServerOverviewResponse } from "../../accounts/server-overview.js";
import { requireAdmin } from "../../http/auth.js";
import { GATEHOUSE_ADMIN } from "../../http/paths.js";
import type { RouteModule } from "../../http/server.js";
import { VERSION } from "../../version.js";

export const consoleRoutes: RouteModule = (app, { accounts, config }) => {
  /**
   * # `GET /_gatehouse/admin/v1/server`
   * - Admins only (403 `M_FORBIDDEN` "You are not a server admin"): the console also uses it to tell an admin from
   *   anyone else right after login.
   * - Server name and version, registration mode (`closed`, `token`, `open`), `public_baseurl`, and user counts
   *   from one statement.
   */
  app.get(`${GATEHOUSE_ADMIN}/v1/server`, async (request): Promise<ServerOverviewResponse> => {
    await requireAdmin(request, accounts);
    return serverOverview(accounts, config, VERSION);
  });
};
