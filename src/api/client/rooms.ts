/**
 * @module Room creation and membership of the client-server API (spec "Rooms", "Room membership"). The rules live
 * in src/rooms/; each handler reads the request, authenticates, and calls one service.
 */
import { requireNonGuest, requireUser } from "../../http/auth.js";
import { clientPaths } from "../../http/paths.js";
import { jsonObjectBody, optionalJsonObjectBody } from "../../http/request.js";
import type { RouteModule } from "../../http/server.js";
import { requireConsent, requireConsentToJoin } from "../../rooms/consent.js";
import { createRoom, parseCreateRoom } from "../../rooms/create-room.js";
import { changeMembership, forgetRoom, joinRoom, leaveRoom } from "../../rooms/membership.js";
import { joinedRooms } from "../../rooms/read.js";
import { upgradeRoom } from "../../rooms/upgrade.js";

interface RoomParams {
  roomId: string;
}

export const roomRoutes: RouteModule = (app, { accounts, rooms }) => {
  /**
   * # `POST /_matrix/client/v3/createRoom`
   * - Presets, `initial_state`, `power_level_content_override`, `invite`, `is_direct`, `room_alias_name`, `name`,
   *   `topic`, `visibility`, `creation_content` and `room_version` (10 or 11; default 11) as in Synapse.
   * - A taken alias is 400 `M_ROOM_IN_USE`; another room version 400 `M_UNSUPPORTED_ROOM_VERSION`; a refused
   *   `initial_state` entry 403 `M_FORBIDDEN` with the rule's reason; nothing is created then.
   * - `invite_3pid` is refused (400 `M_INVALID_PARAM`): there is no identity server.
   * - With `user_consent.block_events_error`, 403 `M_CONSENT_NOT_GIVEN` until the current terms are accepted (so
   *   too joins, except of the server-notices room, invites, kicks, bans, unbans and upgrades).
   */
  for (const url of clientPaths("/createRoom")) {
    app.post(url, async (request) => {
      const requester = await requireNonGuest(request, accounts);
      await requireConsent(rooms, requester);
      return createRoom(rooms, requester, parseCreateRoom(jsonObjectBody(request)));
    });
  }

  /**
   * # `POST /_matrix/client/v3/join/{roomIdOrAlias}`
   * # `POST /_matrix/client/v3/rooms/{roomId}/join`
   * - Joins by room ID or by an alias of this server; the member event carries the user's display name and avatar.
   * - Joining a room one is in already, with the same profile, sends nothing and succeeds.
   * - A room not allowed (invite-only, banned) is 403 `M_FORBIDDEN` with the reason; an unknown room 404.
   * - A guest joins only a room whose `m.room.guest_access` is `can_join` (else 403 "Guest access not allowed").
   */
  for (const url of [...clientPaths("/join/:roomId"), ...clientPaths("/rooms/:roomId/join")]) {
    app.post<{ Params: RoomParams }>(url, async (request) => {
      const requester = await requireUser(request, accounts);
      await requireConsentToJoin(rooms, requester, request.params.roomId);
      return joinRoom(rooms, requester, request.params.roomId, optionalJsonObjectBody(request));
    });
  }

  /**
   * # `POST /_matrix/client/v3/rooms/{roomId}/invite`
   * # `POST /_matrix/client/v3/rooms/{roomId}/kick`
   * # `POST /_matrix/client/v3/rooms/{roomId}/ban`
   * # `POST /_matrix/client/v3/rooms/{roomId}/unban`
   * - Body `{user_id, reason?}`; the power levels decide (403 `M_FORBIDDEN` with the reason).
   * - Kicking someone not in the room, or unbanning someone not banned, is 403.
   * - Guests may not: 403 `M_GUEST_ACCESS_FORBIDDEN` (Synapse lets them only join and leave).
   */
  for (const action of ["invite", "kick", "ban", "unban"] as const) {
    for (const url of clientPaths(`/rooms/:roomId/${action}`)) {
      app.post<{ Params: RoomParams }>(url, async (request) => {
        const requester = await requireNonGuest(request, accounts);
        await requireConsent(rooms, requester);
        await changeMembership(rooms, requester, request.params.roomId, action, jsonObjectBody(request));
        return {};
      });
    }
  }

  /**
   * # `POST /_matrix/client/v3/rooms/{roomId}/leave`
   * - Leaves, or rejects an invite. Leaving a room one has left already succeeds.
   */
  for (const url of clientPaths("/rooms/:roomId/leave")) {
    app.post<{ Params: RoomParams }>(url, async (request) => {
      const requester = await requireUser(request, accounts);
      await leaveRoom(rooms, requester, request.params.roomId, optionalJsonObjectBody(request));
      return {};
    });
  }

  /**
   * # `POST /_matrix/client/v3/rooms/{roomId}/forget`
   * - Only after leaving or being banned (400 otherwise); the room then leaves the user's `/sync` for good.
   */
  for (const url of clientPaths("/rooms/:roomId/forget")) {
    app.post<{ Params: RoomParams }>(url, async (request) => {
      const requester = await requireUser(request, accounts);
      await forgetRoom(rooms, requester, request.params.roomId);
      return {};
    });
  }

  /**
   * # `POST /_matrix/client/v3/rooms/{roomId}/upgrade`
   * - Body `{new_version}` (10 or 11, else 400 `M_UNSUPPORTED_ROOM_VERSION`). Needs the power to send
   *   `m.room.tombstone` in the old room (403 otherwise, and nothing is created).
   * - Returns `{replacement_room}`; the old room's state, aliases and directory listing carry over.
   */
  for (const url of clientPaths("/rooms/:roomId/upgrade")) {
    app.post<{ Params: RoomParams }>(url, async (request) => {
      const requester = await requireUser(request, accounts);
      await requireConsent(rooms, requester);
      return upgradeRoom(rooms, requester, request.params.roomId, jsonObjectBody(request));
    });
  }

  /**
   * # `GET /_matrix/client/v3/joined_rooms`
   */
  for (const url of clientPaths("/joined_rooms")) {
    app.get(url, async (request) => {
      const requester = await requireUser(request, accounts);
      return joinedRooms(rooms, requester.userId);
    });
  }
};
