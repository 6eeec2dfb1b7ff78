/**
 * @module Membership changes (spec "Room membership"): join, invite, leave (and reject), kick, ban, unban and
 * forget. Each is one member event through `sendEvent`, so the authorization rules decide who may do what; what is
 * here is what Synapse's `RoomMemberHandler` adds around them: the joiner's profile in the event, joining a room
 * one is in already, `forget` only after leaving.
 */
import type { Requester } from "../accounts/auth.js";
import type { Membership } from "../db/room-memberships.js";
import type { Tables } from "../db/stores.js";
import { ErrCode, MatrixError } from "../errors.js";
import { canonicallyEqual } from "../matrix/canonical-json.js";
import { isValidRoomId, isValidUserId, parseRoomAlias } from "../matrix/ids.js";
import type { RoomsContext } from "./context.js";
import { isServerNoticesRoom } from "./notice-room.js";
import { inRoomTransaction, sendEvent } from "./persist.js";
import { stateLookup } from "./room-summary.js";

/** A member event's content: the membership, and for a join the user's display name and avatar, as Synapse adds. */
export async function memberContent(
  ctx: RoomsContext,
  userId: string,
  membership: Membership,
  reason?: string,
): Promise<Record<string, unknown>> {
  const content: Record<string, unknown> = { membership };
  if (membership === "join") {
    const user = await ctx.stores.users.get(userId);
    if (user?.displayname) content.displayname = user.displayname;
    if (user?.avatarUrl) content.avatar_url = user.avatarUrl;
  }
  if (reason !== undefined) content.reason = reason;
  return content;
}

/** A room ID as it is, or the room an alias of this server names; 404 for an unknown alias. */
export async function resolveRoom(ctx: RoomsContext, roomIdOrAlias: string): Promise<string> {
  if (roomIdOrAlias.startsWith("#")) {
    if (!parseRoomAlias(roomIdOrAlias)) throw new MatrixError(ErrCode.InvalidParam, "Invalid room alias");
    const found = await ctx.stores.roomAliases.get(roomIdOrAlias);
    if (!found) throw new MatrixError(ErrCode.NotFound, "Room alias not found");
    return found.roomId;
  }
  if (!isValidRoomId(roomIdOrAlias)) {
    throw new MatrixError(ErrCode.InvalidParam, `${roomIdOrAlias} was not legal room ID or room alias`);
  }
  return roomIdOrAlias;
}

/**
 * A room an admin blocked takes no joins or invites except a server admin's (Synapse's words). Checked here, in
 * the one membership path, so no way into a room can miss it.
 */
async function refuseIfBlocked(ctx: RoomsContext, requester: Requester, roomId: string): Promise<void> {
  if (requester.admin) return;
  if ((await ctx.stores.blockedRooms.blockedBy(roomId)) !== null) {
    throw new MatrixError(ErrCode.Forbidden, "This room has been blocked on this server");
  }
}

function optionalReason(body: Record<string, unknown>): string | undefined {
  if (body.reason === undefined) return undefined;
  if (typeof body.reason !== "string") throw new MatrixError(ErrCode.BadJson, "'reason' must be a string");
  return body.reason;
}

function targetOf(body: Record<string, unknown>): string {
  if (typeof body.user_id !== "string") throw new MatrixError(ErrCode.MissingParam, "Missing 'user_id'");
  if (!isValidUserId(body.user_id)) throw new MatrixError(ErrCode.InvalidParam, "Invalid user_id");
  return body.user_id;
}

export async function joinRoom(
  ctx: RoomsContext,
  requester: Requester,
  roomIdOrAlias: string,
  body: Record<string, unknown>,
  /** More writes that land with the join or not at all (the admin API's audit entry). */
  alsoInTransaction?: (tables: Tables) => Promise<void>,
): Promise<{ room_id: string }> {
  const roomId = await resolveRoom(ctx, roomIdOrAlias);
  await refuseIfBlocked(ctx, requester, roomId);
  if (!(await ctx.stores.rooms.get(roomId))) throw new MatrixError(ErrCode.NotFound, "No known servers");
  if (requester.isGuest) await refuseGuestUnlessAllowed(ctx, roomId);
  const content = await memberContent(ctx, requester.userId, "join", optionalReason(body));
  const current = await ctx.stores.roomMemberships.get(roomId, requester.userId);
  if (current?.membership === "join") {
    // Joining again with the same profile changes nothing; Synapse sends no new event either.
    const event = await ctx.stores.events.get(current.eventId);
    if (event && canonicallyEqual(event.pdu.content, content)) return { room_id: roomId };
  }
  await ctx.limiter.checkUser("rc_joins.local", requester.userId, ctx.rateLimits.joins);
  const draft = { roomId, type: "m.room.member", stateKey: requester.userId, sender: requester.userId, content };
  await inRoomTransaction(ctx, async (append, tables) => {
    await append(draft);
    await alsoInTransaction?.(tables);
  });
  return { room_id: roomId };
}

