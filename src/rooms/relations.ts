/**
 * @module Relations and threads (spec "Relationships", "Threading"): the children of an event, page by page, and
 * a room's threads by latest activity. Both go through the one paginator and the history visibility rule; the
 * events they return carry their bundled aggregations like every served event.
 */
import type { Requester } from "../accounts/auth.js";
import type { StoredEvent } from "../db/events.js";
import { ErrCode, MatrixError } from "../errors.js";
import { isValidEventId } from "../matrix/ids.js";
import { currentPosition, formatStreamToken } from "../sync/stream.js";
import { serializeEvents, type ClientEvent } from "./client-events.js";
import type { RoomsContext } from "./context.js";
import { resolveRoom } from "./membership.js";
import { paginate } from "./paginate.js";
import { parseBoolean, parseDir, parseLimit, parsePaginationToken } from "./pagination-params.js";
import { readablePosition } from "./read.js";
import { visibilityFor, type VisibilityCheck } from "./visibility.js";

/** How deep `recurse=true` follows relations of relations; the spec asks for at least 3. */
export const RECURSION_DEPTH = 3;

export interface RelationsQuery {
  from?: string;
  to?: string;
  limit?: string;
  dir?: string;
  recurse?: string;
}

/** https://spec.matrix.org/v1.16/client-server-api/#get_matrixclientv1roomsroomidrelationseventid */
export interface RelationsResponse {
  chunk: ClientEvent[];
  next_batch?: string;
  prev_batch?: string;
  recursion_depth?: number;
}

interface Readable {
  roomId: string;
  edge: number;
  check: VisibilityCheck;
}

/** The room, how far the user may read it (403 if at all), and the visibility rule for them. */
async function openRoom(ctx: RoomsContext, requester: Requester, roomIdOrAlias: string): Promise<Readable> {
  const roomId = await resolveRoom(ctx, roomIdOrAlias);
  const now = await currentPosition(ctx.stores);
  const leftAt = await readablePosition(ctx.stores, roomId, requester.userId);
  const check = await visibilityFor(ctx.stores, roomId, requester.userId);
  return { roomId, edge: Math.min(leftAt ?? now, now), check };
}

/**
 * `GET /rooms/{roomId}/relations/{eventId}[/{relType}[/{eventType}]]`: newest first unless `dir=f`, 5 a page by
 * default as Synapse; an unknown parent, or one the user may not see, is 404.
 */
export async function getRelations(
  ctx: RoomsContext,
  requester: Requester,
  roomIdOrAlias: string,
  eventId: string,
  filter: { relType?: string; eventType?: string },
  query: RelationsQuery,
): Promise<RelationsResponse> {
  const dir = parseDir(query.dir, "b");
  const from = parsePaginationToken(query.from, "from");
  const to = parsePaginationToken(query.to, "to");
  const limit = parseLimit(query.limit, 5);
  const recurse = parseBoolean(query.recurse, "recurse");
  const room = await openRoom(ctx, requester, roomIdOrAlias);
  const tables = ctx.stores;
  const parent = isValidEventId(eventId) ? await tables.events.get(eventId) : null;
  if (!parent || parent.roomId !== room.roomId || parent.streamOrdering > room.edge || !room.check.visible(parent)) {
    throw new MatrixError(ErrCode.NotFound, "Unknown parent event.");
  }
  const page = await paginate<StoredEvent>({
    source: (w) =>
      tables.events.relationsWindow(
        room.roomId,
        eventId,
        { relType: filter.relType, type: filter.eventType, depth: recurse ? RECURSION_DEPTH : 1 },
        w,
      ),
    position: (e) => e.streamOrdering,
    accept: (e) => room.check.visible(e),
    from: dir === "b" ? Math.min(from ?? room.edge, room.edge) : from,
    to: dir === "b" ? to : Math.min(to ?? room.edge, room.edge),
    dir,
    limit,
  });
  const out: RelationsResponse = {
    chunk: await serializeEvents(tables, page.items, requester, { now: ctx.now() }),
  };
  if (page.more) out.next_batch = formatStreamToken(page.next);
  if (query.from !== undefined) out.prev_batch = query.from;
  if (recurse) out.recursion_depth = RECURSION_DEPTH;
  return out;
}

export interface ThreadsQuery {
  include?: string;
  from?: string;
  limit?: string;
}

/** https://spec.matrix.org/v1.16/client-server-api/#get_matrixclientv1roomsroomidthreads */
export interface ThreadsResponse {
  chunk: ClientEvent[];
  next_batch?: string;
}

interface ThreadRoot {
  root: StoredEvent | undefined;
  latest: number;
}

/**
 * `GET /rooms/{roomId}/threads`: the thread roots the user may see, by their latest reply, newest first; with
 * `include=participated` only threads the user started or replied in. 5 a page by default, as Synapse.
 */
export async function getThreads(
  ctx: RoomsContext,
  requester: Requester,
  roomIdOrAlias: string,
  query: ThreadsQuery,
): Promise<ThreadsResponse> {
  const include = query.include ?? "all";
  if (include !== "all" && include !== "participated") {
    throw new MatrixError(ErrCode.InvalidParam, 'Query parameter "include" must be one of [all, participated]');
  }
  const from = parsePaginationToken(query.from, "from");
  const limit = parseLimit(query.limit, 5, 1);
  const room = await openRoom(ctx, requester, roomIdOrAlias);
  const tables = ctx.stores;
  const participant = include === "participated" ? requester.userId : undefined;
  const page = await paginate<ThreadRoot>({
    source: async (w) => {
      const found = await tables.events.threadRoots(room.roomId, { participant, upTo: w.upTo, limit: w.limit });
      const roots = new Map((await tables.events.getMany(found.map((t) => t.rootId))).map((e) => [e.eventId, e]));
      return found.map((t) => ({ root: roots.get(t.rootId), latest: t.latest }));
    },
    position: (t) => t.latest,
    accept: (t) =>
      t.root !== undefined &&
      t.root.roomId === room.roomId &&
      t.root.streamOrdering <= room.edge &&
      room.check.visible(t.root),
    from: Math.min(from ?? room.edge, room.edge),
    to: undefined,
    dir: "b",
    limit,
  });
  const roots = page.items.map((t) => t.root as StoredEvent);
  const out: ThreadsResponse = { chunk: await serializeEvents(tables, roots, requester, { now: ctx.now() }) };
  if (page.more) out.next_batch = formatStreamToken(page.next);
  return out;
}
