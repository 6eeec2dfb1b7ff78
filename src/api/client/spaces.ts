/**
 * @module Spaces (spec "Spaces", "Room summaries"): the space hierarchy and a room's summary. The rules live in
 * src/rooms/hierarchy.ts.
 */
import { authenticate } from "../../accounts/auth.js";
import { ErrCode, MatrixError } from "../../errors.js";
import { requireUser } from "../../http/auth.js";
import { accessTokenOf } from "../../http/request.js";
import type { RouteModule } from "../../http/server.js";
import { MAX_ROOMS, roomSummary, spaceHierarchy } from "../../rooms/hierarchy.js";
import { resolveRoom } from "../../rooms/membership.js";
import { parseBoolean } from "../../rooms/pagination-params.js";

function firstString(query: unknown, name: string): string | undefined {
  const v = (query as Record<string, unknown> | undefined)?.[name];
  const s: unknown = Array.isArray(v) ? v[0] : v;
  return typeof s === "string" ? s : undefined;
}

/** An integer query parameter of at least `min`, or null when absent. */
function integerParam(query: unknown, name: string, min: number, what: string): number | null {
  const text = firstString(query, name);
  if (text === undefined) return null;
  if (!/^-?\d{1,15}$/.test(text)) {
    throw new MatrixError(ErrCode.InvalidParam, `Query parameter "${name}" must be an integer`);
  }
  const n = Number(text);
  if (n < min) throw new MatrixError(ErrCode.InvalidParam, `'${name}' must be ${what}`);
  return n;
}

/** Served where Synapse serves them: `v1` and `unstable`. */
function v1Paths(path: string): string[] {
  return ["v1", "unstable"].map((v) => `/_matrix/client/${v}${path}`);
}

export const spacesRoutes: RouteModule = (app, { accounts, rooms }) => {
  /**
   * # `GET /_matrix/client/v1/rooms/{roomId}/hierarchy`
   * - `suggested_only` (`true`/`false`), `limit` (at least 1; at most 50 a page), `max_depth` (0 or more), `from`
   *   (a `next_batch`, valid only with the same room, `suggested_only` and `max_depth`: else 400 `M_INVALID_PARAM`
   *   "Unknown pagination token").
   * - A root room the requester may not see: 403 `M_FORBIDDEN`.
   */
  for (const url of v1Paths("/rooms/:roomId/hierarchy")) {
    app.get<{ Params: { roomId: string } }>(url, async (request) => {
      const requester = await requireUser(request, accounts);
      const q = request.query;
      const limit = integerParam(q, "limit", 1, "a positive integer") ?? MAX_ROOMS;
      const maxDepth = integerParam(q, "max_depth", 0, "a non-negative integer");
      const suggestedOnly = parseBoolean(firstString(q, "suggested_only"), "suggested_only");
      return spaceHierarchy(rooms.stores, requester.userId, request.params.roomId, {
        suggestedOnly,
        maxDepth,
        limit,
        from: firstString(q, "from") ?? null,
      });
    });
  }

  /**
   * # `GET /_matrix/client/v1/room_summary/{roomIdOrAlias}`
   * - With or without an access token: without one, only rooms anyone may see (public, knockable,
   *   `world_readable`); with one, also the requester's rooms and invites, and their `membership`.
   * - A room this server does not know, or one the requester may not see: 404 `M_NOT_FOUND`.
   */
  for (const url of v1Paths("/room_summary/:roomIdOrAlias")) {
    app.get<{ Params: { roomIdOrAlias: string } }>(url, async (request) => {
      const hasToken = request.headers.authorization !== undefined || firstString(request.query, "access_token");
      const userId = hasToken ? (await authenticate(accounts, accessTokenOf(request))).userId : null;
      const roomId = await resolveRoom(rooms, request.params.roomIdOrAlias);
      return roomSummary(rooms.stores, userId, roomId);
    });
  }
};
