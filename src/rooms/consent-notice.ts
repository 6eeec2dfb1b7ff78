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
/**
 * Users this process knows need no notice for the current version: they accepted it, were sent it, or cannot be
 * sent one. That stays true while the process runs (the version is its configuration's), so their syncs read no
 * row. Bounded: past the limit it starts again, and a forgotten user costs one read.
 */
const settled = new WeakMap<RoomsContext, Set<string>>();
const MAX_SETTLED = 100_000;

function settle(ctx: RoomsContext, userId: string): void {
  let users = settled.get(ctx);
  if (!users) settled.set(ctx, (users = new Set()));
  if (users.size >= MAX_SETTLED) users.clear();
  users.add(userId);
}

export async function sendConsentNoticeIfDue(ctx: RoomsContext, userId: string): Promise<boolean> {
  const s = ctx.consent;
  if (s === null || s.config.server_notice_content === null) return false;
  if (settled.get(ctx)?.has(userId)) return false;
  const user = await ctx.stores.users.get(userId);
  if (!user || user.userId === serverNoticesUserId(ctx) || !needsConsentNotice(s, user)) {
    settle(ctx, userId);
    return false;
  }
  const version = s.config.version;
  const sent = await sendSystemNotice(ctx, userId, consentNoticeContent(s, userId), (tables) =>
    tables.users.claimConsentServerNotice(userId, version),
  );
  // Sent now, or claimed first by another request or process: either way the user has had it.
  settle(ctx, userId);
  return sent;
}
