/**
 * @module Presence of the client-server API (spec "Presence"). Open to guests, as in Synapse.
 */
import { getPresence, putPresence } from "../../sync/presence.js";
import { requireUser } from "../../http/auth.js";
import { clientPaths } from "../../http/paths.js";
import { jsonObjectBody } from "../../http/request.js";
import type { RouteModule } from "../../http/server.js";

export const presenceRoutes: RouteModule = (app, { accounts }) => {
  /**
   * # `GET /_matrix/client/v3/presence/{userId}/status`
   * - Your own, or that of a user who shares a joined room with you; anyone else is 403 `M_FORBIDDEN` "You are not
   *   allowed to see their presence.". A user with no presence yet is `offline`.
   * - `presence.enabled: false`: always `{"presence": "offline"}`, as in Synapse.
   */
  for (const url of clientPaths("/presence/:userId/status")) {
    app.get<{ Params: { userId: string } }>(url, async (request) => {
      const requester = await requireUser(request, accounts);
      return getPresence(accounts, requester, request.params.userId);
    });
  }

  /**
   * # `PUT /_matrix/client/v3/presence/{userId}/status`
   * - Only your own (403 `M_FORBIDDEN` "Can only set your own presence state"). `{presence, status_msg?}`: a
   *   missing `presence` or another key is 400 `M_UNKNOWN` "Unable to parse state", a state other than `online`,
   *   `unavailable` or `offline` 400 `M_INVALID_PARAM`, as in Synapse.
   * - `presence.enabled: false`: accepted and ignored, as in Synapse.
   */
  for (const url of clientPaths("/presence/:userId/status")) {
    app.put<{ Params: { userId: string } }>(url, async (request) => {
      const requester = await requireUser(request, accounts);
      await putPresence(accounts, requester, request.params.userId, jsonObjectBody(request));
      return {};
    });
  }
};
