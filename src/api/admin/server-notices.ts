/**
 * @module Synapse's Server Notices admin API: an admin's message to a local user, from the notices user, in the
 * user's notices room (src/rooms/server-notices.ts).
 */
import { requireAdminActor } from "../../http/auth.js";
import { ADMIN } from "../../http/paths.js";
import { jsonObjectBody } from "../../http/request.js";
import type { RouteModule } from "../../http/server.js";
import { sendServerNotice } from "../../rooms/server-notices.js";

export const serverNoticesRoutes: RouteModule = (app, { accounts, rooms }) => {
  /**
   * # `POST /_synapse/admin/v1/send_server_notice`
   * - Admins only. `{user_id, content, type?, state_key?}`; `type` defaults to `m.room.message`, whose `content`
   *   needs string `body` and `msgtype` (400 `M_UNKNOWN` "'body' not in content", as Synapse). `{event_id}`.
   * - Missing `user_id`/`content`: 400 `M_MISSING_PARAM`; no `server_notices` config: 400 `M_UNKNOWN` "Server
   *   notices are not enabled on this server"; another server's user: 400 `M_UNKNOWN`; unknown user: 404
   *   `M_NOT_FOUND`; a deactivated user or the notices user itself: 400 `M_UNKNOWN`. Audited
   *   (`server_notice.send`).
   */
  app.post(`${ADMIN}/v1/send_server_notice`, async (request) => {
    const actor = await requireAdminActor(request, accounts);
    return sendServerNotice(rooms, actor, jsonObjectBody(request));
  });

  /**
   * # `PUT /_synapse/admin/v1/send_server_notice/{txnId}`
   * - The same; a retry with the same transaction ID from the same admin session returns the first notice's
   *   `event_id` and sends nothing.
   */
  app.put<{ Params: { txnId: string } }>(`${ADMIN}/v1/send_server_notice/:txnId`, async (request) => {
    const actor = await requireAdminActor(request, accounts);
    return sendServerNotice(rooms, actor, jsonObjectBody(request), request.params.txnId);
  });
};