/**
 * Guests join only rooms whose `m.room.guest_access` is `can_join` (spec "Guest access"). Guests are this server's
 * notion, not the authorization rules', so the check is here, as in Synapse (403 `M_FORBIDDEN`).
 */
async function refuseGuestUnlessAllowed(ctx: RoomsContext, roomId: string): Promise<void> {
  const state = await stateLookup(ctx.stores, roomId, [["m.room.guest_access", ""]]);
  if (state("m.room.guest_access", "")?.content.guest_access !== "can_join") {
    throw new MatrixError(ErrCode.Forbidden, "Guest access not allowed");
  }
}

/** invite, kick, ban and unban: a member event about someone else. */
export async function changeMembership(
  ctx: RoomsContext,
  requester: Requester,
  roomIdOrAlias: string,
  action: "invite" | "kick" | "ban" | "unban",
  body: Record<string, unknown>,
): Promise<void> {
  const roomId = await resolveRoom(ctx, roomIdOrAlias);
  const target = targetOf(body);
  const reason = optionalReason(body);
  const membership: Membership = action === "invite" ? "invite" : action === "ban" ? "ban" : "leave";
  if (action === "invite") await refuseIfBlocked(ctx, requester, roomId);
  if (action === "unban") {
    const current = await ctx.stores.roomMemberships.get(roomId, target);
    if (current?.membership !== "ban") throw new MatrixError(ErrCode.Forbidden, `${target} is not banned`);
  }
  if (action === "kick") {
    const current = await ctx.stores.roomMemberships.get(roomId, target);
    if (!current || (current.membership !== "join" && current.membership !== "invite")) {
      throw new MatrixError(ErrCode.Forbidden, `${target} is not in the room`);
    }
  }
  const content: Record<string, unknown> = { membership };
  if (reason !== undefined) content.reason = reason;
  if (action === "invite" && body.is_direct === true) content.is_direct = true;
  await sendEvent(ctx, { roomId, type: "m.room.member", stateKey: target, sender: requester.userId, content });
}

/** Leaving a room one is in, or rejecting an invite. */
export async function leaveRoom(
  ctx: RoomsContext,
  requester: Requester,
  roomIdOrAlias: string,
  body: Record<string, unknown>,
): Promise<void> {
  const roomId = await resolveRoom(ctx, roomIdOrAlias);
  const current = await ctx.stores.roomMemberships.get(roomId, requester.userId);
  if (!current || current.membership === "leave") {
    // Synapse answers a leave of a room one is not in with success, so clients can retry a leave safely.
    if (current) return;
    throw new MatrixError(ErrCode.NotFound, "You are not in this room");
  }
  // Synapse's rule: the invite to a server notices room cannot be rejected; once joined, the user may leave.
  if (current.membership === "invite" && (await isServerNoticesRoom(ctx, roomId))) {
    throw new MatrixError(ErrCode.CannotLeaveServerNoticeRoom, "You cannot reject this invite");
  }
  const content = await memberContent(ctx, requester.userId, "leave", optionalReason(body));
  await sendEvent(ctx, {
    roomId,
    type: "m.room.member",
    stateKey: requester.userId,
    sender: requester.userId,
    content,
  });
}

/** `forget`: only once the user has left or been banned; the room then no longer appears in their sync. */
export async function forgetRoom(ctx: RoomsContext, requester: Requester, roomIdOrAlias: string): Promise<void> {
  const roomId = await resolveRoom(ctx, roomIdOrAlias);
  const current = await ctx.stores.roomMemberships.get(roomId, requester.userId);
  if (!current) throw new MatrixError(ErrCode.NotFound, "You have never been in this room");
  if (current.membership === "join" || current.membership === "invite" || current.membership === "knock") {
    throw new MatrixError(ErrCode.Unknown, "User must leave the room before it can be forgotten");
  }
  await ctx.stores.roomMemberships.setForgotten(roomId, requester.userId);
}
