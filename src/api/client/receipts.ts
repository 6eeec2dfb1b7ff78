/**
 * @module Receipts and read markers of the client-server API (spec "Receipts", "Fully read markers"). Closed to
 * guests, as in Synapse.
 */
import { postReceipt, setReadMarkers } from "../../rooms/receipts.js";
import { requireNonGuest } from "../../http/auth.js";
import { clientPaths } from "../../http/paths.js";
import { jsonObjectBody } from "../../http/request.js";
import type { RouteModule } from "../../http/server.js";

interface ReceiptParams {
  roomId: string;
  receiptType: string;
  eventId: string;
}

export const receiptRoutes: RouteModule = (app, { accounts }) => {
  /**
   * # `POST /_matrix/client/v3/rooms/{roomId}/receipt/{receiptType}/{eventId}`
   * - `m.read` (seen by the room's members), `m.read.private` (seen only by you) or `m.fully_read` (the read
   *   marker, stored as the `m.fully_read` room account data); another type is 400 `M_UNKNOWN`, as in Synapse.
   * - `thread_id` (optional): `main` or a thread root's event ID, a non-empty string (else 400 `M_INVALID_PARAM`),
   *   not with `m.fully_read`; the event must be in that thread (400 `M_INVALID_PARAM`).
   * - You must be joined (403 `M_FORBIDDEN`) and see the event in the room (404 `M_NOT_FOUND`). A receipt never
   *   moves back to an earlier event: an older one is accepted and changes nothing.
   */
  for (const url of clientPaths("/rooms/:roomId/receipt/:receiptType/:eventId")) {
    app.post<{ Params: ReceiptParams }>(url, async (request) => {
      const requester = await requireNonGuest(request, accounts);
      const { roomId, receiptType, eventId } = request.params;
      await postReceipt(accounts, requester, roomId, receiptType, eventId, jsonObjectBody(request));
      return {};
    });
  }

  /**
   * # `POST /_matrix/client/v3/rooms/{roomId}/read_markers`
   * - `{m.fully_read?, m.read?, m.read.private?}`, each an event ID (else 400 `M_INVALID_PARAM`); other keys are
   *   ignored, as in Synapse. Every event is checked (joined, visible) before any is stored.
   */
  for (const url of clientPaths("/rooms/:roomId/read_markers")) {
    app.post<{ Params: { roomId: string } }>(url, async (request) => {
      const requester = await requireNonGuest(request, accounts);
      await setReadMarkers(accounts, requester, request.params.roomId, jsonObjectBody(request));
      return {};
    });
  }
};
