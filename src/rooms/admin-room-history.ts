/**
 * @module A room's history as a server admin reads it (Synapse's `RoomMessagesRestServlet`,
 * `RoomEventContextServlet`, `RoomTimestampToEventRestServlet`, `ForwardExtremitiesRestServlet`), and the jump to a
 * date that clients and admins share (`timestamp_to_event`).
 *
 * `/messages` and `/context` are the client's own (src/rooms/messages.ts) with the admin's reading: the whole
 * timeline, whatever the admin's membership and the room's history visibility.
 */
import type { Requester } from "../accounts/auth.js";
import { ErrCode, MatrixError } from "../errors.js";
import { isValidRoomId } from "../matrix/ids.js";
import type { RoomsContext } from "./context.js";
import { resolveRoom } from "./membership.js";
import {
  adminReading,
  contextAround,
  messagesPage,
  parseContextQuery,
  parseMessagesQuery,
  type ContextQuery,
  type ContextResponse,
  type MessagesQuery,
  type MessagesResponse,
} from "./messages.js";
import type { Direction } from "./paginate.js";
import { assertJoinedOrWorldReadable } from "./read.js";

async function knownRoom(ctx: RoomsContext, roomId: string): Promise<void> {
  if (!isValidRoomId(roomId) || !(await ctx.stores.rooms.get(roomId))) {
    throw new MatrixError(ErrCode.NotFound, "Room not found");
  }
}

/** `GET /_synapse/admin/v1/rooms/{roomId}/messages`: the client's `/messages`, every event readable. */
export async function adminMessages(
  ctx: RoomsContext,
  adminId: string,
  roomId: string,
  query: MessagesQuery,
): Promise<MessagesResponse> {
  const q = parseMessagesQuery(query);
  await knownRoom(ctx, roomId);
  return messagesPage(ctx, roomId, await adminReading(ctx, adminId), q);
}

/** `GET /_synapse/admin/v1/rooms/{roomId}/context/{eventId}`: the client's `/context`, every event readable. */
export async function adminContext(
  ctx: RoomsContext,
  adminId: string,
  roomId: string,
  eventId: string,
  query: ContextQuery,
): Promise<ContextResponse> {
  const q = parseContextQuery(query);
  return contextAround(ctx, roomId, eventId, await adminReading(ctx, adminId), q);
}

/**
 * `ts` (required, an integer of at least 0) and `dir` (`f`/`b`; required of clients, default `f` for admins), with
 * Synapse's `parse_integer` and `parse_enum` words.
 */
export function parseTimestampQuery(
  query: { ts?: string; dir?: string },
  dirFallback: Direction | null,
): { ts: number; dir: Direction } {
  if (query.ts === undefined) throw new MatrixError(ErrCode.MissingParam, "Missing integer query parameter 'ts'");
  const ts = /^\d{1,15}$/.test(query.ts) ? Number(query.ts) : NaN;
  if (!Number.isSafeInteger(ts)) {
    throw new MatrixError(ErrCode.InvalidParam, "Query parameter 'ts' must be a positive integer");
  }
  if (query.dir === undefined && dirFallback === null) {
    throw new MatrixError(ErrCode.MissingParam, "Missing string query parameter 'dir'");
  }
  const dir = query.dir ?? dirFallback;
  if (dir !== "f" && dir !== "b") {
    throw new MatrixError(ErrCode.InvalidParam, "Query parameter 'dir' must be one of ['b', 'f']");
  }
  return { ts, dir };
}

export interface TimestampToEventResponse {
  event_id: string;
  origin_server_ts: number;
}

/**
 * `timestamp_to_event`: the event nearest `ts` going `dir`. As in Synapse the event itself is not checked against
 * the history visibility (the spec warns clients they may find one they cannot show); only who may ask is: with
 * `requester`, a joined member or anyone in a `world_readable` room; without, a server admin.
 */
export async function timestampToEvent(
  ctx: RoomsContext,
  requester: Requester | null,
  roomId: string,
  ts: number,
  dir: Direction,
): Promise<TimestampToEventResponse> {
  if (requester) await assertJoinedOrWorldReadable(ctx.stores, roomId, requester.userId);
  const event = await ctx.stores.events.closestToTimestamp(roomId, ts, dir);
  if (!event) {
    const direction = dir === "f" ? "forward" : "backward";
    throw new MatrixError(ErrCode.NotFound, `Unable to find event from ${ts} in ${direction} direction`);
  }
  return { event_id: event.eventId, origin_server_ts: event.originServerTs };
}

export interface ForwardExtremity {
  event_id: string;
  state_group: number;
  depth: number;
  received_ts: number;
}

/**
 * `GET /_synapse/admin/v1/rooms/{roomIdOrAlias}/forward_extremities`. This server appends a room's events one at a
 * time, each pointing at the one before, so a room has one extremity, its newest event (none for a room it does not
 * know, as in Synapse). There are no state groups: `state_group` is the event's stream position, which is what
 * names the state at it here; `received_ts` is its `origin_server_ts`, every event being this server's own.
 */
export async function forwardExtremities(
  ctx: RoomsContext,
  roomIdOrAlias: string,
): Promise<{ count: number; results: ForwardExtremity[] }> {
  const roomId = await resolveRoom(ctx, roomIdOrAlias);
  const latest = await ctx.stores.events.latest(roomId);
  const event = latest ? await ctx.stores.events.get(latest.eventId) : null;
  if (!event) return { count: 0, results: [] };
  const extremity = {
    event_id: event.eventId,
    state_group: event.streamOrdering,
    depth: event.depth,
    received_ts: event.originServerTs,
  };
  return { count: 1, results: [extremity] };
}

/**
 * `DELETE /_synapse/admin/v1/rooms/{roomIdOrAlias}/forward_extremities`: Synapse deletes all but the newest; a room
 * here has only that one, so nothing is deleted.
 */
export async function deleteForwardExtremities(ctx: RoomsContext, roomIdOrAlias: string): Promise<{ deleted: number }> {
  await resolveRoom(ctx, roomIdOrAlias);
  return { deleted: 0 };
}
