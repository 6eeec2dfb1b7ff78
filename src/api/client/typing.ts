/**
 * @module Typing notifications of the client-server API (spec "Typing Notifications"). Closed to guests, as in
 * Synapse.
 */
import { setTyping } from "../../rooms/typing.js";
import { requireNonGuest } from "../../http/auth.js";
import { clientPaths } from "../../http/paths.js";
import { jsonObjectBody } from "../../http/request.js";
import type { RouteModule } from "../../http/server.js";

export const typingRoutes: RouteModule = (app, { accounts }) => {
  /**
   * # `PUT /_matrix/client/v3/rooms/{roomId}/typing/{userId}`
   * - `{typing: bool, timeout?: ms}`: `typing` not a boolean or `timeout` not a non-negative integer is 400
   *   `M_BAD_JSON`. `timeout` defaults to 30 s and is capped at 120 s, as in Synapse.
   * - Only your own (403 `M_FORBIDDEN` "Cannot set another user's typing state"), in a room you are joined to
   *   (403 `M_FORBIDDEN` "User … not in room …").
   * - The room's joined members see `m.typing` in `/sync` until the user stops or the timeout passes.
   */
  for (const url of clientPaths("/rooms/:roomId/typing/:userId")) {
    app.put<{ Params: { roomId: string; userId: string } }>(url, async (request) => {
      const requester = await requireNonGuest(request, accounts);
      const { roomId, userId } = request.params;
      await setTyping(accounts, requester, roomId, userId, jsonObjectBody(request));
      return {};
    });
  }
};
