/**
 * @module How far a user has read in a room: THE one function the unread counts read it through.
 *
 * For now that is the user's own latest event in the room (a user has read what they sent, as in Synapse; their
 * join counts, so nothing before it is unread). Read receipts move it further once they exist: the receipts'
 * `latestReadOrdering` joins in here, and nowhere else.
 */
import type { Tables } from "../db/stores.js";

/**
 * The stream position up to which `userId` has read `roomId`: in the main timeline (`threadId` null, which also
 * bounds every thread from below) or in the thread rooted at `threadId`. 0 when nothing is read.
 */
export async function readPositionOf(
  tables: Tables,
  roomId: string,
  userId: string,
  _threadId: string | null,
): Promise<number> {
  return (await tables.eventPushActions.latestSentBy(roomId, userId)) ?? 0;
}
