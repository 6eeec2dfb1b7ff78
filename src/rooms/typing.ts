/**
 * @module Typing notifications (spec "Typing Notifications"): who is typing in a room, shown to its joined members
 * in `/sync` as `m.typing`.
 *
 * The state is in the `typing` table, not in one process's memory, so every `--workers` process shows the same
 * typers. A reader ignores an entry whose time has run out; `expireTyping` (run by every process, see
 * src/sync/ephemeral-timers.ts) then stamps it stopped at a new position and wakes the members, so their syncs
 * learn that the user stopped. Each stamp is a conditional update: two processes expire an entry once.
 */
import type { AccountsContext } from "../accounts/context.js";
import type { Requester } from "../accounts/auth.js";
import { ErrCode, MatrixError } from "../errors.js";
import { isValidRoomId } from "../matrix/ids.js";
import { bumpActive } from "../sync/presence.js";
import { inStreamTransaction } from "../sync/stream.js";

/** Synapse's default when `timeout` is absent. */
export const DEFAULT_TYPING_TIMEOUT_MS = 30_000;
/** Synapse's cap: a client cannot leave a typing notice up for longer. */
export const MAX_TYPING_TIMEOUT_MS = 120_000;
const EXPIRE_BATCH = 500;

/** `PUT /rooms/{roomId}/typing/{userId}` with `{typing, timeout?}`. */
export async function setTyping(
  ctx: AccountsContext,
  requester: Requester,
  roomId: string,
  userId: string,
  body: Record<string, unknown>,
): Promise<void> {
  if (typeof body.typing !== "boolean") throw new MatrixError(ErrCode.BadJson, "'typing' must be a boolean");
  const timeout = body.timeout ?? DEFAULT_TYPING_TIMEOUT_MS;
  if (typeof timeout !== "number" || !Number.isInteger(timeout) || timeout < 0) {
    throw new MatrixError(ErrCode.BadJson, "'timeout' must be a non-negative integer");
  }
  if (!isValidRoomId(roomId)) throw new MatrixError(ErrCode.InvalidParam, `${roomId} is not a valid room ID`);
  if (userId !== requester.userId) throw new MatrixError(ErrCode.Forbidden, "Cannot set another user's typing state");
  const membership = await ctx.stores.roomMemberships.get(roomId, userId);
  if (membership?.membership !== "join") {
    throw new MatrixError(ErrCode.Forbidden, `User ${userId} not in room ${roomId}`);
  }
  await bumpActive(ctx, userId);
  const now = ctx.now();
  const current = await ctx.stores.typing.get(roomId, userId);
  const wasTyping = current !== null && current.expiresAt > now;
  if (body.typing && wasTyping) {
    // Still typing: only the deadline moves, and nobody needs telling (as Synapse).
    await ctx.stores.typing.set(roomId, userId, now + Math.min(timeout, MAX_TYPING_TIMEOUT_MS), current.streamId);
    return;
  }
  if (!body.typing && !wasTyping) return;
  const members = await ctx.stores.roomMemberships.members(roomId, ["join"]);
  await inStreamTransaction(ctx.stores, async (tables, writer) => {
    const expiresAt = body.typing ? now + Math.min(timeout, MAX_TYPING_TIMEOUT_MS) : 0;
    await tables.typing.set(roomId, userId, expiresAt, await writer.next());
    for (const m of members) writer.wake(m.userId);
  });
}

/** Stamps typing entries whose time ran out as stopped and wakes their rooms' members; returns how many. */
export async function expireTyping(ctx: AccountsContext): Promise<number> {
  let stopped = 0;
  for (const entry of await ctx.stores.typing.expired(ctx.now(), EXPIRE_BATCH)) {
    const members = await ctx.stores.roomMemberships.members(entry.roomId, ["join"]);
    const done = await inStreamTransaction(ctx.stores, async (tables, writer) => {
      if (!(await tables.typing.stopExpired(entry.roomId, entry.userId, entry.expiresAt, await writer.next()))) {
        return false;
      }
      for (const m of members) writer.wake(m.userId);
      return true;
    });
    if (done) stopped++;
  }
  return stopped;
}
