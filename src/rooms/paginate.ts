/**
 * @module The one paginator every history read goes through (`/sync` timelines, `/messages`, `/context`,
 * relations): walk an ordered source in growing batches, keep what the history visibility and the client's filter
 * let through, stop at `limit` kept items plus one (which says whether there are more).
 *
 * Positions are gaps: from gap N going back reads items at or before N, going forward items after N. A page stops
 * early once it has scanned `scanBudget` items, so a filter that rejects almost everything costs a bounded read per
 * request instead of the room's whole history; the page then says there may be more and where to go on from.
 */
import type { StoredEvent } from "../db/events.js";
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

export async function paginate<T>(r: PageRequest<T>): Promise<Page<T>> {
  const items: T[] = [];
  const budget = r.limit + 1 + SCAN_BUDGET;
  const gapAfter = (item: T) => (r.dir === "b" ? r.position(item) - 1 : r.position(item));
  const gapBefore = (item: T) => (r.dir === "b" ? r.position(item) : r.position(item) - 1);
  let cursor = r.from;
  let scanned = 0;
  let batch = r.limit + 1;
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

/**
 * A room's timeline as a source. With `reader`, the events may come with what serializing them for that reader
 * needs (`StoredEvent.readFor`), read in the same statement.
 */
export function timelineSource(tables: Tables, roomId: string, reader?: Reader): Source<StoredEvent> {
  return (w) => tables.events.window(roomId, reader ? { ...w, reader } : w);
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
): Promise<Page<StoredEvent>> {
  return paginate({
    source: timelineSource(tables, roomId, reader),
    position: (e) => e.streamOrdering,
    accept: visibleAndAllowed(check, filter, roomId),
    ...w,
  });
}
