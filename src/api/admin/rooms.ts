/**
 * @module Synapse's room admin API, the reading half (`synapse/rest/admin/rooms.py`): the room list, one room's
 * details, members and state, and a user's joined rooms. Every endpoint needs a server admin's token.
 */
import type { FastifyRequest } from "fastify";
import { existingUser, parseUserId } from "../../accounts/admin-user-ids.js";
import { ErrCode, MatrixError } from "../../errors.js";
import { requireAdmin } from "../../http/auth.js";
import { ADMIN } from "../../http/paths.js";
import {
  adminPagingParams,
  booleanParam,
  enumParam,
  integerParam,
  queryOf,
  stringParam,
  type Query,
} from "../../http/query.js";
import type { RouteModule } from "../../http/server.js";
import {
  cumulativeJoinedRoomCount,
  listRooms,
  ROOM_ORDERS,
  roomDetails,
  roomMembers,
  roomState,
  sentInviteCount,
  userAccountData,
  userJoinedRooms,
  userMemberships,
  type RoomListQuery,
} from "../../rooms/admin-rooms.js";
import { userIdOf } from "./users.js";

export const roomIdOf = (request: FastifyRequest) => (request.params as { roomId: string }).roomId;

/**
 * The query of `GET /_synapse/admin/v1/rooms`, checked in Synapse's order with Synapse's words. Exported for the
 * admin CLI's database mode.
 */
export function roomListQuery(query: Query): RoomListQuery {
  const { from, limit } = adminPagingParams(query);
  const orderBy = enumParam(query, "order_by", ROOM_ORDERS, "name");
  const searchTerm = stringParam(query, "search_term");
  if (searchTerm === "") throw new MatrixError(ErrCode.InvalidParam, "search_term cannot be an empty string");
  const publicRooms = booleanParam(query, "public_rooms", null);
  const emptyRooms = booleanParam(query, "empty_rooms", null);
  const direction = enumParam(query, "dir", ["f", "b"] as const, "f");
  return { from, limit, orderBy, direction, searchTerm, publicRooms, emptyRooms };
}

export const adminRoomsRoutes: RouteModule = (app, { accounts, rooms }) => {
  /**
   * # `GET /_synapse/admin/v1/rooms`
   * - `from`, `limit` (default 100): non-negative integers; `order_by` one of Synapse's 15 values (default `name`),
   *   `dir` `f`/`b`, ties broken by room ID; `search_term` (non-empty: name or alias local part, any case, or room
   *   ID, exact case); `public_rooms`, `empty_rooms` `true`/`false` filters.
   * - `{rooms, offset, total_rooms, next_batch?, prev_batch?}`, each room in Synapse's fields.
   */
  app.get(`${ADMIN}/v1/rooms`, async (request) => {
    await requireAdmin(request, accounts);
    return listRooms(rooms, roomListQuery(queryOf(request)));
  });

  /**
   * # `GET /_synapse/admin/v1/rooms/{roomId}`
   * - The list's fields and `topic`, `avatar`, `joined_local_devices`, `forgotten` (every local user with a
   *   membership forgot the room). Unknown room: 404 `M_NOT_FOUND` "Room not found".
   */
  app.get(`${ADMIN}/v1/rooms/:roomId`, async (request) => {
    await requireAdmin(request, accounts);
    return roomDetails(rooms, roomIdOf(request));
  });

  /**
   * # `GET /_synapse/admin/v1/rooms/{roomId}/members`
   * - `{members: [joined user IDs], total}`; unknown room 404 "Room not found".
   */
  app.get(`${ADMIN}/v1/rooms/:roomId/members`, async (request) => {
    await requireAdmin(request, accounts);
    return roomMembers(rooms, roomIdOf(request));
  });

  /**
   * # `GET /_synapse/admin/v1/rooms/{roomId}/state`
   * - `{state: [client events]}`, the current state whatever the admin's membership; `?type=` keeps one event type.
   */
  app.get(`${ADMIN}/v1/rooms/:roomId/state`, async (request) => {
    const admin = await requireAdmin(request, accounts);
    return roomState(rooms, admin.userId, roomIdOf(request), stringParam(queryOf(request), "type") || null);
  });

  /**
   * # `GET /_synapse/admin/v1/users/{userId}/joined_rooms`
   * - `{joined_rooms, total}`. Like Synapse, any well-formed user ID answers (an unknown one with none).
   */
  app.get(`${ADMIN}/v1/users/:userId/joined_rooms`, async (request) => {
    await requireAdmin(request, accounts);
    const userId = userIdOf(request);
    parseUserId(userId);
    return userJoinedRooms(rooms, userId);
  });

  /**
   * # `GET /_synapse/admin/v1/users/{userId}/memberships`
   * - `{memberships: {roomId: membership}}`: every room the user has a membership in, not only joined ones (Synapse
   *   1.144). Any well-formed user ID answers.
   */
  app.get(`${ADMIN}/v1/users/:userId/memberships`, async (request) => {
    await requireAdmin(request, accounts);
    const userId = userIdOf(request);
    parseUserId(userId);
    return userMemberships(rooms, userId);
  });

  /**
   * # `GET /_synapse/admin/v1/users/{userId}/accountdata`
   * - `{account_data: {global: {type: content}, rooms: {}}}` (no per-room account data exists yet). Another server's
   *   user: 400 "Can only look up local users"; unknown: 404 "User not found".
   */
  app.get(`${ADMIN}/v1/users/:userId/accountdata`, async (request) => {
    await requireAdmin(request, accounts);
    const userId = userIdOf(request);
    await existingUser(accounts, userId, "Can only look up local users");
    return userAccountData(rooms, userId);
  });

  /**
   * # `GET /_synapse/admin/v1/users/{userId}/sent_invite_count`
   * - `?from_ts=` (milliseconds, default 0): `{invite_count}`, the invites the user sent since then.
   */
  app.get(`${ADMIN}/v1/users/:userId/sent_invite_count`, async (request) => {
    await requireAdmin(request, accounts);
    const userId = userIdOf(request);
    parseUserId(userId);
    return sentInviteCount(rooms, userId, fromTsOf(queryOf(request)));
  });

  /**
   * # `GET /_synapse/admin/v1/users/{userId}/cumulative_joined_room_count`
   * - `?from_ts=` (default 0): `{cumulative_joined_room_count}`, the rooms the user joined since then, left or not.
   */
  app.get(`${ADMIN}/v1/users/:userId/cumulative_joined_room_count`, async (request) => {
    await requireAdmin(request, accounts);
    const userId = userIdOf(request);
    parseUserId(userId);
    return cumulativeJoinedRoomCount(rooms, userId, fromTsOf(queryOf(request)));
  });
};

function fromTsOf(query: Query): number {
  const fromTs = integerParam(query, "from_ts", 0);
  if (fromTs < 0) {
    throw new MatrixError(
      ErrCode.InvalidParam,
      "Query parameter from_ts must be a string representing a positive integer.",
    );
  }
  return fromTs;
}
