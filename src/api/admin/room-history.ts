/**
 * @module Synapse's admin reads of a room's history (`synapse/rest/admin/rooms.py`): messages, an event's context,
 * the event nearest a time, and the forward extremities. Every endpoint needs a server admin's token; the admin
 * need not be in the room and reads every event whatever its history visibility.
 */
import type { FastifyRequest } from "fastify";
import { requireAdmin } from "../../http/auth.js";
import { ADMIN } from "../../http/paths.js";
import { queryOf, stringParam } from "../../http/query.js";
import type { RouteModule } from "../../http/server.js";
import {
  adminContext,
  adminMessages,
  deleteForwardExtremities,
  forwardExtremities,
  parseTimestampQuery,
  timestampToEvent,
} from "../../rooms/admin-room-history.js";
import { roomIdOf } from "./rooms.js";

/** The query parameters these endpoints read, each by its first value. */
function params(request: FastifyRequest, names: readonly string[]): Record<string, string | undefined> {
  const q = queryOf(request);
  return Object.fromEntries(names.map((n) => [n, stringParam(q, n) ?? undefined]));
}

const roomOf = (request: FastifyRequest) => (request.params as { roomIdOrAlias: string }).roomIdOrAlias;

export const adminRoomHistoryRoutes: RouteModule = (app, { accounts, rooms }) => {
  /**
   * # `GET /_synapse/admin/v1/rooms/{roomId}/messages`
   * - The client's `/messages` (`dir` default `f`, `from`, `to`, `limit` default 10, `filter`), every event of the
   *   room readable. Unknown room: 404 "Room not found". Events in the client format only (no `raw`).
   */
  app.get(`${ADMIN}/v1/rooms/:roomId/messages`, async (request) => {
    const admin = await requireAdmin(request, accounts);
    return adminMessages(
      rooms,
      admin.userId,
      roomIdOf(request),
      params(request, ["dir", "from", "to", "limit", "filter"]),
    );
  });

  /**
   * # `GET /_synapse/admin/v1/rooms/{roomId}/context/{eventId}`
   * - The client's `/context` (`limit` default 10, `filter`), every event readable. Unknown event: 404 "Event not
   *   found.".
   */
  app.get(`${ADMIN}/v1/rooms/:roomId/context/:eventId`, async (request) => {
    const admin = await requireAdmin(request, accounts);
    const { eventId } = request.params as { eventId: string };
    return adminContext(rooms, admin.userId, roomIdOf(request), eventId, params(request, ["limit", "filter"]));
  });

  /**
   * # `GET /_synapse/admin/v1/rooms/{roomId}/timestamp_to_event`
   * - `ts` required, `dir` `f` (default) or `b`: `{event_id, origin_server_ts}` of the room's event nearest `ts`
   *   that way; none: 404 `M_NOT_FOUND`.
   */
  app.get(`${ADMIN}/v1/rooms/:roomId/timestamp_to_event`, async (request) => {
    await requireAdmin(request, accounts);
    const { ts, dir } = parseTimestampQuery(params(request, ["ts", "dir"]), "f");
    return timestampToEvent(rooms, null, roomIdOf(request), ts, dir);
  });

  /**
   * # `GET /_synapse/admin/v1/rooms/{roomIdOrAlias}/forward_extremities`
   * - `{count, results: [{event_id, state_group, depth, received_ts}]}`: the room's newest event, the one
   *   extremity a room of this server has.
   */
  app.get(`${ADMIN}/v1/rooms/:roomIdOrAlias/forward_extremities`, async (request) => {
    await requireAdmin(request, accounts);
    return forwardExtremities(rooms, roomOf(request));
  });

  /**
   * # `DELETE /_synapse/admin/v1/rooms/{roomIdOrAlias}/forward_extremities`
   * - `{deleted: 0}`: Synapse keeps the newest extremity and deletes the others, and there are no others.
   */
  app.delete(`${ADMIN}/v1/rooms/:roomIdOrAlias/forward_extremities`, async (request) => {
    await requireAdmin(request, accounts);
    return deleteForwardExtremities(rooms, roomOf(request));
  });
};
