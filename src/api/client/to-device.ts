/**
 * @module Send-to-device messaging of the client-server API (spec "Send-to-Device messaging"). Open to guests, as
 * in Synapse; delivery is `/sync`'s `to_device` section.
 */
import { requireUser } from "../../http/auth.js";
import { clientPaths } from "../../http/paths.js";
import { jsonObjectBody } from "../../http/request.js";
import type { RouteModule } from "../../http/server.js";
import { parseToDeviceSend, sendToDevice } from "../../sync/to-device-send.js";

interface SendToDeviceParams {
  eventType: string;
  txnId: string;
}

export const toDeviceRoutes: RouteModule = (app, { accounts }) => {
  /**
   * # `PUT /_matrix/client/v3/sendToDevice/{eventType}/{txnId}`
   * - `messages`: user ID → device ID (or `*` alone: all the user's devices) → content. Missing is 400
   *   `M_MISSING_PARAM`; a malformed user ID 400 `M_INVALID_PARAM`; anything else not of that shape 400
   *   `M_BAD_JSON`. Nothing is stored on an error.
   * - Unknown local users and devices and users of other servers are dropped silently, as Synapse drops them.
   * - The same `txnId` from the same device again returns `{}` and sends nothing.
   * - A device holds at most 10,000 undelivered messages; beyond that its oldest are dropped.
   */
  for (const url of clientPaths("/sendToDevice/:eventType/:txnId")) {
    app.put<{ Params: SendToDeviceParams }>(url, async (request) => {
      const requester = await requireUser(request, accounts);
      const send = parseToDeviceSend(
        accounts.serverName,
        request.params.eventType,
        request.params.txnId,
        jsonObjectBody(request),
      );
      await sendToDevice(accounts, requester, send);
      return {};
    });
  }
};
