/**
 * @module Synapse's `ConsentServerNotices`: one server notice per terms version to each user who has not accepted it,
 * sent when they sync.
 */
import { consentNoticeContent, needsConsentNotice } from "../accounts/consent.js";
import type { RoomsContext } from "./context.js";
import { serverNoticesUserId } from "./notice-room.js";
import { sendSystemNotice } from "./server-notices.js";

/**
 * Called when a user syncs: sends the consent notice (`server_notice_content` with the user's link) if they have not
 * accepted the current version and were not sent one for it. The version is recorded as sent in the notice's own
 * transaction, only if no other request recorded it first, so two syncs at once send one notice. A failure is
 * logged by the caller and retried on the next sync, as Synapse does.
 */
export async function sendConsentNoticeIfDue(ctx: RoomsContext, userId: string): Promise<boolean> {
  const s = ctx.consent;
  if (s === null || s.config.server_notice_content === null) return false;
  const user = await ctx.stores.users.get(userId);
  if (!user || user.userId === serverNoticesUserId(ctx) || !needsConsentNotice(s, user)) return false;
  const version = s.config.version;
  return sendSystemNotice(ctx, userId, consentNoticeContent(s, userId), (tables) =>
    tables.users.claimConsentServerNotice(userId, version),
  );
}
