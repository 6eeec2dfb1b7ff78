/**
 * @module Synapse's room admin API, the writing half that takes rooms away: delete (v1 waits, v2 answers at once
 * with a `delete_id`), the deletions' status, and blocking. Every write is audited.
 */
import type { FastifyRequest } from "fastify";
import { requireAdmin, requireAdminActor } from "../../http/auth.js";
import { ADMIN } from "../../http/paths.js";
import { jsonObjectBody } from "../../http/request.js";
import type { RouteModule } from "../../http/server.js";
import { blockStatus, legalRoomId, parseBlock, setBlocked } from "../../rooms/admin-room-block.js";
import {
  deleteStatusById,
  deleteStatusByRoom,
  parseDeleteRoom,
  startRoomDeletion,
} from "../../rooms/admin-room-delete.js";
import { roomIdOf } from "./rooms.js";

const deleteIdOf = (request: FastifyRequest) => (request.params as { deleteId: string }).deleteId;

export const adminRoomDeleteRoutes: RouteModule = (app, { accounts, rooms }) => {
  /**
   * # `DELETE /_synapse/admin/v2/rooms/{roomId}`
   * - Body a JSON object (at least `{}`): `block`, `purge` (default true), `force_purge` booleans (400
   *   `M_BAD_JSON` "Param 'x' must be a boolean, if given"); `new_room_user_id` (local), `room_name`, `message`.
   * - `{delete_id}` at once; the work runs after: local members leave, the room leaves the directory, is blocked,
   *   members move to the notice room with the aliases, then the purge. An unknown room without `block`: 404 now
   *   (Synapse reports it as a failed task); one already being deleted: 400 "Purge already in progress for …".
   */
  app.delete(`${ADMIN}/v2/rooms/:roomId`, async (request) => {
    const actor = await requireAdminActor(request, accounts);
    const cmd = parseDeleteRoom(jsonObjectBody(request), rooms.serverName);
    const { deleteId } = await startRoomDeletion(rooms, actor, roomIdOf(request), cmd);
    return { delete_id: deleteId };
  });

  /**
   * # `DELETE /_synapse/admin/v1/rooms/{roomId}`
   * - As v2, but answers once done: `{kicked_users, failed_to_kick_users, local_aliases, new_room_id}`. A failed
   *   purge is 500 with its reason, as Synapse's.
   */
  app.delete(`${ADMIN}/v1/rooms/:roomId`, async (request) => {
    const actor = await requireAdminActor(request, accounts);
    const cmd = parseDeleteRoom(jsonObjectBody(request), rooms.serverName);
    const { done } = await startRoomDeletion(rooms, actor, roomIdOf(request), cmd);
    return done;
  });

  /**
   * # `GET /_synapse/admin/v2/rooms/{roomId}/delete_status`
   * - `{results: [{delete_id, room_id, status, error?, shutdown_room}]}`, oldest first; status `scheduled`,
   *   `active`, `complete` or `failed`. None: 404 "No delete task for room_id '…' found". Kept for good (Synapse:
   *   24 hours or until restart).
   */
  app.get(`${ADMIN}/v2/rooms/:roomId/delete_status`, async (request) => {
    await requireAdmin(request, accounts);
    return deleteStatusByRoom(rooms, roomIdOf(request));
  });

  /**
   * # `GET /_synapse/admin/v2/rooms/delete_status/{deleteId}`
   * - One deletion as above, without `results`; unknown: 404 "delete id '…' not found".
   */
  app.get(`${ADMIN}/v2/rooms/delete_status/:deleteId`, async (request) => {
    await requireAdmin(request, accounts);
    return deleteStatusById(rooms, deleteIdOf(request));
  });

  /**
   * # `GET /_synapse/admin/v1/rooms/{roomId}/block`
   * - `{block: true, user_id}` (the admin who blocked it) or `{block: false}`; any legal room ID, known or not.
   */
  app.get(`${ADMIN}/v1/rooms/:roomId/block`, async (request) => {
    await requireAdmin(request, accounts);
    return blockStatus(rooms, roomIdOf(request));
  });

  /**
   * # `PUT /_synapse/admin/v1/rooms/{roomId}/block`
   * - `{block: bool}` required (400 `M_MISSING_PARAM`; not a boolean 400 `M_BAD_JSON`) → `{block}`. Blocking an
   *   unknown room works (it is refused when it appears). Joins and invites to a blocked room are then 403
   *   "This room has been blocked on this server" for everyone but server admins.
   */
  app.put(`${ADMIN}/v1/rooms/:roomId/block`, async (request) => {
    const actor = await requireAdminActor(request, accounts);
    const body = jsonObjectBody(request);
    legalRoomId(roomIdOf(request));
    return setBlocked(rooms, actor, roomIdOf(request), parseBlock(body));
  });
};
