/**
 * @module Reading a room's history (spec "Getting events for a room"): `/messages` pages and `/context` around
 * one event, both through the one paginator (src/rooms/paginate.ts) and the history visibility rule.
 *
 * Who may read follows `readablePosition`: members read up to now, a user who left or was banned up to their leave
 * (the page is cut there, as Synapse cuts it), others 403 unless the room is `world_readable`. Every event then
 * passes `visibilityFor`, so a page costs the rows it reads plus that rule's two queries.
 */
import type { Requester } from "../accounts/auth.js";
import type { StoredEvent } from "../db/events.js";
import type { Tables } from "../db/stores.js";
import { ErrCode, MatrixError } from "../errors.js";
import { isValidEventId } from "../matrix/ids.js";
import { eventFilterAllows, lazyLoadMembers, parseRoomEventFilter, type FilterJson } from "../sync/filters.js";
import { recentEventsOf } from "../sync/recent-events.js";
import { currentPosition, formatStreamToken } from "../sync/stream.js";
import { serializeEvents, type ClientEvent, type Reader } from "./client-events.js";
import type { RoomsContext } from "./context.js";
import { contentOf } from "./event-content.js";
import { resolveRoom } from "./membership.js";
import { firstWindow, pageOfTimeline, readAhead, type Direction, type WindowAhead } from "./paginate.js";
import { parseDir, parseLimit, parsePaginationToken } from "./pagination-params.js";
import { readablePosition } from "./read.js";
import { EVERYTHING, visibilityFor, type VisibilityCheck } from "./visibility.js";

export interface MessagesQuery {
  dir?: string;
  from?: string;
  to?: string;
  limit?: string;
  filter?: string;
}

/** https://spec.matrix.org/v1.16/client-server-api/#get_matrixclientv3roomsroomidmessages */
export interface MessagesResponse {
  chunk: ClientEvent[];
  start: string;
  end?: string;
  state?: ClientEvent[];
}

/** Synapse's default page. */
const DEFAULT_MESSAGES_LIMIT = 10;

/**
 * How far and what one reader may read of a room: up to `edge` (a stream position), what `check` lets through. A
 * client's comes from its membership and the history visibility; a server admin's is everything (`adminReading`).
 */
export interface Reading {
  reader: Reader;
  edge: number;
  check: VisibilityCheck;
  /** The stores behind the recent-events cache, which holds the newest pages, the room and its histories. */
  tables: Tables;
}

/** The current position, and the stores read through the recent-events cache brought up to it. */
async function throughCache(ctx: RoomsContext): Promise<{ now: number; tables: Tables }> {
  const now = await currentPosition(ctx.stores);
  const cache = recentEventsOf(ctx.stores);
  await cache.cover(ctx.stores, now);
  return { now, tables: cache.cachedTables(ctx.stores) };
}

/** A user's reading: members up to now, a user who left or was banned up to their leave, through the visibility rule. */
async function userReading(ctx: RoomsContext, requester: Requester, roomId: string): Promise<Reading> {
  const { now, tables } = await throughCache(ctx);
  const leftAt = await readablePosition(tables, roomId, requester.userId);
  const check = await visibilityFor(tables, roomId, requester.userId);
  return { reader: requester, edge: Math.min(leftAt ?? now, now), check, tables };
}

/**
 * A server admin's reading (Synapse's `use_admin_priviledge`): the whole timeline, whatever their membership and
 * the room's history visibility. No device reads it, so no transaction ID is echoed.
 */
export async function adminReading(ctx: RoomsContext, adminId: string): Promise<Reading> {
  const { now, tables } = await throughCache(ctx);
  return { reader: { userId: adminId, deviceId: null }, edge: now, check: EVERYTHING, tables };
}

