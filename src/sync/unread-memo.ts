/**
 * @module The read positions and unread counts of (user, room) pairs, remembered between the syncs of one server
 * and carried forward from the recent-events cache's stream instead of read again on every wake.
 *
 * A woken sync of a member asks, for the room that woke it, the three reads of src/push/counts.ts: the user's own
 * latest event there, their latest read receipt, and the push actions after the furthest of the two. Each answer is
 * remembered with the position it holds at, and a later sync moves it forward over what the cache read since:
 *
 * - the own latest event: the user's events of the room in the cache after that position (events never leave the
 *   stream, so the latest can only move forward);
 * - the receipt: unchanged while every position since was an event (a receipt takes a stream position of its own,
 *   whichever process writes it, and so does every other write that is not an event);
 * - the counts (for the same read position): plus the rows of `event_push_actions` of the new events, which the
 *   cache reads with them, once for all users (a notification's rows commit with its event). A redaction deletes
 *   rows of an earlier event, so counts remembered before a redaction the cache read are read again.
 *
 * Anything the cache does not hold (older than its floor, a gap after a reset) goes to the database, as before.
 * Everything here is only ever the database's answer at a position, so the rules of what counts stay in src/push/.
 */
import type { StoredEvent } from "../db/events.js";
import type { ThreadCounts } from "../db/event-push-actions.js";
import type { Tables } from "../db/stores.js";

/** One user's push action of one event, as the cache holds it. */
export interface HeldAction {
  threadId: string;
  highlight: boolean;
}

/** What the memo needs of the recent-events cache. */
export interface HeldStream {
  /** The position up to which the cache holds every event. */
  readonly upTo: number;
  /** Whether the cache holds every event in (`after`, `upTo`]. */
  holds(after: number, upTo: number): boolean;
  /** Whether the cache holds (`after`, `upTo`] and every position in it is an event. */
  onlyEvents(after: number, upTo: number): boolean;
  /** The room's events in (`after`, `upTo`], oldest first; only where `holds`. */
  roomEvents(roomId: string, after: number, upTo: number): readonly StoredEvent[];
  /** The push actions of every event after this position are held (and none of them was redacted since). */
  readonly actionsFrom: number;
  /** The users notified by the event at `position`, with how. */
  actionsAt(position: number): ReadonlyMap<string, HeldAction> | undefined;
}

interface AtPosition {
  at: number;
  value: number | null;
}

interface Counted {
  after: number;
  upTo: number;
  counts: readonly ThreadCounts[];
}

/** Pairs remembered at most per kind before all of that kind are dropped. */
const MAX_PAIRS = 100_000;

const pair = (userId: string, roomId: string) => `${userId}\u0000${roomId}`;

export class UnreadMemo {
  private readonly sent = new Map<string, AtPosition>();
  private readonly receipts = new Map<string, AtPosition>();
  private readonly counts = new Map<string, Counted>();
  /** Bumped by `clear`: a database read that began before must not be remembered. */
  private generation = 0;

  constructor(private readonly stream: HeldStream) {}

  clear(): void {
    this.generation++;
    this.sent.clear();
    this.receipts.clear();
    this.counts.clear();
  }

  /** `tables` with the three reads answered from the memo where it can (see the module comment). */
  wrap(tables: Tables): Pick<Tables, "eventPushActions" | "receipts"> {
    const stream = this.stream;
    const eventPushActions: Tables["eventPushActions"] = {
      ...tables.eventPushActions,
      latestSentBy: async (roomId, userId) => {
        const k = pair(userId, roomId);
        const upTo = stream.upTo;
        const held = this.sent.get(k);
        if (held && stream.holds(held.at, upTo)) {
          let value = held.value;
          for (const e of stream.roomEvents(roomId, held.at, upTo)) {
            if (e.sender === userId && e.streamOrdering > (value ?? 0)) value = e.streamOrdering;
          }
          this.sent.set(k, { at: upTo, value });
          return value;
        }
        const generation = this.generation;
        const value = await tables.eventPushActions.latestSentBy(roomId, userId);
        this.remember(this.sent, k, generation, { at: upTo, value });
        return value;
      },
      countsByThread: async (userId, roomId, after, upTo) => {
        const k = pair(userId, roomId);
        const held = this.counts.get(k);
        if (
          held &&
          held.after === after &&
          held.upTo <= upTo &&
          held.upTo >= stream.actionsFrom &&
          stream.holds(held.upTo, upTo)
        ) {
          const byThread = new Map(held.counts.map((c) => [c.threadId, { ...c }]));
          for (const e of stream.roomEvents(roomId, held.upTo, upTo)) {
            const action = e.streamOrdering > after ? stream.actionsAt(e.streamOrdering)?.get(userId) : undefined;
            if (!action) continue;
            const c = byThread.get(action.threadId) ?? { threadId: action.threadId, notifications: 0, highlights: 0 };
            c.notifications++;
            if (action.highlight) c.highlights++;
            byThread.set(action.threadId, c);
          }
          const counts = [...byThread.values()];
          this.counts.set(k, { after, upTo, counts });
          return counts;
        }
        const generation = this.generation;
        const counts = await tables.eventPushActions.countsByThread(userId, roomId, after, upTo);
        this.remember(this.counts, k, generation, { after, upTo, counts });
        return counts;
      },
    };
    const receipts: Tables["receipts"] = {
      ...tables.receipts,
      latestReadOrdering: async (roomId, userId, threadId) => {
        if (threadId !== null) return tables.receipts.latestReadOrdering(roomId, userId, threadId);
        const k = pair(userId, roomId);
        const upTo = stream.upTo;
        const held = this.receipts.get(k);
        if (held && stream.onlyEvents(held.at, upTo)) {
          this.receipts.set(k, { at: upTo, value: held.value });
          return held.value;
        }
        const generation = this.generation;
        const value = await tables.receipts.latestReadOrdering(roomId, userId, null);
        this.remember(this.receipts, k, generation, { at: upTo, value });
        return value;
      },
    };
    return { eventPushActions, receipts };
  }

  private remember<V>(map: Map<string, V>, k: string, generation: number, value: V): void {
    if (generation !== this.generation) return;
    if (map.size >= MAX_PAIRS) map.clear();
    map.set(k, value);
  }
}
