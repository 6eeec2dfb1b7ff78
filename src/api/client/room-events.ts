/**
 * @module Events in a room (spec "Sending events to a room", "Getting events for a room", "Redactions"): send,
 * state, one event, members and redactions.
 */
import { bumpActive } from "../../sync/presence.js";
import { requireNonGuest, requireUser } from "../../http/auth.js";
import { clientPaths } from "../../http/paths.js";
import { jsonObjectBody, optionalJsonObjectBody } from "../../http/request.js";
import type { RouteModule } from "../../http/server.js";
import { getEvent, getJoinedMembers, getMembers, getRoomState, getStateEvent } from "../../rooms/read.js";
import { reportEvent, reportRoom } from "../../rooms/reports.js";
import { redact, sendMessage, setState } from "../../rooms/send.js";

interface RoomParams {
  roomId: string;
}

interface SendParams extends RoomParams {
  eventType: string;
  txnId: string;
}

interface StateParams extends RoomParams {
  eventType: string;
  stateKey?: string;
}

function firstString(query: unknown, name: string): string | undefined {
  const v = (query as Record<string, unknown> | undefined)?.[name];
  const s: unknown = Array.isArray(v) ? v[0] : v;
  return typeof s === "string" ? s : undefined;
}

export const roomEventRoutes: RouteModule = (app, { accounts, rooms }) => {
  /**
   * # `PUT /_matrix/client/v3/rooms/{roomId}/send/{eventType}/{txnId}`
   * - Idempotent per device and transaction ID: a retry returns the first event's ID and sends nothing.
   * - The sending device sees `unsigned.transaction_id` on the event in its `/sync` and `/messages`.
   * - The power levels decide (403 `M_FORBIDDEN`); over 65,536 bytes as a PDU is 413 `M_TOO_LARGE`.
   */
  for (const url of clientPaths("/rooms/:roomId/send/:eventType/:txnId")) {
    app.put<{ Params: SendParams }>(url, async (request) => {
      const requester = await requireUser(request, accounts);
      const { roomId, eventType, txnId } = request.params;
      const sent = await sendMessage(rooms, requester, roomId, eventType, txnId, jsonObjectBody(request));
      // Sending is activity, as Synapse's `_bump_active_time`: an idle (unavailable) sender is online again.
      await bumpActive(accounts, requester.userId);
      return sent;
    });
  }

  /**
   * # `PUT /_matrix/client/v3/rooms/{roomId}/state/{eventType}/{stateKey}`
   * - The state key may be empty (with or without the trailing slash). Setting the content one set already
   *   returns that event's ID and sends nothing, as in Synapse.
   * - Guests may not: 403 `M_GUEST_ACCESS_FORBIDDEN`, as Synapse.
   */
  for (const url of [
    ...clientPaths("/rooms/:roomId/state/:eventType/:stateKey"),
    ...clientPaths("/rooms/:roomId/state/:eventType"),
  ]) {
    app.put<{ Params: StateParams }>(url, async (request) => {
      const requester = await requireNonGuest(request, accounts);
      const { roomId, eventType, stateKey } = request.params;
      return setState(rooms, requester, roomId, eventType, stateKey ?? "", jsonObjectBody(request));
    });
  }

  /**
   * # `GET /_matrix/client/v3/rooms/{roomId}/state/{eventType}/{stateKey}`
   * - The content, or with `format=event` the whole event; 404 `M_NOT_FOUND` when unset. A user who left reads the
   *   state as it was when they left; one never in the room gets 403.
   */
  for (const url of [
    ...clientPaths("/rooms/:roomId/state/:eventType/:stateKey"),
    ...clientPaths("/rooms/:roomId/state/:eventType"),
  ]) {
    app.get<{ Params: StateParams }>(url, async (request) => {
      const requester = await requireUser(request, accounts);
      const { roomId, eventType, stateKey } = request.params;
      const format = firstString(request.query, "format") === "event" ? "event" : "content";
      return getStateEvent(rooms, requester, roomId, eventType, stateKey ?? "", format);
    });
  }

  /**
   * # `GET /_matrix/client/v3/rooms/{roomId}/state`
   */
  for (const url of clientPaths("/rooms/:roomId/state")) {
    app.get<{ Params: RoomParams }>(url, async (request) => {
      const requester = await requireUser(request, accounts);
      return getRoomState(rooms, requester, request.params.roomId);
    });
  }

  /**
   * # `GET /_matrix/client/v3/rooms/{roomId}/event/{eventId}`
   * - 404 `M_NOT_FOUND` both for an unknown event and for one the user may not see.
   */
  for (const url of clientPaths("/rooms/:roomId/event/:eventId")) {
    app.get<{ Params: RoomParams & { eventId: string } }>(url, async (request) => {
      const requester = await requireUser(request, accounts);
      return getEvent(rooms, requester, request.params.roomId, request.params.eventId);
    });
  }

  /**
   * # `PUT /_matrix/client/v3/rooms/{roomId}/redact/{eventId}/{txnId}`
   * - Body `{reason?}`. The sender of the event, or anyone with the room's `redact` level; others 403.
   * - Guests may not: 403 `M_GUEST_ACCESS_FORBIDDEN`, as Synapse (also through `send/m.room.redaction`).
   */
  for (const url of clientPaths("/rooms/:roomId/redact/:eventId/:txnId")) {
    app.put<{ Params: RoomParams & { eventId: string; txnId: string } }>(url, async (request) => {
      const requester = await requireUser(request, accounts);
      const { roomId, eventId, txnId } = request.params;
      return redact(rooms, requester, roomId, eventId, txnId, optionalJsonObjectBody(request));
    });
  }

  /**
   * # `POST /_matrix/client/v3/rooms/{roomId}/report/{eventId}`
   * - Body `{reason?, score?}`. Only an event the user can see: otherwise 404 `M_NOT_FOUND`, the same answer as for
   *   an event that does not exist.
   */
  for (const url of clientPaths("/rooms/:roomId/report/:eventId")) {
    app.post<{ Params: RoomParams & { eventId: string } }>(url, async (request) => {
      const requester = await requireUser(request, accounts);
      await reportEvent(rooms, requester, request.params.roomId, request.params.eventId, jsonObjectBody(request));
      return {};
    });
  }

  /**
   * # `POST /_matrix/client/v3/rooms/{roomId}/report`
   * - Body `{reason}` (spec v1.13). Members and former members only (404 otherwise).
   */
  for (const url of clientPaths("/rooms/:roomId/report")) {
    app.post<{ Params: RoomParams }>(url, async (request) => {
      const requester = await requireUser(request, accounts);
      await reportRoom(rooms, requester, request.params.roomId, optionalJsonObjectBody(request));
      return {};
    });
  }

  /**
   * # `GET /_matrix/client/v3/rooms/{roomId}/members`
   * - `at`: a sync token (js-sdk passes its latest `next_batch`): the members as of that position.
   * - `membership` / `not_membership` filter by membership.
   */
  for (const url of clientPaths("/rooms/:roomId/members")) {
    app.get<{ Params: RoomParams }>(url, async (request) => {
      const requester = await requireUser(request, accounts);
      return getMembers(rooms, requester, request.params.roomId, {
        at: firstString(request.query, "at"),
        membership: firstString(request.query, "membership"),
        notMembership: firstString(request.query, "not_membership"),
      });
    });
  }

  /**
   * # `GET /_matrix/client/v3/rooms/{roomId}/joined_members`
   */
  for (const url of clientPaths("/rooms/:roomId/joined_members")) {
    app.get<{ Params: RoomParams }>(url, async (request) => {
      const requester = await requireUser(request, accounts);
      return getJoinedMembers(rooms, requester, request.params.roomId);
    });
  }
};
