/**
 * @module Deleting a room as a server admin (Synapse's Delete Room API, v1 and v2): every local member leaves (each
 * one's own leave event, sent through `sendEvent` like any other), the room leaves the directory, optionally is
 * blocked, its local members are moved to a new notice room, and its rows are purged.
 *
 * Each deletion has a row in `room_deletions` from the start, so `delete_status` answers from any process sharing
 * the database. v2 runs the work in this process after answering; v1 waits for it. A process that stops mid-way
 * leaves its row `active` (what was done stays done: each leave is its own event, the purge one transaction).
 */
import { recordAudit, type AdminActor } from "../accounts/audit.js";
import type { Requester } from "../accounts/auth.js";
import type { DeletionRecord } from "../db/room-deletions.js";
import { ErrCode, MatrixError } from "../errors.js";
import { isValidUserId } from "../matrix/ids.js";
import { legalRoomId } from "./admin-room-block.js";
import type { RoomsContext } from "./context.js";
import { createRoom, parseCreateRoom } from "./create-room.js";
import { joinRoom } from "./membership.js";
import { sendEvent } from "./persist.js";
import { recentEventsOf } from "../sync/recent-events.js";

export interface DeleteRoomCommand {
  newRoomUserId: string | null;
  roomName: string;
  message: string;
  block: boolean;
  purge: boolean;
  forcePurge: boolean;
}

/** What `delete_status` calls `shutdown_room`, and v1 answers. */
export interface ShutdownResult {
  kicked_users: string[];
  failed_to_kick_users: string[];
  local_aliases: string[];
  new_room_id: string | null;
}

export interface DeleteStatus {
  delete_id: string;
  room_id: string;
  status: string;
  error?: string;
  shutdown_room: ShutdownResult;
}

/** Synapse's defaults for the notice room. */
const DEFAULT_ROOM_NAME = "Content Violation Notification";
const DEFAULT_MESSAGE =
  "Sharing illegal content on this server is not permitted and rooms in violation will be blocked.";

function optionalBoolean(body: Record<string, unknown>, name: string, fallback: boolean): boolean {
  const v = body[name];
  if (v === undefined) return fallback;
  if (typeof v !== "boolean") throw new MatrixError(ErrCode.BadJson, `Param '${name}' must be a boolean, if given`);
  return v;
}

function optionalString(body: Record<string, unknown>, name: string): string | null {
  const v = body[name];
  if (v === undefined || v === null) return null;
  if (typeof v !== "string") throw new MatrixError(ErrCode.BadJson, `Param '${name}' must be a string, if given`);
  return v;
}

/** The body of `DELETE /rooms/{roomId}`, in Synapse's order and words; `new_room_user_id` must be local. */
export function parseDeleteRoom(body: Record<string, unknown>, serverName: string): DeleteRoomCommand {
  const block = optionalBoolean(body, "block", false);
  const purge = optionalBoolean(body, "purge", true);
  const forcePurge = optionalBoolean(body, "force_purge", false);
  const newRoomUserId = optionalString(body, "new_room_user_id");
  if (newRoomUserId !== null && (!isValidUserId(newRoomUserId) || !newRoomUserId.endsWith(`:${serverName}`))) {
    throw new MatrixError(ErrCode.Unknown, `User must be our own: ${newRoomUserId}`);
  }
  return {
    newRoomUserId,
    roomName: optionalString(body, "room_name") ?? DEFAULT_ROOM_NAME,
    message: optionalString(body, "message") ?? DEFAULT_MESSAGE,
    block,
    purge,
    forcePurge,
  };
}

const emptyResult = (): ShutdownResult => ({
  kicked_users: [],
  failed_to_kick_users: [],
  local_aliases: [],
  new_room_id: null,
});

/** Acting as a local user who did not sign in: a member's own leave, the notice room's creator. */
function actingAs(userId: string): Requester {
  return { userId, deviceId: null, isGuest: false, admin: false, tokenHash: "", impersonator: null };
}

function newDeleteId(ctx: RoomsContext): string {
  const letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
  return [...ctx.randomBytes(16)].map((b) => letters[b % letters.length]).join("");
}

/**
 * Checks the request, records the deletion (`scheduled`) and its audit entry, and starts the work. `done` settles
 * with the result once the work has finished (or rejects with why it failed, which the row records too).
 */
export async function startRoomDeletion(
  ctx: RoomsContext,
  actor: AdminActor,
  roomId: string,
  cmd: DeleteRoomCommand,
): Promise<{ deleteId: string; done: Promise<ShutdownResult> }> {
  legalRoomId(roomId);
  const known = (await ctx.stores.rooms.get(roomId)) !== null;
  // Synapse blocks an unknown room when asked to, and otherwise refuses; here the refusal comes at once.
  if (!known && !cmd.block) throw new MatrixError(ErrCode.NotFound, `Unknown room id ${roomId}`);
  const deleteId = newDeleteId(ctx);
  const now = ctx.now();
  const params = {
    new_room_user_id: cmd.newRoomUserId,
    room_name: cmd.roomName,
    message: cmd.message,
    block: cmd.block,
    purge: cmd.purge,
    force_purge: cmd.forcePurge,
  };
  await ctx.stores.transaction(async (t) => {
    const running = (await t.roomDeletions.forRoom(roomId)).some(
      (d) => d.status === "scheduled" || d.status === "active",
    );
    if (running) throw new MatrixError(ErrCode.Unknown, `Purge already in progress for ${roomId}`);
    await t.roomDeletions.insert({
      deleteId,
      roomId,
      requester: actor.userId,
      status: "scheduled",
      error: null,
      params,
      result: { ...emptyResult() },
      createdTs: now,
      updatedTs: now,
    });
    await recordAudit(t, ctx, actor, "room.delete", roomId, {}, { delete_id: deleteId, ...params });
  });
  const done = runDeletion(ctx, actor, deleteId, roomId, cmd, known);
  // v2 does not wait; the row records a failure, so an unobserved rejection is not an error.
  done.catch(() => {});
  return { deleteId, done };
}

