/**
 * @module Synapse's admin ways into a room: `make_room_admin` and the Edit Room Membership API (`/join`). Both are
 * audited with the events they send.
 */
import type { FastifyRequest } from "fastify";
import { requireAdminActor } from "../../http/auth.js";
import { ADMIN } from "../../http/paths.js";
import { jsonObjectBody, optionalJsonObjectBody } from "../../http/request.js";
import type { RouteModule } from "../../http/server.js";
import { adminJoin, makeRoomAdmin } from "../../rooms/admin-room-power.js";

const roomOf = (request: FastifyRequest) => (request.params as { roomIdOrAlias: string }).roomIdOrAlias;

export const adminRoomMembershipRoutes: RouteModule = (app, { accounts, rooms }) => {
  /**
   * # `POST /_synapse/admin/v1/rooms/{roomIdOrAlias}/make_room_admin`
   * - Body optional, `{user_id?}` (default: the calling admin). The joined local user with the highest power level
   *   gives the user the same level (100 without one), and invites them when they are neither joined nor invited
   *   and the room is not public. None: 400 "No local admin user in room"; one lacking the power: 400 "No local
   *   admin user in room with power to update power levels.". `{}`.
   */
  app.post(`${ADMIN}/v1/rooms/:roomIdOrAlias/make_room_admin`, async (request) => {
    const actor = await requireAdminActor(request, accounts);
    return makeRoomAdmin(rooms, actor, roomOf(request), optionalJsonObjectBody(request));
  });

  /**
   * # `POST /_synapse/admin/v1/join/{roomIdOrAlias}`
   * - `{user_id}` required (400 `M_MISSING_PARAM`), a local (400 "This endpoint can only be used with local
   *   users"), existing (404 "User not found") user. A room that is not public needs the admin's invite first, so
   *   the admin must be in it with invite power (else 403 with the rule's reason). A blocked room: 403. `{room_id}`.
   */
  app.post(`${ADMIN}/v1/join/:roomIdOrAlias`, async (request) => {
    const actor = await requireAdminActor(request, accounts);
    return adminJoin(rooms, actor, roomOf(request), jsonObjectBody(request));
  });
};
