/**
 * @module Global account data of the client-server API (spec "Client Config"). Closed to guests (403
 * `M_GUEST_ACCESS_FORBIDDEN`), as in Synapse.
 */
import { checkOwnAccountData, getAccountData, setAccountData } from "../../sync/account-data.js";
import { deleteTag, getRoomAccountData, getTags, putTag, setRoomAccountData } from "../../sync/room-account-data.js";
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

interface RoomAccountDataParams {
  userId: string;
  roomId: string;
  type: string;
}

interface TagParams {
  userId: string;
  roomId: string;
  tag: string;
}

export const roomAccountDataRoutes: RouteModule = (app, { accounts }) => {
  /**
   * # `GET /_matrix/client/v3/user/{userId}/rooms/{roomId}/account_data/{type}`
   * - Only your own (403 `M_FORBIDDEN`); 404 `M_NOT_FOUND` "Room account data not found" when unset; a malformed
   *   room ID is 400 `M_INVALID_PARAM`.
   */
  for (const url of clientPaths("/user/:userId/rooms/:roomId/account_data/:type")) {
    app.get<{ Params: RoomAccountDataParams }>(url, async (request) => {
      const requester = await requireNonGuest(request, accounts);
      checkOwnAccountData(requester.userId, request.params.userId, "get");
      return getRoomAccountData(accounts, requester.userId, request.params.roomId, request.params.type);
    });
  }

  /**
   * # `PUT /_matrix/client/v3/user/{userId}/rooms/{roomId}/account_data/{type}`
   * - Only your own; replaces the content and wakes the user's syncs, which show it in the room's `account_data`.
   * - `m.fully_read` and `m.push_rules` are 405 `M_BAD_JSON`, as in Synapse.
   */
  for (const url of clientPaths("/user/:userId/rooms/:roomId/account_data/:type")) {
    app.put<{ Params: RoomAccountDataParams }>(url, async (request) => {
      const requester = await requireNonGuest(request, accounts);
      checkOwnAccountData(requester.userId, request.params.userId, "add");
      const { roomId, type } = request.params;
      await setRoomAccountData(accounts, requester.userId, roomId, type, jsonObjectBody(request));
      return {};
    });
  }

  /**
   * # `GET /_matrix/client/v3/user/{userId}/rooms/{roomId}/tags`
   * - `{"tags": {...}}`, empty when the room has none. Only your own.
   */
  for (const url of clientPaths("/user/:userId/rooms/:roomId/tags")) {
    app.get<{ Params: Omit<TagParams, "tag"> }>(url, async (request) => {
      const requester = await requireNonGuest(request, accounts);
      checkOwnAccountData(requester.userId, request.params.userId, "get");
      return getTags(accounts, requester.userId, request.params.roomId);
    });
  }

  /**
   * # `PUT /_matrix/client/v3/user/{userId}/rooms/{roomId}/tags/{tag}`
   * # `DELETE /_matrix/client/v3/user/{userId}/rooms/{roomId}/tags/{tag}`
   * - The body (`{order?}`) becomes the tag's value in `m.tag`; deleting an absent tag succeeds. Only your own.
   */
  for (const url of clientPaths("/user/:userId/rooms/:roomId/tags/:tag")) {
    app.put<{ Params: TagParams }>(url, async (request) => {
      const requester = await requireNonGuest(request, accounts);
      checkOwnAccountData(requester.userId, request.params.userId, "add");
      await putTag(accounts, requester.userId, request.params.roomId, request.params.tag, jsonObjectBody(request));
      return {};
    });
    app.delete<{ Params: TagParams }>(url, async (request) => {
      const requester = await requireNonGuest(request, accounts);
      checkOwnAccountData(requester.userId, request.params.userId, "add");
      await deleteTag(accounts, requester.userId, request.params.roomId, request.params.tag);
      return {};
    });
  }
};
