/**
 * @module Receipts and read markers (spec "Receipts", "Fully read markers").
 *
 * `m.read` is shown to the room's joined members, `m.read.private` only to its owner, both in `/sync` as
 * `m.receipt`; `m.fully_read` is the read marker, kept as the user's room account data. One receipt is kept per
 * (room, user, type, thread); as in Synapse a receipt never moves back to an earlier event, and a repeated or older
 * one is accepted and changes nothing. Unlike Synapse, the event must be one the user can see in the room
 * (404 otherwise) and the user must be joined to it (403): a receipt is shown to the room's members.
 */
import type { AccountsContext } from "../accounts/context.js";
import type { Requester } from "../accounts/auth.js";
import type { StoredEvent } from "../db/events.js";
import type { Tables } from "../db/stores.js";
import { ErrCode, MatrixError } from "../errors.js";
import { isValidEventId, isValidRoomId } from "../matrix/ids.js";
import { bumpActive } from "../sync/presence.js";
import { inStreamTransaction, withNewPosition } from "../sync/stream.js";
import { contentOf } from "./event-content.js";
import { visibilityFor } from "./visibility.js";

export const READ = "m.read";
export const READ_PRIVATE = "m.read.private";
export const FULLY_READ = "m.fully_read";
export const RECEIPT_TYPES: readonly string[] = [READ, READ_PRIVATE, FULLY_READ];
export const MAIN_TIMELINE = "main";

/** The thread an event is in: the root's ID for a thread reply, null for anything else. */
function threadOf(e: StoredEvent): string | null {
  const rel = contentOf(e)["m.relates_to"] as Record<string, unknown> | undefined;
  return rel?.rel_type === "m.thread" && typeof rel.event_id === "string" ? rel.event_id : null;
}

/** The event a non-thread relation (an edit, a reaction) points at, if any. */
function relatedOf(e: StoredEvent): string | null {
  const rel = contentOf(e)["m.relates_to"] as Record<string, unknown> | undefined;
  return rel && rel.rel_type !== "m.thread" && typeof rel.event_id === "string" ? rel.event_id : null;
}

/**
 * Synapse's `_is_event_in_thread`, one relation deep: for `main`, the event is not a thread reply; for a thread,
 * the event is its root, a reply in it, or relates (a reaction, an edit) to one of those.
 */
async function inThread(tables: Tables, e: StoredEvent, threadId: string): Promise<boolean> {
  const matches = (x: StoredEvent) =>
    threadId === MAIN_TIMELINE ? threadOf(x) === null : x.eventId === threadId || threadOf(x) === threadId;
  if (threadId === MAIN_TIMELINE) return matches(e);
  if (matches(e)) return true;
  const related = relatedOf(e);
  const parent = related === null ? null : await tables.events.get(related);
  return parent !== null && parent.roomId === e.roomId && matches(parent);
}

/** The event a receipt or marker points at: in the room, visible to the user, who is joined. */
async function receiptTarget(
  ctx: AccountsContext,
  userId: string,
  roomId: string,
  eventId: string,
): Promise<StoredEvent> {
  const membership = await ctx.stores.roomMemberships.get(roomId, userId);
  if (membership?.membership !== "join") {
    throw new MatrixError(ErrCode.Forbidden, `User ${userId} not in room ${roomId}`);
  }
  const event = await ctx.stores.events.get(eventId);
  if (!event || event.roomId !== roomId) throw new MatrixError(ErrCode.NotFound, "Event not found.");
  const check = await visibilityFor(ctx.stores, roomId, userId);
  if (!check.visible(event)) throw new MatrixError(ErrCode.NotFound, "Event not found.");
  return event;
}

/** Stores an `m.read` / `m.read.private` receipt unless the user's receipt there is already at or after it. */
async function storeReceipt(
  ctx: AccountsContext,
  userId: string,
  type: string,
  event: StoredEvent,
  threadId: string | null,
): Promise<void> {
  const existing = await ctx.stores.receipts.get(event.roomId, userId, type, threadId);
  if (existing !== null && existing.eventOrdering >= event.streamOrdering) return;
  const members = type === READ ? await ctx.stores.roomMemberships.members(event.roomId, ["join"]) : [];
  await inStreamTransaction(ctx.stores, async (tables, writer) => {
    await tables.receipts.put({
      roomId: event.roomId,
      userId,
      type,
      threadId,
      eventId: event.eventId,
      eventOrdering: event.streamOrdering,
      ts: ctx.now(),
      streamId: await writer.next(),
    });
    // The owner's syncs always (their unread counts change); the room's members only for a public receipt.
    writer.wake(userId);
    for (const m of members) writer.wake(m.userId);
  });
}

