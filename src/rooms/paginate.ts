/**
 * @module The one paginator every history read goes through (`/sync` timelines, `/messages`, `/context`,
 * relations): walk an ordered source in growing batches, keep what the history visibility and the client's filter
 * let through, stop at `limit` kept items plus one (which says whether there are more).
 *
 * Positions are gaps: from gap N going back reads items at or before N, going forward items after N. A page stops
 * early once it has scanned `scanBudget` items, so a filter that rejects almost everything costs a bounded read per
 * request instead of the room's whole history; the page then says there may be more and where to go on from.
 */
import type { StoredEvent, TimelineWindow } from "../db/events.js";
import type { Tables } from "../db/stores.js";
import { eventFilterAllows } from "../sync/filters.js";
import type { Reader } from "./client-events.js";
import { contentOf } from "./event-content.js";
import type { VisibilityCheck } from "./visibility.js";

export type Direction = "b" | "f";

/** Items in (`after`, `upTo`], `limit` of them, newest first for `b`, oldest first for `f`. */
export type Source<T> = (w: {
  after: number | undefined;
  upTo: number | undefined;
  dir: Direction;
  limit: number;
}) => Promise<T[]>;

export interface PageRequest<T> {
  source: Source<T>;
  position: (item: T) => number;
  accept: (item: T) => boolean;
  /** The gap to start at; undefined is the end the direction starts from. */
  from: number | undefined;
  /** The gap not to go past; undefined is no bound. */
  to: number | undefined;
  dir: Direction;
  limit: number;
}

export interface Page<T> {
  /** In the direction of reading. */
  items: T[];
  /** There may be more items past the last one (some may then turn out to be invisible). */
  more: boolean;
  /** The gap to go on from when `more`. */
  next: number;
}

/** How many items one page may look at beyond what it returns, whatever the filter rejects. */
const SCAN_BUDGET = 500;

/** The first window a page reads: `limit` items and one more, which says whether there are more. */
export function firstWindow(w: { from: number | undefined; to: number | undefined; dir: Direction; limit: number }): {
  after: number | undefined;
  upTo: number | undefined;
  dir: Direction;
  limit: number;
} {
  const limit = w.limit + 1;
  return w.dir === "b"
    ? { after: w.to, upTo: w.from, dir: w.dir, limit }
    : { after: w.from, upTo: w.to, dir: w.dir, limit };
}

export async function paginate<T>(r: PageRequest<T>): Promise<Page<T>> {
  const items: T[] = [];
  const budget = r.limit + 1 + SCAN_BUDGET;
  const gapAfter = (item: T) => (r.dir === "b" ? r.position(item) - 1 : r.position(item));
  const gapBefore = (item: T) => (r.dir === "b" ? r.position(item) : r.position(item) - 1);
  let cursor = r.from;
  let scanned = 0;
  let batch = firstWindow(r).limit;
  for (;;) {
    const size = Math.min(batch, budget - scanned);
    const window =
      r.dir === "b"
        ? { after: r.to, upTo: cursor, dir: r.dir, limit: size }
        : { after: cursor, upTo: r.to, dir: r.dir, limit: size };
    const rows = await r.source(window);
    for (const row of rows) {
      if (!r.accept(row)) continue;
      if (items.length === r.limit) {
        const last = items.at(-1);
        return { items, more: true, next: last === undefined ? (r.from ?? gapBefore(row)) : gapAfter(last) };
      }
      items.push(row);
    }
    scanned += rows.length;
    const lastRow = rows.at(-1);
    if (rows.length < size || lastRow === undefined) {
      const last = items.at(-1);
      return { items, more: false, next: last === undefined ? (r.from ?? 0) : gapAfter(last) };
    }
    cursor = gapAfter(lastRow);
    if (scanned >= budget) return { items, more: true, next: cursor };
    batch *= 2;
  }
}

/** A window of the timeline already being read (`readAhead`), for the page that asks for exactly it. */
export interface WindowAhead {
  window: TimelineWindow;
  rows: Promise<StoredEvent[]>;
}

/**
 * Starts reading the window a page will read first, before what decides the page (the stream's position, the
 * reader's membership) is known. The read may go unused; its failure then is nobody's.
 */
export function readAhead(tables: Tables, roomId: string, window: TimelineWindow): WindowAhead {
  const rows = tables.events.window(roomId, window);
  rows.catch(() => {});
  return { window, rows };
}

/**
 * A room's timeline as a source. With `reader`, the events may come with what serializing them for that reader
 * needs (`StoredEvent.readFor`), read in the same statement; `ahead` answers the one window it was read for.
 */
export function timelineSource(
  tables: Tables,
  roomId: string,
  reader?: Reader,
  ahead?: WindowAhead,
): Source<StoredEvent> {
  let early = ahead;
  return (w) => {
    const window: TimelineWindow = reader ? { ...w, reader } : w;
    if (early && sameWindow(early.window, window)) {
      const { rows } = early;
      early = undefined;
      return rows;
    }
    return tables.events.window(roomId, window);
  };
}

function sameWindow(a: TimelineWindow, b: TimelineWindow): boolean {
  return (
    a.after === b.after &&
    a.upTo === b.upTo &&
    a.dir === b.dir &&
    a.limit === b.limit &&
    a.reader?.userId === b.reader?.userId &&
    a.reader?.deviceId === b.reader?.deviceId
  );
}

/** What a history read keeps: events the user may see that the client's RoomEventFilter section lets through. */
export function visibleAndAllowed(
  check: VisibilityCheck,
  filter: Record<string, unknown> | undefined,
  roomId?: string,
): (e: StoredEvent) => boolean {
  return (e) =>
    check.visible(e) && eventFilterAllows(filter, { type: e.type, sender: e.sender, roomId, content: contentOf(e) });
}

/** A page of a room's timeline for one reader (`reader`: the one its events will be serialized for, if known). */
export function pageOfTimeline(
  tables: Tables,
  roomId: string,
  check: VisibilityCheck,
  filter: Record<string, unknown> | undefined,
  w: { from: number | undefined; to: number | undefined; dir: Direction; limit: number },
  reader?: Reader,
  ahead?: WindowAhead,
): Promise<Page<StoredEvent>> {
  return paginate({
    source: timelineSource(tables, roomId, reader, ahead),
    position: (e) => e.streamOrdering,
    accept: visibleAndAllowed(check, filter, roomId),
    ...w,
  });
}
