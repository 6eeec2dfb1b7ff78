/**
 * @module A room's history (spec "Getting events for a room", "Relationships", "Threading"): `/messages`,
 * `/context`, `/relations` and `/threads`. The rules live in src/rooms/messages.ts and src/rooms/relations.ts.
 */
import { requireUser } from "../../http/auth.js";
import { clientPaths } from "../../http/paths.js";
import type { RouteModule } from "../../http/server.js";
import { parseTimestampQuery, timestampToEvent } from "../../rooms/admin-room-history.js";
import { getContext, getMessages } from "../../rooms/messages.js";
import { getRelations, getThreads } from "../../rooms/relations.js";

interface RoomParams {
  roomId: string;
}

interface RelationsParams extends RoomParams {
  eventId: string;
  relType?: string;
  eventType?: string;
}

function firstString(query: unknown, name: string): string | undefined {
  const v = (query as Record<string, unknown> | undefined)?.[name];
  const s: unknown = Array.isArray(v) ? v[0] : v;
  return typeof s === "string" ? s : undefined;
}

/** The v1 endpoints, where Synapse serves them: `v1` and `unstable`. */
function v1Paths(path: string): string[] {
  return ["v1", "unstable"].map((v) => `/_matrix/client/${v}${path}`);
}

export const roomHistoryRoutes: RouteModule = (app, { accounts, rooms }) => {
  /**
   * # `GET /_matrix/client/v3/rooms/{roomId}/messages`
   * - `dir` `b` or `f` (absent: `f`, as Synapse), `from`/`to` tokens (`s<position>`; Synapse's `t…-…` and
   *   `s…_…` are read for their stream part), `limit` default 10, at most 1,000; `filter` a RoomEventFilter as JSON.
   * - `end` is left out when there is nothing further; `state` holds the senders' member events with
   *   `lazy_load_members`. A user who left reads up to their leave; one never in the room gets 403.
   */
  for (const url of clientPaths("/rooms/:roomId/messages")) {
    app.get<{ Params: RoomParams }>(url, async (request) => {
      const requester = await requireUser(request, accounts);
      const q = request.query;
      return getMessages(rooms, requester, request.params.roomId, {
        dir: firstString(q, "dir"),
        from: firstString(q, "from"),
        to: firstString(q, "to"),
        limit: firstString(q, "limit"),
        filter: firstString(q, "filter"),
      });
    });
  }

  /**
   * # `GET /_matrix/client/v3/rooms/{roomId}/context/{eventId}`
   * - `limit` (default 10) split half before, half after; `filter` as for `/messages`; `state` at the last event
   *   returned. An event the user may not see is 404, as an unknown one.
   */
  for (const url of clientPaths("/rooms/:roomId/context/:eventId")) {
    app.get<{ Params: RoomParams & { eventId: string } }>(url, async (request) => {
      const requester = await requireUser(request, accounts);
      const q = request.query;
      return getContext(rooms, requester, request.params.roomId, request.params.eventId, {
        limit: firstString(q, "limit"),
        filter: firstString(q, "filter"),
      });
    });
  }

  /**
   * # `GET /_matrix/client/v1/rooms/{roomId}/relations/{eventId}`
   * # `GET /_matrix/client/v1/rooms/{roomId}/relations/{eventId}/{relType}`
   * # `GET /_matrix/client/v1/rooms/{roomId}/relations/{eventId}/{relType}/{eventType}`
   * - `dir` (default `b`), `from`, `to`, `limit` (default 5), `recurse` (3 levels). Unknown parent: 404.
   */
  for (const url of [
    ...v1Paths("/rooms/:roomId/relations/:eventId"),
    ...v1Paths("/rooms/:roomId/relations/:eventId/:relType"),
    ...v1Paths("/rooms/:roomId/relations/:eventId/:relType/:eventType"),
  ]) {
    app.get<{ Params: RelationsParams }>(url, async (request) => {
      const requester = await requireUser(request, accounts);
      const { roomId, eventId, relType, eventType } = request.params;
      const q = request.query;
      return getRelations(
        rooms,
        requester,
        roomId,
        eventId,
        { relType, eventType },
        {
          from: firstString(q, "from"),
          to: firstString(q, "to"),
          limit: firstString(q, "limit"),
          dir: firstString(q, "dir"),
          recurse: firstString(q, "recurse") ?? firstString(q, "org.matrix.msc3981.recurse"),
        },
      );
    });
  }

  /**
   * # `GET /_matrix/client/v1/rooms/{roomId}/timestamp_to_event`
   * - `ts` and `dir` (`f`/`b`) required: `{event_id, origin_server_ts}` of the room's event nearest `ts` that way
   *   ("jump to date"); none: 404. For joined members, and anyone when the room is `world_readable`; others 403.
   */
  for (const url of v1Paths("/rooms/:roomId/timestamp_to_event")) {
    app.get<{ Params: RoomParams }>(url, async (request) => {
      const requester = await requireUser(request, accounts);
      const q = request.query;
      const { ts, dir } = parseTimestampQuery({ ts: firstString(q, "ts"), dir: firstString(q, "dir") }, null);
      return timestampToEvent(rooms, requester, request.params.roomId, ts, dir);
    });
  }

  /**
   * # `GET /_matrix/client/v1/rooms/{roomId}/threads`
   * - `include` `all` (default) or `participated`, `from`, `limit` (default 5, at least 1). Newest activity first.
   */
  for (const url of v1Paths("/rooms/:roomId/threads")) {
    app.get<{ Params: RoomParams }>(url, async (request) => {
      const requester = await requireUser(request, accounts);
      const q = request.query;
      return getThreads(rooms, requester, request.params.roomId, {
        include: firstString(q, "include"),
        from: firstString(q, "from"),
        limit: firstString(q, "limit"),
      });
    });
  }
};