async function runDeletion(
  ctx: RoomsContext,
  actor: AdminActor,
  deleteId: string,
  roomId: string,
  cmd: DeleteRoomCommand,
  known: boolean,
): Promise<ShutdownResult> {
  const result = emptyResult();
  try {
    await ctx.stores.roomDeletions.update(deleteId, { status: "active" }, ctx.now());
    if (cmd.block) {
      await ctx.stores.transaction(async (t) => {
        if (await t.blockedRooms.block(roomId, actor.userId, ctx.now())) {
          await recordAudit(t, ctx, actor, "room.block", roomId, { blocked_by: null }, { blocked_by: actor.userId });
        }
      });
    }
    if (known) {
      await shutDown(ctx, roomId, cmd, result);
      await ctx.stores.roomDeletions.update(deleteId, { status: "active", result: { ...result } }, ctx.now());
      if (cmd.purge) await purgeRoom(ctx, actor, roomId, cmd.forcePurge);
    }
    await ctx.stores.roomDeletions.update(deleteId, { status: "complete", result: { ...result } }, ctx.now());
    return result;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    await ctx.stores.roomDeletions
      .update(deleteId, { status: "failed", error: message, result: { ...result } }, ctx.now())
      .catch(() => {});
    throw err;
  }
}

/** Every local member leaves (banned ones stay banned), and with a new room user, lands in the notice room. */
async function shutDown(ctx: RoomsContext, roomId: string, cmd: DeleteRoomCommand, result: ShutdownResult) {
  await ctx.stores.rooms.setPublic(roomId, false);
  if (cmd.newRoomUserId !== null) {
    const created = await createRoom(
      ctx,
      actingAs(cmd.newRoomUserId),
      parseCreateRoom({
        preset: "public_chat",
        name: cmd.roomName,
        power_level_content_override: { users_default: -10 },
      }),
    );
    result.new_room_id = created.room_id;
    await sendEvent(ctx, {
      roomId: created.room_id,
      type: "m.room.message",
      sender: cmd.newRoomUserId,
      content: { body: cmd.message, msgtype: "m.text" },
    });
  }
  const local = (await ctx.stores.roomMemberships.members(roomId, ["join", "invite", "knock"])).filter((m) =>
    m.userId.endsWith(`:${ctx.serverName}`),
  );
  for (const m of local) {
    try {
      await sendEvent(ctx, {
        roomId,
        type: "m.room.member",
        stateKey: m.userId,
        sender: m.userId,
        content: { membership: "leave" },
      });
      // As Synapse: the room then drops out of the user's sync altogether.
      await ctx.stores.roomMemberships.setForgotten(roomId, m.userId);
      if (result.new_room_id !== null && m.userId !== cmd.newRoomUserId) {
        await joinRoom(ctx, actingAs(m.userId), result.new_room_id, {});
      }
      result.kicked_users.push(m.userId);
    } catch {
      result.failed_to_kick_users.push(m.userId);
    }
  }
  const aliases = await ctx.stores.roomAliases.forRoom(roomId);
  result.local_aliases = aliases.map((a) => a.alias);
  const newRoomId = result.new_room_id;
  if (newRoomId !== null && aliases.length > 0) {
    await ctx.stores.transaction(async (t) => {
      for (const a of aliases) {
        await t.roomAliases.delete(a.alias);
        await t.roomAliases.insert({ alias: a.alias, roomId: newRoomId, creator: a.creator }, ctx.now());
      }
    });
  }
}

/** Removes the room's rows in one transaction; refused while local users are still joined unless forced. */
async function purgeRoom(ctx: RoomsContext, actor: AdminActor, roomId: string, force: boolean): Promise<void> {
  await ctx.stores.transaction(async (t) => {
    const joined = (await t.roomMemberships.members(roomId, ["join"])).filter((m) =>
      m.userId.endsWith(`:${ctx.serverName}`),
    );
    if (joined.length > 0 && !force) throw new Error("Users are still joined to this room");
    const { events } = await t.roomPurge.purge(roomId);
    await recordAudit(t, ctx, actor, "room.purge", roomId, { events }, { events: 0 });
  });
  recentEventsOf(ctx.stores).clear();
}

function statusOf(d: DeletionRecord): DeleteStatus {
  const status: DeleteStatus = {
    delete_id: d.deleteId,
    room_id: d.roomId,
    status: d.status,
    shutdown_room: d.result as unknown as ShutdownResult,
  };
  if (d.status === "failed" && d.error !== null) status.error = d.error;
  return status;
}

/** `GET /_synapse/admin/v2/rooms/{roomId}/delete_status`. */
export async function deleteStatusByRoom(ctx: RoomsContext, roomId: string): Promise<{ results: DeleteStatus[] }> {
  legalRoomId(roomId);
  const rows = await ctx.stores.roomDeletions.forRoom(roomId);
  if (rows.length === 0) throw new MatrixError(ErrCode.NotFound, `No delete task for room_id '${roomId}' found`);
  return { results: rows.map(statusOf) };
}

/** `GET /_synapse/admin/v2/rooms/delete_status/{deleteId}`. */
export async function deleteStatusById(ctx: RoomsContext, deleteId: string): Promise<DeleteStatus> {
  const row = await ctx.stores.roomDeletions.get(deleteId);
  if (!row) throw new MatrixError(ErrCode.NotFound, `delete id '${deleteId}' not found`);
  return statusOf(row);
}
