/**
 * @module Keeping a user's member events in step with their account (Synapse's `update_join_states` and
 * `_part_user_from_rooms`): after a display name or avatar change, a new join event in every room the user is in,
 * so the room shows the new name; after deactivation, a leave from every room (and every invite rejected).
 *
 * Runs after the account change has committed, one event per room through the one write path. A room that refuses
 * the event (the rules changed under the user) is skipped: the account change stands either way, as in Synapse.
 */
import { isMatrixError } from "../errors.js";
import type { RoomsContext } from "./context.js";
import { contentOf } from "./event-content.js";
import { memberContent } from "./membership.js";
import { sendEvent } from "./persist.js";

export async function reconcileMemberships(ctx: RoomsContext, userId: string): Promise<void> {
  const user = await ctx.stores.users.get(userId);
  if (!user) return;
  const rooms = await ctx.stores.roomMemberships.roomsOfUser(
    userId,
    user.deactivated ? ["join", "invite", "knock"] : ["join"],
  );
  for (const room of rooms) {
    let content: Record<string, unknown>;
    if (user.deactivated) {
      content = { membership: "leave" };
    } else {
      content = await memberContent(ctx, userId, "join");
      const current = await ctx.stores.events.get(room.eventId);
      const was = current ? contentOf(current) : {};
      if (was.displayname === content.displayname && was.avatar_url === content.avatar_url) continue;
    }
    try {
      await sendEvent(ctx, { roomId: room.roomId, type: "m.room.member", stateKey: userId, sender: userId, content });
    } catch (err) {
      if (!isMatrixError(err)) throw err;
    }
  }
}
