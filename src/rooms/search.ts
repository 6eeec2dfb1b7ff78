/**
 * @module Server-side search (spec "Server Side Search", `POST /search`), as Synapse answers it.
 *
 * The index (src/db/event-search.ts) proposes events of the rooms the user is joined to, or left and has not
 * forgotten (up to their leave); each must then pass THE history visibility rule (src/rooms/visibility.ts) and the
 * request's RoomEventFilter (src/sync/filters.ts), and is shown through the one serializer. `recent` pages walk the
 * stream backwards through the one paginator (src/rooms/paginate.ts); `rank` pages walk a ranking frozen at the
 * position of the first page. Either reads at most the page plus the paginator's scan budget of rejected events.
 * `count` counts the index's proposals (capped), before visibility: the spec calls it approximate.
 */
import type { Requester } from "../accounts/auth.js";
import type { SearchQuery } from "../db/event-search.js";
import type { StoredEvent } from "../db/events.js";
import type { MembershipRecord } from "../db/room-memberships.js";
import type { Tables } from "../db/stores.js";
import { foldDiacritics, positiveWords } from "../db/search-terms.js";
import { eventFilterAllows } from "../sync/filters.js";
import { currentPosition, formatStreamToken } from "../sync/stream.js";
import { serializeEvents, type ClientEvent } from "./client-events.js";
import type { RoomsContext } from "./context.js";
import { contentOf } from "./event-content.js";
import { pageOfTimeline, paginate, type Page } from "./paginate.js";
import {
  formatBatch,
  parseBatch,
  parseSearchBody,
  type EventContextQuery,
  type RoomEventsQuery,
  type SearchBatch,
} from "./search-request.js";
import { visibilityFor, type VisibilityCheck } from "./visibility.js";

/** Counting stops here: a common word on a large server would otherwise read every match for one number. */
export const SEARCH_COUNT_CAP = 10_000;
/** Longer `rooms`/`not_rooms` lists are applied to the events read, not in the statement. */
const MAX_LISTED_ROOMS = 500;
/** Rejected results a page may read past before it answers with what it has (the paginator's budget). */
const RANK_SCAN_BUDGET = 500;

interface SearchContext {
  start: string;
  end: string;
  events_before: ClientEvent[];
  events_after: ClientEvent[];
  profile_info?: Record<string, { displayname?: string; avatar_url?: string }>;
}

interface SearchResult {
  rank: number;
  result: ClientEvent;
  context: SearchContext | Record<string, never>;
}

interface Group {
  results: string[];
  order: number;
  next_batch?: string;
}

/** https://spec.matrix.org/v1.16/client-server-api/#post_matrixclientv3search */
export interface SearchResponse {
  search_categories: {
    room_events: {
      results: SearchResult[];
      count: number;
      highlights: string[];
      state?: Record<string, ClientEvent[]>;
      groups?: Partial<Record<"room_id" | "sender", Record<string, Group>>>;
      next_batch?: string;
    };
  };
}

