/**
 * @module Whois (spec: "Server Administration"; Synapse's `WhoisRestServlet`), served under the admin API and
 * the client API.
 */
import { whois, type WhoisResponse } from "../../accounts/whois.js";
import { requireUser } from "../../http/auth.js";
import { ADMIN, clientPaths } from "../../http/paths.js";
import type { RouteModule } from "../../http/server.js";
import { userIdOf } from "./users.js";

export const whoisRoutes: RouteModule = (app, { accounts }) => {
  /**
   * # `GET /_synapse/admin/v1/whois/{userId}` (and `GET /_matrix/client/v3/admin/whois/{userId}`)
   * - An admin, or the user asking about themself (others: 403 `M_FORBIDDEN` "You are not a server admin").
   * - Remote user: 400 "Can only whois a local user"; unknown: 404 `M_NOT_FOUND` "User not found".
   * - `{"user_id", "devices": {"": {"sessions": [{"connections": [{ip, last_seen, user_agent}]}]}}}`: one
   *   connection per device that has been used, newest first, all under the key `""` as Synapse answers.
   */
  for (const url of [`${ADMIN}/v1/whois/:userId`, ...clientPaths("/admin/whois/:userId", { apiV1: true })]) {
    app.get(url, async (request): Promise<WhoisResponse> => {
      const requester = await requireUser(request, accounts);
      return whois(accounts, requester, userIdOf(request));
    });
  }
};
