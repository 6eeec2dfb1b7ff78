/**
 * @module Re-consent (Synapse's `assert_accepted_privacy_policy`): a user who has not accepted the current terms
 * version is refused what makes events; consent-notice.ts sends them the notice.
 */
import type { Requester } from "../accounts/auth.js";
import { assertConsented } from "../accounts/consent.js";
import type { RoomsContext } from "./context.js";
import { resolveRoom } from "./membership.js";
import { isServerNoticesRoom, serverNoticesUserId } from "./notice-room.js";

/**
 * Called by the client API's handlers (and sending, src/rooms/send.ts), not by the admin API's actions that act as
 * a user (a shutdown's moves, an admin's join), which Synapse does not hold to the user's consent either.
 *
 * Refuses with 403 `M_CONSENT_NOT_GIVEN` when `block_events_error` is set and the requester (for a `login-as`
 * token, the admin using it: Synapse checks the authenticated entity) has not accepted the current version.
 * Callers: sending, state, redaction, room creation, joins (`requireConsentToJoin`), invites, kicks, bans;
 * leaving is always allowed.
 */
export async function requireConsent(ctx: RoomsContext, requester: Requester): Promise<void> {
  if (ctx.consent === null || ctx.consent.config.block_events_error === null) return;
  const user = await ctx.stores.users.get(requester.impersonator ?? requester.userId);
  if (user) assertConsented(ctx.consent, user, serverNoticesUserId(ctx));
}

/** Synapse's one exemption for a join: the notices room, where the user reads what to accept. */
export async function requireConsentToJoin(
  ctx: RoomsContext,
  requester: Requester,
  roomIdOrAlias: string,
): Promise<void> {
  if (ctx.consent === null || ctx.consent.config.block_events_error === null) return;
  const roomId = await resolveRoom(ctx, roomIdOrAlias);
  if (!(await isServerNoticesRoom(ctx, roomId))) await requireConsent(ctx, requester);
}