/** `GET /rooms/{roomId}/messages`. */
export async function getMessages(
  ctx: RoomsContext,
  requester: Requester,
  roomIdOrAlias: string,
  query: MessagesQuery,
): Promise<MessagesResponse> {
  const page = parseMessagesQuery(query);
  const roomId = await resolveRoom(ctx, roomIdOrAlias);
  const ahead = olderThanTheCache(ctx, roomId, requester, page);
  return messagesPage(ctx, roomId, await userReading(ctx, requester, roomId), page, ahead);
}

/**
 * Going back from a token older than anything the recent-events cache holds, a page's first window comes from the
 * database whatever the stream's position turns out to be: it is read while the position and the reader's
 * membership are, so on PostgreSQL the page waits for one round trip where it waited for two. It goes unused when
 * the page starts elsewhere (a reader who left before the token) or is refused.
 */
function olderThanTheCache(
  ctx: RoomsContext,
  roomId: string,
  reader: Reader,
  q: MessagesPageQuery,
): WindowAhead | undefined {
  if (q.dir !== "b" || q.from === undefined || !recentEventsOf(ctx.stores).holdsNothingUpTo(q.from)) return undefined;
  const first = firstWindow({ from: q.from, to: q.to, dir: "b", limit: q.limit });
  return readAhead(ctx.stores, roomId, { ...first, reader: { userId: reader.userId, deviceId: reader.deviceId } });
}

/** `/messages`' query, checked before anything is read. */
export function parseMessagesQuery(query: MessagesQuery): MessagesPageQuery {
  return {
    dir: parseDir(query.dir, "f"),
    // Synapse's clients of old sent `from=END` for "the newest end".
    from: query.from === "END" ? undefined : parsePaginationToken(query.from, "from"),
    fromToken: query.from !== undefined && query.from !== "END" ? query.from : undefined,
    to: parsePaginationToken(query.to, "to"),
    limit: parseLimit(query.limit, DEFAULT_MESSAGES_LIMIT),
    filter: parseRoomEventFilter(query.filter),
  };
}

export interface MessagesPageQuery {
  dir: Direction;
  from: number | undefined;
  /** `from` as the client sent it, echoed as `start`. */
  fromToken: string | undefined;
  to: number | undefined;
  limit: number;
  filter: FilterJson | undefined;
}

/**
 * A `/messages` page of `roomId` for `reading`: the client's and the admin API's one path. `ahead`: its first window,
 * if already being read.
 */
export async function messagesPage(
  ctx: RoomsContext,
  roomId: string,
  { reader, edge, check, tables }: Reading,
  q: MessagesPageQuery,
  ahead?: WindowAhead,
): Promise<MessagesResponse> {
  const { dir, from, to, filter } = q;
  const page = await pageOfTimeline(
    tables,
    roomId,
    check,
    filter,
    {
      from: dir === "b" ? Math.min(from ?? edge, edge) : (from ?? 0),
      to: dir === "b" ? to : Math.min(to ?? edge, edge),
      dir,
      limit: q.limit,
    },
    reader,
    ahead,
  );
  const options = { now: ctx.now() };
  const out: MessagesResponse = {
    chunk: await serializeEvents(tables, page.items, reader, options),
    start: q.fromToken ?? formatStreamToken(dir === "b" ? edge : 0),
  };
  if (page.more) out.end = formatStreamToken(page.next);
  if (lazyLoadMembers(filter) && page.items.length > 0) {
    const first = page.items[0] as StoredEvent;
    const members = await membersOf(tables, roomId, page.items, first.streamOrdering);
    if (members.length > 0) {
      out.state = await serializeEvents(tables, members, reader, { ...options, bundleAggregations: false });
    }
  }
  return out;
}

/** The member events of the senders of `events` in the room's state at `position`. */
async function membersOf(
  tables: Tables,
  roomId: string,
  events: readonly StoredEvent[],
  position: number,
): Promise<StoredEvent[]> {
  const senders = [...new Set(events.map((e) => e.sender))];
  const entries = await tables.roomState.keysAt(
    roomId,
    senders.map((s) => ["m.room.member", s] as const),
    position,
  );
  return tables.events.getMany(entries.map((e) => e.eventId));
}