/** `POST /search` for `requester`; `nextBatch` is the query parameter of that name. */
export async function search(
  ctx: RoomsContext,
  requester: Requester,
  body: Record<string, unknown>,
  nextBatch: string | undefined,
): Promise<SearchResponse> {
  const q = parseSearchBody(body);
  const batch = nextBatch !== undefined ? parseBatch(nextBatch, q.order) : undefined;
  const tables: Tables = ctx.stores;
  const empty: SearchResponse = { search_categories: { room_events: { results: [], count: 0, highlights: [] } } };
  if (q.terms.all.length === 0) return empty;

  const memberships = new Map(
    (await tables.roomMemberships.roomsOfUser(requester.userId, ["join", "leave", "ban"]))
      .filter((m) => !m.forgotten)
      .map((m) => [m.roomId, m]),
  );
  // Room lists narrow the statement only while short (a database takes a bounded number of parameters); the
  // filter is applied to each event whatever its length.
  const rooms = roomsToSearch(q, batch);
  const notRooms = Array.isArray(q.filter?.not_rooms) ? (q.filter.not_rooms as string[]) : undefined;
  const base: SearchQuery = {
    userId: requester.userId,
    terms: q.terms,
    keys: q.keys,
    ...(rooms !== undefined && rooms.length <= MAX_LISTED_ROOMS ? { rooms } : {}),
    ...(notRooms !== undefined && notRooms.length <= MAX_LISTED_ROOMS ? { notRooms } : {}),
    order: q.order,
    limit: 0,
  };

  const checks = new Map<string, VisibilityCheck>();
  const ranks = new Map<number, number>();
  /**
   * The events at `hits`, in the hits' order (undefined for one deleted meanwhile), with the visibility rule of
   * each one's room at hand.
   */
  const load = async (hits: { streamOrdering: number; rank: number }[]): Promise<(StoredEvent | undefined)[]> => {
    for (const h of hits) ranks.set(h.streamOrdering, h.rank);
    const byPosition = new Map(
      (await tables.events.getAtPositions(hits.map((h) => h.streamOrdering))).map((e) => [e.streamOrdering, e]),
    );
    const events = hits.map((h) => byPosition.get(h.streamOrdering));
    for (const roomId of new Set(events.map((e) => e?.roomId).filter((id) => id !== undefined))) {
      if (!checks.has(roomId)) checks.set(roomId, await visibilityFor(tables, roomId, requester.userId));
    }
    return events;
  };
  const accept = (e: StoredEvent): boolean =>
    (checks.get(e.roomId)?.visible(e) ?? false) &&
    eventFilterAllows(q.filter, { type: e.type, sender: e.sender, roomId: e.roomId, content: contentOf(e) });

  const now = await currentPosition(ctx.stores);
  let page: Page<StoredEvent>;
  let next: SearchBatch | undefined;
  if (q.order === "recent") {
    page = await paginate({
      source: async (w) =>
        (await load(await tables.eventSearch.search({ ...base, after: w.after, upTo: w.upTo, limit: w.limit }))).filter(
          (e) => e !== undefined,
        ),
      position: (e) => e.streamOrdering,
      accept,
      from: batch?.order === "recent" ? batch.from : now,
      to: undefined,
      dir: "b",
      limit: q.limit,
    });
    if (page.more) next = { order: "recent", from: page.next, ...roomOf(batch) };
  } else {
    const upTo = batch?.order === "rank" ? batch.upTo : now;
    const offset = batch?.order === "rank" ? batch.offset : 0;
    const ranked = (from: number, limit: number) =>
      tables.eventSearch.search({ ...base, upTo, offset: from, limit }).then(load);
    page = await rankedPage(ranked, offset, q.limit, accept);
    if (page.more) next = { order: "rank", upTo, offset: page.next, ...roomOf(batch) };
  }
  const found = page.items;
  const count = await tables.eventSearch.count(base, SEARCH_COUNT_CAP);

  const options = { now: ctx.now() };
  const serialized = await serializeEvents(tables, found, requester, options);
  const contexts = new Map<string, SearchContext>();
  if (q.context !== null) {
    for (const e of found) {
      const check = checks.get(e.roomId) as VisibilityCheck;
      const edge = readableEdge(memberships.get(e.roomId), now);
      contexts.set(e.eventId, await contextOf(ctx, tables, requester, e, check, edge, q.context));
    }
  }
  const results: SearchResult[] = found.map((e, i) => ({
    rank: ranks.get(e.streamOrdering) ?? 0,
    result: serialized[i] as ClientEvent,
    context: contexts.get(e.eventId) ?? {},
  }));

  const out: SearchResponse["search_categories"]["room_events"] = {
    results,
    count: Math.max(count, found.length),
    highlights: highlightsOf(positiveWords(q.terms), found),
  };
  if (q.includeState) out.state = await stateOf(tables, requester, found, memberships, options);
  if (q.groupBy.size > 0) out.groups = groupsOf(q, found, next);
  if (next) out.next_batch = formatBatch(next);
  return { search_categories: { room_events: out } };
}

/** The filter's `rooms`, narrowed to the room of a room group's `next_batch`. */
function roomsToSearch(q: RoomEventsQuery, batch: SearchBatch | undefined): string[] | undefined {
  const listed = Array.isArray(q.filter?.rooms) ? (q.filter.rooms as string[]) : undefined;
  if (batch?.roomId === undefined) return listed;
  return listed === undefined || listed.includes(batch.roomId) ? [batch.roomId] : [];
}

function roomOf(batch: SearchBatch | undefined): { roomId?: string } {
  return batch?.roomId !== undefined ? { roomId: batch.roomId } : {};
}

/** How far the user may read a room: now when joined, else up to their leave. */
function readableEdge(m: MembershipRecord | undefined, now: number): number {
  return m === undefined || m.membership === "join" ? now : Math.min(m.streamOrdering, now);
}

/**
 * A page in rank order from `offset` into the ranking: batches doubling from the page size, until the page is full
 * plus one (which says there is more) or the scan budget is spent. `next` is the offset to go on from. `read`
 * returns the events of the ranking's rows from an offset, one per row, in order.
 */
async function rankedPage(
  read: (offset: number, limit: number) => Promise<(StoredEvent | undefined)[]>,
  offset: number,
  limit: number,
  accept: (e: StoredEvent) => boolean,
): Promise<Page<StoredEvent>> {
  const items: StoredEvent[] = [];
  let cursor = offset;
  let batch = limit + 1;
  for (;;) {
    const events = await read(cursor, batch);
    for (const [i, e] of events.entries()) {
      if (e === undefined || !accept(e)) continue;
      if (items.length === limit) return { items, more: true, next: cursor + i };
      items.push(e);
    }
    cursor += batch;
    if (events.length < batch) return { items, more: false, next: cursor };
    if (cursor - offset >= limit + 1 + RANK_SCAN_BUDGET) return { items, more: true, next: cursor };
    batch *= 2;
  }
}

