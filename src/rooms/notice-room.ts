/**
 * @module Which user sends server notices and which rooms are theirs: the two facts both the notices service and the
 * membership rules (an invite to a notices room cannot be rejected) read.
 */
import type { RoomsContext } from "./context.js";

/** `@<system_mxid_localpart>:<server_name>`, or null when server notices are off. */
export function serverNoticesUserId(ctx: RoomsContext): string | null {
  const config = ctx.serverNotices;
  return config === null ? null : `@${config.system_mxid_localpart}:${ctx.serverName}`;
}

/**
 * A room is a notices room when the notices user is joined to it (Synapse's `is_server_notice_room`). An invite of
 * the notices user does not make one, so no one can turn their own room into a notices room.
 */
export async function isServerNoticesRoom(ctx: RoomsContext, roomId: string): Promise<boolean> {
  const sender = serverNoticesUserId(ctx);
  if (sender === null) return false;
  return (await ctx.stores.roomMemberships.get(roomId, sender))?.membership === "join";
}
