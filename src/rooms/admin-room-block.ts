/**
 * @module Blocking rooms (Synapse's Block Room API): a blocked room refuses joins and invites to everyone but server
 * admins (the refusal itself lives in the one membership path, src/rooms/membership.ts). A room can be blocked
 * before this server knows it. Each change and its audit entry land in one transaction.
 */
import { recordAudit, type AdminActor } from "../accounts/audit.js";
import { ErrCode, MatrixError } from "../errors.js";
import { isValidRoomId } from "../matrix/ids.js";
import type { RoomsContext } from "./context.js";

/** Synapse's `RoomID.is_valid` check with its words (400 `M_UNKNOWN`). */
export function legalRoomId(roomId: string): string {
  if (!isValidRoomId(roomId)) throw new MatrixError(ErrCode.Unknown, `${roomId} is not a legal room ID`);
  return roomId;
}

/** `GET /_synapse/admin/v1/rooms/{roomId}/block`: `{block: true, user_id}` or `{block: false}`. */
export async function blockStatus(
  ctx: RoomsContext,
  roomId: string,
): Promise<{ block: true; user_id: string } | { block: false }> {
  const by = await ctx.stores.blockedRooms.blockedBy(legalRoomId(roomId));
  return by === null ? { block: false } : { block: true, user_id: by };
}

/** `{"block": bool}`, required and a boolean, in Synapse's words. */
export function parseBlock(body: Record<string, unknown>): boolean {
  if (!("block" in body)) throw new MatrixError(ErrCode.MissingParam, "Missing params: ['block']");
  if (typeof body.block !== "boolean") throw new MatrixError(ErrCode.BadJson, "Param 'block' must be a boolean.");
  return body.block;
}

/** Blocks or unblocks the room; audited only when something changed. */
export async function setBlocked(
  ctx: RoomsContext,
  actor: AdminActor,
  roomId: string,
  block: boolean,
): Promise<{ block: boolean }> {
  legalRoomId(roomId);
  await ctx.stores.transaction(async (t) => {
    const before = await t.blockedRooms.blockedBy(roomId);
    const changed = block
      ? await t.blockedRooms.block(roomId, actor.userId, ctx.now())
      : await t.blockedRooms.unblock(roomId);
    if (!changed) return;
    await recordAudit(
      t,
      ctx,
      actor,
      block ? "room.block" : "room.unblock",
      roomId,
      { blocked_by: before },
      { blocked_by: block ? actor.userId : null },
    );
  });
  return { block };
}