/** The events around `e` the user may see, up to what they may read, with the senders' profiles if asked. */
async function contextOf(
  ctx: RoomsContext,
  tables: Tables,
  requester: Requester,
  e: StoredEvent,
  check: VisibilityCheck,
  edge: number,
  q: EventContextQuery,
): Promise<SearchContext> {
  const before = await pageOfTimeline(tables, e.roomId, check, undefined, {
    from: e.streamOrdering - 1,
    to: undefined,
    dir: "b",
    limit: q.before,
  });
  const after = await pageOfTimeline(tables, e.roomId, check, undefined, {
    from: e.streamOrdering,
    to: edge,
    dir: "f",
    limit: q.after,
  });
  const last = after.items.at(-1) ?? e;
  const options = { now: ctx.now() };
  const out: SearchContext = {
    start: formatStreamToken((before.items.at(-1) ?? e).streamOrdering - 1),
    end: formatStreamToken(last.streamOrdering),
    events_before: await serializeEvents(tables, before.items, requester, options),
    events_after: await serializeEvents(tables, after.items, requester, options),
  };
  if (q.includeProfile) {
    // Synapse's "historic" profile: each sender's member event in the state at the last event returned.
    const senders = [...new Set([...before.items, e, ...after.items].map((x) => x.sender))];
    const keys = senders.map((s) => ["m.room.member", s] as const);
    const entries = await tables.roomState.keysAt(e.roomId, keys, last.streamOrdering);
    const profiles: NonNullable<SearchContext["profile_info"]> = {};
    for (const member of await tables.events.getMany(entries.map((x) => x.eventId))) {
      const c = contentOf(member);
      profiles[member.stateKey as string] = {
        ...(typeof c.displayname === "string" ? { displayname: c.displayname } : {}),
        ...(typeof c.avatar_url === "string" ? { avatar_url: c.avatar_url } : {}),
      };
    }
    out.profile_info = profiles;
  }
  return out;
}

/** The state of each room with a result, as the user may read it: now when joined, else as it was when they left. */
async function stateOf(
  tables: Tables,
  requester: Requester,
  found: readonly StoredEvent[],
  memberships: Map<string, MembershipRecord>,
  options: { now: number },
): Promise<Record<string, ClientEvent[]>> {
  const out: Record<string, ClientEvent[]> = {};
  for (const roomId of new Set(found.map((e) => e.roomId))) {
    const m = memberships.get(roomId);
    const entries =
      m === undefined || m.membership === "join"
        ? await tables.currentState.all(roomId)
        : await tables.roomState.at(roomId, m.streamOrdering);
    const events = await tables.events.getMany(entries.map((x) => x.eventId));
    out[roomId] = await serializeEvents(tables, events, requester, { ...options, bundleAggregations: false });
  }
  return out;
}

/**
 * `groups` by room and by sender, in the order of their first result. A room's group has a `next_batch` of its own
 * in recent order (a position in the stream means the same in one room), as in Synapse.
 */
function groupsOf(
  q: RoomEventsQuery,
  found: readonly StoredEvent[],
  next: SearchBatch | undefined,
): NonNullable<SearchResponse["search_categories"]["room_events"]["groups"]> {
  const groups: NonNullable<SearchResponse["search_categories"]["room_events"]["groups"]> = {};
  for (const key of q.groupBy) {
    const byValue: Record<string, Group> = {};
    for (const e of found) {
      const value = key === "room_id" ? e.roomId : e.sender;
      const group = (byValue[value] ??= { results: [], order: Object.keys(byValue).length + 1 });
      group.results.push(e.eventId);
    }
    if (key === "room_id" && next?.order === "recent") {
      for (const [roomId, group] of Object.entries(byValue)) {
        group.next_batch = formatBatch({ ...next, roomId });
      }
    }
    groups[key] = byValue;
  }
  return groups;
}

/**
 * What a client should highlight: the words of the term, and the words of the results they begin (the index
 * matches a word by its prefix: `hel` found "Hello").
 */
function highlightsOf(words: readonly string[], found: readonly StoredEvent[]): string[] {
  const out = new Set(words);
  for (const e of found) {
    const c = contentOf(e);
    for (const value of [c.body, c.name, c.topic]) {
      if (typeof value !== "string") continue;
      for (const w of value.match(/[\p{L}\p{M}\p{N}]+/gu) ?? []) {
        const lower = w.toLowerCase();
        const folded = foldDiacritics(lower);
        if (words.some((t) => folded.startsWith(t))) out.add(lower);
      }
    }
  }
  return [...out];
}