export interface ContextQuery {
  limit?: string;
  filter?: string;
}

/** https://spec.matrix.org/v1.16/client-server-api/#get_matrixclientv3roomsroomidcontexteventid */
export interface ContextResponse {
  start: string;
  end: string;
  events_before: ClientEvent[];
  event: ClientEvent;
  events_after: ClientEvent[];
  state: ClientEvent[];
}

/**
 * `GET /rooms/{roomId}/context/{eventId}`: `limit` events around the event (half before, rounded down, the rest
 * after), filtered as a `/messages` page; `state` is the state at the last event returned (the spec's words), only
 * the senders' members with `lazy_load_members`, and the filter applies to it too, as in Synapse.
 */
export async function getContext(
  ctx: RoomsContext,
  requester: Requester,
  roomIdOrAlias: string,
  eventId: string,
  query: ContextQuery,
): Promise<ContextResponse> {
  const q = parseContextQuery(query);
  const roomId = await resolveRoom(ctx, roomIdOrAlias);
  return contextAround(ctx, roomId, eventId, await userReading(ctx, requester, roomId), q);
}

/** `/context`'s query, checked before anything is read. */
export function parseContextQuery(query: ContextQuery): { limit: number; filter: FilterJson | undefined } {
  return { limit: parseLimit(query.limit, DEFAULT_MESSAGES_LIMIT), filter: parseRoomEventFilter(query.filter) };
}

/** `/context` around `eventId` for `reading`: the client's and the admin API's one path. */
export async function contextAround(
  ctx: RoomsContext,
  roomId: string,
  eventId: string,
  { reader, edge, check, tables }: Reading,
  { limit, filter }: { limit: number; filter: FilterJson | undefined },
): Promise<ContextResponse> {
  const event = isValidEventId(eventId) ? await tables.events.get(eventId) : null;
  if (!event || event.roomId !== roomId || event.streamOrdering > edge || !check.visible(event)) {
    throw new MatrixError(ErrCode.NotFound, "Event not found.");
  }
  const beforeLimit = Math.floor(limit / 2);
  const before = await pageOfTimeline(
    tables,
    roomId,
    check,
    filter,
    { from: event.streamOrdering - 1, to: undefined, dir: "b", limit: beforeLimit },
    reader,
  );
  const after = await pageOfTimeline(
    tables,
    roomId,
    check,
    filter,
    { from: event.streamOrdering, to: edge, dir: "f", limit: limit - beforeLimit },
    reader,
  );
  const last = after.items.at(-1) ?? event;
  const state = await stateAt(tables, roomId, last.streamOrdering, filter, [...before.items, event, ...after.items]);
  const options = { now: ctx.now() };
  const [client] = await serializeEvents(tables, [event], reader, options);
  return {
    start: formatStreamToken((before.items.at(-1) ?? event).streamOrdering - 1),
    end: formatStreamToken(last.streamOrdering),
    events_before: await serializeEvents(tables, before.items, reader, options),
    event: client as ClientEvent,
    events_after: await serializeEvents(tables, after.items, reader, options),
    state: await serializeEvents(tables, state, reader, { ...options, bundleAggregations: false }),
  };
}

async function stateAt(
  tables: Tables,
  roomId: string,
  position: number,
  filter: FilterJson | undefined,
  events: readonly StoredEvent[],
): Promise<StoredEvent[]> {
  let entries = await tables.roomState.at(roomId, position);
  if (lazyLoadMembers(filter)) {
    const senders = new Set(events.map((e) => e.sender));
    entries = entries.filter((e) => e.type !== "m.room.member" || senders.has(e.stateKey));
  }
  const state = await tables.events.getMany(entries.map((e) => e.eventId));
  return state.filter((e) => eventFilterAllows(filter, { type: e.type, sender: e.sender, content: contentOf(e) }));
}
