/**
 * @module Sending into a room: messages and other timeline events (`send/{type}/{txnId}`), state
 * (`state/{type}/{stateKey}`) and redactions (`redact/{eventId}/{txnId}`).
 */
import type { Requester } from "../accounts/auth.js";
import { ErrCode, MatrixError, refuseNul } from "../errors.js";
import { canonicallyEqual } from "../matrix/canonical-json.js";
import { isValidEventId } from "../matrix/ids.js";
import { requireConsent } from "./consent.js";
import type { RoomsContext } from "./context.js";
import { resolveRoom } from "./membership.js";
import { sendEvent, versionOfRoom, type TxnScope } from "./persist.js";

/** Event types a client may not send with `send`: they are state, or have their own endpoint. */
const NOT_SENDABLE = new Set(["m.room.member"]);

function txnScope(requester: Requester, endpoint: "send" | "redact", txnId: string): TxnScope | undefined {
  refuseNul(txnId, "txnId");
  // An appservice or a token without a device has nothing to scope by; Synapse then scopes by token.
  return { deviceId: requester.deviceId ?? `token:${requester.tokenHash}`, endpoint, txnId };
}

export async function sendMessage(
  ctx: RoomsContext,
  requester: Requester,
  roomIdOrAlias: string,
  type: string,
  txnId: string,
  content: Record<string, unknown>,
): Promise<{ event_id: string }> {
  const roomId = await resolveRoom(ctx, roomIdOrAlias);
  refuseNul(type, "eventType");
  await requireConsent(ctx, requester);
  if (type === "m.room.redaction") {
    const redacts = content.redacts;
    if (typeof redacts !== "string") throw new MatrixError(ErrCode.BadJson, "m.room.redaction needs 'redacts'");
    return redact(ctx, requester, roomId, redacts, txnId, content);
  }
  if (NOT_SENDABLE.has(type)) {
    throw new MatrixError(ErrCode.Forbidden, `Cannot send ${type} as a timeline event; use the membership APIs`);
  }
  const event_id = await sendEvent(
    ctx,
    { roomId, type, sender: requester.userId, content },
    txnScope(requester, "send", txnId),
    { rateLimited: true },
  );
  return { event_id };
}

export async function setState(
  ctx: RoomsContext,
  requester: Requester,
  roomIdOrAlias: string,
  type: string,
  stateKey: string,
  content: Record<string, unknown>,
): Promise<{ event_id: string }> {
  const roomId = await resolveRoom(ctx, roomIdOrAlias);
  refuseNul(type, "eventType");
  refuseNul(stateKey, "stateKey");
  await requireConsent(ctx, requester);
  if (type === "m.room.member" && typeof content.membership !== "string") {
    throw new MatrixError(ErrCode.BadJson, "m.room.member needs a 'membership'");
  }
  // Setting the same content again changes nothing: Synapse answers with the event already there.
  const [current] = await ctx.stores.currentState.get(roomId, [[type, stateKey]]);
  if (current) {
    const event = await ctx.stores.events.get(current.eventId);
    if (event && event.sender === requester.userId && canonicallyEqual(event.pdu.content, content)) {
      return { event_id: event.eventId };
    }
  }
  const event_id = await sendEvent(ctx, { roomId, type, stateKey, sender: requester.userId, content }, undefined, {
    rateLimited: true,
  });
  return { event_id };
}

export async function redact(
  ctx: RoomsContext,
  requester: Requester,
  roomId: string,
  eventId: string,
  txnId: string,
  body: Record<string, unknown>,
): Promise<{ event_id: string }> {
  // Here, not in the route: `send/m.room.redaction` comes this way too. Synapse closes redaction to guests.
  if (requester.isGuest) throw new MatrixError(ErrCode.GuestAccessForbidden, "Guest access not allowed");
  if (!isValidEventId(eventId)) throw new MatrixError(ErrCode.InvalidParam, "Invalid event ID");
  await requireConsent(ctx, requester);
  const v = await versionOfRoom(ctx.stores, roomId);
  const content: Record<string, unknown> = {};
  if (typeof body.reason === "string") content.reason = body.reason;
  if (v.v11Redactions) content.redacts = eventId;
  const event_id = await sendEvent(
    ctx,
    { roomId, type: "m.room.redaction", sender: requester.userId, content, redacts: eventId },
    txnScope(requester, "redact", txnId),
    { rateLimited: true },
  );
  return { event_id };
}
