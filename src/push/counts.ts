/**
 * @module The unread counts of a joined room in `/sync` (spec "Receiving notifications", threaded
 * notifications): the events that notified the user after their read position, up to the sync's position.
 *
 * Without `unread_thread_notifications` in the filter, `unread_notifications` counts every thread; with it,
 * `unread_notifications` is the main timeline and `unread_thread_notifications` has each thread with something
 * unread, each counted after the user's position in that thread (as Synapse).
 */
import { MAIN_THREAD, type ThreadCounts } from "../db/event-push-actions.js";
import type { Tables } from "../db/stores.js";
import { readPositionOf } from "./read-position.js";

export interface NotificationCounts {
  notification_count: number;
  highlight_count: number;
}

export interface RoomUnreadCounts {
  unread_notifications: NotificationCounts;
  unread_thread_notifications?: Record<string, NotificationCounts>;
}

const countsOf = (c: ThreadCounts | undefined): NotificationCounts => ({
  notification_count: c?.notifications ?? 0,
  highlight_count: c?.highlights ?? 0,
});

export async function unreadCountsOf(
  tables: Tables,
  roomId: string,
  userId: string,
  upTo: number,
  threaded: boolean,
): Promise<RoomUnreadCounts> {
  const read = await readPositionOf(tables, roomId, userId, null);
  const byThread = await tables.eventPushActions.countsByThread(userId, roomId, read, upTo);
  if (!threaded) {
    return {
      unread_notifications: {
        notification_count: byThread.reduce((n, c) => n + c.notifications, 0),
        highlight_count: byThread.reduce((n, c) => n + c.highlights, 0),
      },
    };
  }
  const threads: Record<string, NotificationCounts> = {};
  for (const c of byThread) {
    if (c.threadId === MAIN_THREAD) continue;
    const inThread = await readPositionOf(tables, roomId, userId, c.threadId);
    const counts =
      inThread > read ? await tables.eventPushActions.countsOfThread(userId, roomId, c.threadId, inThread, upTo) : c;
    if (counts.notifications > 0) threads[c.threadId] = countsOf(counts);
  }
  const out: RoomUnreadCounts = { unread_notifications: countsOf(byThread.find((c) => c.threadId === MAIN_THREAD)) };
  if (Object.keys(threads).length > 0) out.unread_thread_notifications = threads;
  return out;
}
