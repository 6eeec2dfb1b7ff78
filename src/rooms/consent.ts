/**
 * @module Re-consent (Synapse's `assert_accepted_privacy_policy`): a user who has not accepted the current terms
 * version is refused what makes events; consent-notice.ts sends them the notice.
 */
import type { Requester } from "../accounts/auth.js";
import { assertConsented } from "../accounts/consent.js";
import type { RoomsContext } from "./context.js";
import { serverNoticesUserId } from "./notice-room.js";

/**
 * Refuses with 403 `M_CONSENT_NOT_GIVEN` when `block_events_error` is set and the requester (for a `login-as`
 * token, the admin using it: Synapse checks the authenticated entity) has not accepted the current version.
 * Callers: sending, state, redaction, room creation, joins (but not of a notices room), invites, kicks, bans;
 * leaving is always allowed.
 */
export async function requireConsent(ctx: RoomsContext, requester: Requester): Promise<void> {
  if (ctx.consent === null || ctx.consent.config.block_events_error === null) return;
  const user = await ctx.stores.users.get(requester.impersonator ?? requester.userId);
  if (user) assertConsented(ctx.consent, user, serverNoticesUserId(ctx));
}
