/**
 * @module Global account data of the client-server API (spec "Client Config"). Closed to guests (403
 * `M_GUEST_ACCESS_FORBIDDEN`), as in Synapse.
 */
import { checkOwnAccountData, getAccountData, setAccountData } from "../../sync/account-data.js";
import { requireNonGuest } from "../../http/auth.js";
import { clientPaths } from "../../http/paths.js";
import { jsonObjectBody } from "../../http/request.js";
import type { RouteModule } from "../../http/server.js";

interface AccountDataParams {
  userId: string;
  type: string;
}

export const accountDataRoutes: RouteModule = (app, { accounts }) => {
  /**
   * # `GET /_matrix/client/v3/user/{userId}/account_data/{type}`
   * - Only your own: another user is 403 `M_FORBIDDEN` "Cannot get account data for other users.".
   * - The content last stored, or 404 `M_NOT_FOUND` "Account data not found". `m.push_rules` is the user's push
   *   rule set, as in Synapse.
   */
  for (const url of clientPaths("/user/:userId/account_data/:type")) {
    app.get<{ Params: AccountDataParams }>(url, async (request) => {
      const requester = await requireNonGuest(request, accounts);
      checkOwnAccountData(requester.userId, request.params.userId, "get");
      return getAccountData(accounts, requester.userId, request.params.type);
    });
  }

  /**
   * # `PUT /_matrix/client/v3/user/{userId}/account_data/{type}`
   * - Only your own (403 `M_FORBIDDEN` "Cannot add account data for other users."); the body must be a JSON object.
   * - Replaces the content at a new stream position and wakes the user's waiting `/sync` requests, which return it.
   * - `m.push_rules` and `m.fully_read` are 405 `M_BAD_JSON` (they have their own APIs), as in Synapse.
   */
  for (const url of clientPaths("/user/:userId/account_data/:type")) {
    app.put<{ Params: AccountDataParams }>(url, async (request) => {
      const requester = await requireNonGuest(request, accounts);
      checkOwnAccountData(requester.userId, request.params.userId, "add");
      await setAccountData(accounts, requester.userId, request.params.type, jsonObjectBody(request));
      return {};
    });
  }
};
