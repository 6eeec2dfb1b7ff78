/**
 * @module How far a user has read in a room: THE one function the unread counts read it through.
 *
 * The user's own latest event in the room (a user has read what they sent, as in Synapse; their join counts, so
 * nothing before it is unread), moved further by their read receipts.
 */
import type { Tables } from "../db/stores.js";

/**
 * The stream position up to which `userId` has read `roomId`: in the main timeline (`threadId` null, which also
 * bounds every thread from below) or in the thread rooted at `threadId`. The furthest of the user's own latest
 * event and their `m.read`/`m.read.private` receipts (unthreaded and `main` ones for the timeline; a thread's own
 * ones, and the timeline's, for a thread). 0 when nothing is read.
 */
export async function readPositionOf(
  tables: Tables,
  roomId: string,
  userId: string,
  threadId: string | null,
): Promise<number> {
  const [sent, receipt, thread] = await Promise.all([
    tables.eventPushActions.latestSentBy(roomId, userId),
    tables.receipts.latestReadOrdering(roomId, userId, null),
    threadId === null ? null : tables.receipts.latestReadOrdering(roomId, userId, threadId),
  ]);
  return Math.max(sent ?? 0, receipt ?? 0, thread ?? 0);
}
