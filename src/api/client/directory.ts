/**
 * @module Finding rooms and people (spec "Room aliases", "Listing rooms", "User directory"): aliases, the public
 * room directory and the user directory. The rules live in src/rooms/; each handler reads the request,
 * authenticates, and calls one service.
 */
import type { FastifyRequest } from "fastify";
import type { Requester } from "../../accounts/auth.js";
import type { AccountsContext } from "../../accounts/context.js";
import { ErrCode, MatrixError } from "../../errors.js";
import { requireNonGuest, requireUser } from "../../http/auth.js";
import { clientPaths } from "../../http/paths.js";
import { booleanParam, integerParam, queryOf, stringParam } from "../../http/query.js";
import { jsonObjectBody } from "../../http/request.js";
import type { RouteModule } from "../../http/server.js";
import { isValidServerName } from "../../matrix/ids.js";
import { createAlias, deleteAlias, getAlias, roomAliases } from "../../rooms/aliases.js";
import { setRoomListing } from "../../rooms/publication.js";
import { listPublicRooms, type PublicRoomsQuery } from "../../rooms/public-rooms.js";
import { parseLimit, searchUserDirectory } from "../../rooms/user-directory.js";

interface AliasParams {
  roomAlias: string;
}

interface RoomParams {
  roomId: string;
}

/**
 * Who asks for `/publicRooms`: a user, or nobody when `allow_public_rooms_without_auth` lets anyone read this
 * server's directory (a token given is still checked, as Synapse does, but a bad one does not refuse).
 */
async function publicRoomsRequester(
  request: FastifyRequest,
  accounts: AccountsContext,
  withoutAuth: boolean,
): Promise<Requester | null> {
  try {
    return await requireUser(request, accounts);
  } catch (err) {
    if (withoutAuth && err instanceof MatrixError && err.status === 401) return null;
    throw err;
  }
}

/** `server` names this server, or another one this server cannot ask: it does not federate. */
function checkServer(server: string | null, serverName: string): void {
  if (server === null || server === serverName) return;
  if (!isValidServerName(server)) throw new MatrixError(ErrCode.InvalidParam, "Invalid server name");
  throw new MatrixError(ErrCode.Unknown, `Failed to fetch the room list of ${server}: this server does not federate`, {
    status: 502,
  });
}

function optionalNonNegative(v: unknown, name: string): number | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) {
    throw new MatrixError(ErrCode.BadJson, `'${name}' must be a non-negative integer`);
  }
  return v;
}

function optionalString(v: unknown, name: string): string | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== "string") throw new MatrixError(ErrCode.BadJson, `'${name}' must be a string`);
  return v;
}

/** The `POST /publicRooms` body. A `limit` of 0, as absent, means no limit (Synapse). */
function parsePublicRoomsBody(body: Record<string, unknown>): PublicRoomsQuery {
  const limit = optionalNonNegative(body.limit, "limit");
  const filter = body.filter ?? {};
  if (typeof filter !== "object" || Array.isArray(filter)) {
    throw new MatrixError(ErrCode.BadJson, "'filter' must be an object");
  }
  const f = filter as Record<string, unknown>;
  let roomTypes: (string | null)[] | null = null;
  if (f.room_types !== undefined && f.room_types !== null) {
    if (!Array.isArray(f.room_types) || !f.room_types.every((t) => t === null || typeof t === "string")) {
      throw new MatrixError(ErrCode.BadJson, "'filter.room_types' must be a list of strings or nulls");
    }
    roomTypes = f.room_types as (string | null)[];
  }
  if (body.include_all_networks !== undefined && typeof body.include_all_networks !== "boolean") {
    throw new MatrixError(ErrCode.BadJson, "'include_all_networks' must be a boolean");
  }
  return {
    limit: limit === 0 ? null : limit,
    since: optionalString(body.since, "since"),
    searchTerm: optionalString(f.generic_search_term, "filter.generic_search_term"),
    roomTypes,
    includeAllNetworks: body.include_all_networks === true,
    thirdPartyInstanceId: optionalString(body.third_party_instance_id, "third_party_instance_id"),
  };
}