/** Moves the read marker (`m.fully_read` room account data) forward to `event`, never back. */
async function storeReadMarker(ctx: AccountsContext, userId: string, event: StoredEvent): Promise<void> {
  const current = await ctx.stores.roomAccountData.get(userId, event.roomId, FULLY_READ);
  const currentId = typeof current?.event_id === "string" ? current.event_id : null;
  if (currentId !== null) {
    const at = await ctx.stores.events.get(currentId);
    if (at !== null && at.streamOrdering >= event.streamOrdering) return;
  }
  await withNewPosition(ctx.stores, userId, (tables, position) =>
    tables.roomAccountData.put(userId, event.roomId, FULLY_READ, { event_id: event.eventId }, position),
  );
}

function checkIds(roomId: string, eventId: string): void {
  if (!isValidRoomId(roomId) || !isValidEventId(eventId)) {
    throw new MatrixError(ErrCode.Unknown, "A valid room ID and event ID must be specified", { status: 400 });
  }
}

/** `POST /rooms/{roomId}/receipt/{receiptType}/{eventId}` with `{thread_id?}`. */
export async function postReceipt(
  ctx: AccountsContext,
  requester: Requester,
  roomId: string,
  receiptType: string,
  eventId: string,
  body: Record<string, unknown>,
): Promise<void> {
  checkIds(roomId, eventId);
  if (!RECEIPT_TYPES.includes(receiptType)) {
    throw new MatrixError(ErrCode.Unknown, `Receipt type must be ${RECEIPT_TYPES.join(", ")}`, { status: 400 });
  }
  let threadId: string | null = null;
  if ("thread_id" in body) {
    if (typeof body.thread_id !== "string" || body.thread_id === "") {
      throw new MatrixError(ErrCode.InvalidParam, "thread_id field must be a non-empty string");
    }
    if (receiptType === FULLY_READ) {
      throw new MatrixError(ErrCode.InvalidParam, `thread_id is not compatible with ${FULLY_READ} receipts.`);
    }
    threadId = body.thread_id;
  }
  const event = await receiptTarget(ctx, requester.userId, roomId, eventId);
  if (threadId !== null && !(await inThread(ctx.stores, event, threadId))) {
    throw new MatrixError(ErrCode.InvalidParam, `event_id ${eventId} is not related to thread ${threadId}`);
  }
  await bumpActive(ctx, requester.userId);
  if (receiptType === FULLY_READ) await storeReadMarker(ctx, requester.userId, event);
  else await storeReceipt(ctx, requester.userId, receiptType, event, threadId);
}

/** `POST /rooms/{roomId}/read_markers` with `{m.fully_read?, m.read?, m.read.private?}`: each an event ID. */
export async function setReadMarkers(
  ctx: AccountsContext,
  requester: Requester,
  roomId: string,
  body: Record<string, unknown>,
): Promise<void> {
  if (!isValidRoomId(roomId)) throw new MatrixError(ErrCode.InvalidParam, `${roomId} is not a valid room ID`);
  const wanted: [string, string][] = [];
  for (const type of RECEIPT_TYPES) {
    const eventId = body[type];
    if (eventId === undefined || eventId === null) continue;
    if (typeof eventId !== "string" || !isValidEventId(eventId)) {
      throw new MatrixError(ErrCode.InvalidParam, `'${type}' must be an event ID`);
    }
    wanted.push([type, eventId]);
  }
  // Every event is checked before anything is written: a bad one leaves nothing half done.
  const targets: [string, StoredEvent][] = [];
  for (const [type, eventId] of wanted) {
    targets.push([type, await receiptTarget(ctx, requester.userId, roomId, eventId)]);
  }
  await bumpActive(ctx, requester.userId);
  for (const [type, event] of targets) {
    if (type === FULLY_READ) await storeReadMarker(ctx, requester.userId, event);
    else await storeReceipt(ctx, requester.userId, type, event, null);
  }
}