export const directoryRoutes: RouteModule = (app, { accounts, rooms, config }) => {
  /**
   * # `PUT /_matrix/client/v3/directory/room/{roomAlias}`
   * - Body `{room_id}`; checks in Synapse's order: alias syntax (400 `M_INVALID_PARAM`), body (400 `M_BAD_JSON`), an
   *   unknown room (400 `M_UNKNOWN` "Room does not exist"), longer than 255 characters (400 `M_INVALID_PARAM`), not
   *   joined to the room (403, admins excepted), whitespace in the alias (400), another server's alias (400
   *   `M_UNKNOWN` "Room alias must be local"), taken (409 `M_UNKNOWN` "Room alias … already exists").
   */
  for (const url of clientPaths("/directory/room/:roomAlias", { apiV1: true })) {
    app.put<{ Params: AliasParams }>(url, async (request) => {
      const requester = await requireUser(request, accounts);
      await createAlias(rooms, requester, request.params.roomAlias, jsonObjectBody(request));
      return {};
    });
  }

  /**
   * # `GET /_matrix/client/v3/directory/room/{roomAlias}`
   * - No token needed, as in Synapse. `{room_id, servers: [this server]}`; unknown (another server's included:
   *   there is no federation to ask) 404 `M_NOT_FOUND`.
   */
  for (const url of clientPaths("/directory/room/:roomAlias", { apiV1: true })) {
    app.get<{ Params: AliasParams }>(url, async (request) => getAlias(rooms, request.params.roomAlias));
  }

  /**
   * # `DELETE /_matrix/client/v3/directory/room/{roomAlias}`
   * - By the alias's creator, an admin, or a joined member with the power to send `m.room.canonical_alias` (else
   *   403); unknown 404. The alias is then taken out of the room's `m.room.canonical_alias` when the deleter may
   *   send it, as Synapse does.
   */
  for (const url of clientPaths("/directory/room/:roomAlias", { apiV1: true })) {
    app.delete<{ Params: AliasParams }>(url, async (request) => {
      const requester = await requireUser(request, accounts);
      await deleteAlias(rooms, requester, request.params.roomAlias);
      return {};
    });
  }

  /**
   * # `GET /_matrix/client/v3/rooms/{roomId}/aliases`
   * - `{aliases}`: this server's aliases of the room, oldest first; for joined members, admins, or anyone when the
   *   room is `world_readable` (else 403).
   */
  for (const url of clientPaths("/rooms/:roomId/aliases")) {
    app.get<{ Params: RoomParams }>(url, async (request) => {
      const requester = await requireUser(request, accounts);
      return roomAliases(rooms, requester, request.params.roomId);
    });
  }

  /**
   * # `GET /_matrix/client/v3/directory/list/room/{roomId}`
   * - No token needed. `{visibility: "public"|"private"}`; unknown room 404 `M_NOT_FOUND`.
   */
  for (const url of clientPaths("/directory/list/room/:roomId", { apiV1: true })) {
    app.get<{ Params: RoomParams }>(url, async (request) => {
      const room = await rooms.stores.rooms.get(request.params.roomId);
      if (!room) throw new MatrixError(ErrCode.NotFound, "Unknown room");
      return { visibility: room.isPublic ? "public" : "private" };
    });
  }

  /**
   * # `PUT /_matrix/client/v3/directory/list/room/{roomId}`
   * - Body `{visibility}` (default `public`). Guests 403; unknown room 400 `M_UNKNOWN`; not joined 403; without the
   *   power to send `m.room.canonical_alias` 403 (admins may always); publishing that `room_list_publication_rules`
   *   refuses 403 `M_UNKNOWN` "Not allowed to publish room" (by default it refuses everyone, admins too).
   */
  for (const url of clientPaths("/directory/list/room/:roomId", { apiV1: true })) {
    app.put<{ Params: RoomParams }>(url, async (request) => {
      const requester = await requireUser(request, accounts);
      const body = jsonObjectBody(request);
      const visibility = body.visibility ?? "public";
      if (visibility !== "public" && visibility !== "private") {
        throw new MatrixError(ErrCode.BadJson, "'visibility' must be 'public' or 'private'");
      }
      await setRoomListing(rooms, requester, request.params.roomId, visibility);
      return {};
    });
  }

  /**
   * # `GET /_matrix/client/v3/publicRooms`
   * - `limit` (0 or absent: all), `since`, `server` (another server's is 502: no federation),
   *   `include_all_networks`, `third_party_instance_id`. Needs a token unless `allow_public_rooms_without_auth`.
   */
  for (const url of clientPaths("/publicRooms", { apiV1: true })) {
    app.get(url, async (request) => {
      const query = queryOf(request);
      const server = stringParam(query, "server");
      await publicRoomsRequester(request, accounts, config.allow_public_rooms_without_auth && server === null);
      checkServer(server, rooms.serverName);
      const limit = integerParam(query, "limit", 0);
      if (limit < 0)
        throw new MatrixError(ErrCode.InvalidParam, "Query parameter 'limit' must be a non-negative integer");
      return listPublicRooms(rooms, {
        limit: limit === 0 ? null : limit,
        since: stringParam(query, "since"),
        searchTerm: null,
        roomTypes: null,
        includeAllNetworks: booleanParam(query, "include_all_networks", false),
        thirdPartyInstanceId: stringParam(query, "third_party_instance_id"),
      });
    });
  }

  /**
   * # `POST /_matrix/client/v3/publicRooms`
   * - Body `{limit, since, filter: {generic_search_term, room_types}, include_all_networks,
   *   third_party_instance_id}`; the search term matches name, topic and canonical alias (substring, any case).
   */
  for (const url of clientPaths("/publicRooms", { apiV1: true })) {
    app.post(url, async (request) => {
      const server = stringParam(queryOf(request), "server");
      await publicRoomsRequester(request, accounts, config.allow_public_rooms_without_auth && server === null);
      checkServer(server, rooms.serverName);
      return listPublicRooms(rooms, parsePublicRoomsBody(jsonObjectBody(request)));
    });
  }

  /**
   * # `GET /_matrix/client/v3/thirdparty/protocols`
   * - `{}`: no bridges.
   */
  for (const url of clientPaths("/thirdparty/protocols")) {
    app.get(url, async (request) => {
      await requireUser(request, accounts);
      return {};
    });
  }

  /**
   * # `POST /_matrix/client/v3/user_directory/search`
   * - Body `{search_term, limit?}` (limit 10 by default, at most 50). Guests 403. With `user_directory.enabled:
   *   false`, no results for anyone. See src/rooms/user-directory.ts for who is found and how terms match.
   */
  for (const url of clientPaths("/user_directory/search")) {
    app.post(url, async (request) => {
      const requester = await requireNonGuest(request, accounts);
      if (!rooms.directory.userDirectory.enabled) return { limited: false, results: [] };
      const body = jsonObjectBody(request);
      const limit = parseLimit(body.limit);
      if (body.search_term === undefined) throw new MatrixError(ErrCode.Unknown, "`search_term` is required field");
      if (typeof body.search_term !== "string") {
        throw new MatrixError(ErrCode.BadJson, "'search_term' must be a string");
      }
      return searchUserDirectory(rooms, requester.userId, body.search_term, limit);
    });
  }
};
