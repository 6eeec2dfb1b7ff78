/**
 * @module Spaces (spec "Spaces"): the space hierarchy (`GET /v1/rooms/{roomId}/hierarchy`) and a room's summary
 * (`GET /v1/room_summary/{roomIdOrAlias}`), as Synapse's `RoomSummaryHandler` answers them for rooms on this
 * server (there is no federation yet, so a child room this server does not know is left out).
 *
 * Who may see a room here is the spec's rule, in `accessible`: its members and invitees, anyone when it is `public`
 * or knockable or `world_readable`, and the members of the rooms a `restricted` join rule names.
 *
 * The walk is depth-first: a space's `m.space.child` events with a valid `via`, ordered by their `order` (valid ones
 * first), then `origin_server_ts`, then room ID; each room once; children of spaces only, down to `max_depth`.
 * Synapse keeps the walk's queue between pages in its database; here the `next_batch` token carries how many rooms
 * the pages so far took and the walk is made again up to there, so any `--workers` process can serve the next page.
 * At most `MAX_WALK` rooms are ever walked for one request.
 */
import type { Tables } from "../db/stores.js";
import type { StoredEvent } from "../db/events.js";
import { ErrCode, MatrixError } from "../errors.js";
import { roomVersion } from "../matrix/room-versions.js";
import { toChunk, type PublicRoomsChunk } from "./public-rooms.js";
import { roomSummaries, type RoomSummary } from "./room-summary.js";

/** Synapse's `MAX_ROOMS`: the most rooms one page holds, whatever `limit` asks. */
export const MAX_ROOMS = 50;
/** The most rooms one request walks, pages before it included. */
const MAX_WALK = 1000;
/** Synapse's `MAX_ROOMS_PER_SPACE`: the children of one space looked at. */
const MAX_CHILDREN = 50;

/** https://spec.matrix.org/v1.16/client-server-api/#get_matrixclientv1roomsroomidhierarchy (`StrippedChildStateEvent`) */
export interface StrippedChildStateEvent {
  type: string;
  state_key: string;
  content: Record<string, unknown>;
  sender: string;
  origin_server_ts: number;
}

/** `SpaceHierarchyRoomsChunk`: the directory's view of a room, its version and encryption, and its children. */
export interface SpaceHierarchyRoomsChunk extends PublicRoomsChunk {
  room_version?: string;
  encryption?: string;
  children_state: StrippedChildStateEvent[];
}

export interface HierarchyResponse {
  rooms: SpaceHierarchyRoomsChunk[];
  next_batch?: string;
}

export interface HierarchyQuery {
  suggestedOnly: boolean;
  /** Null: no limit. */
  maxDepth: number | null;
  limit: number;
  from: string | null;
}

interface PageToken {
  roomId: string;
  suggestedOnly: boolean;
  maxDepth: number | null;
  /** Rooms the pages before took. */
  taken: number;
}

function encodeToken(t: PageToken): string {
  return Buffer.from(JSON.stringify([t.roomId, t.suggestedOnly ? 1 : 0, t.maxDepth, t.taken])).toString("base64url");
}

/** The token's position, if it was made for this walk; Synapse's answer otherwise. */
function decodeToken(token: string, roomId: string, q: HierarchyQuery): number {
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
  } catch {
    v = null;
  }
  if (
    Array.isArray(v) &&
    v.length === 4 &&
    v[0] === roomId &&
    v[1] === (q.suggestedOnly ? 1 : 0) &&
    v[2] === q.maxDepth &&
    Number.isSafeInteger(v[3]) &&
    (v[3] as number) > 0
  ) {
    return v[3] as number;
  }
  throw new MatrixError(ErrCode.InvalidParam, "Unknown pagination token");
}

/** A room this server knows, with what the walk and the answers need of it. */
interface KnownRoom {
  summary: RoomSummary;
  version: string;
}

async function knownRoom(tables: Tables, roomId: string): Promise<KnownRoom | null> {
  const [record] = await tables.rooms.getMany([roomId]);
  if (!record) return null;
  const [summary] = await roomSummaries(tables, [roomId]);
  return summary ? { summary, version: record.roomVersion } : null;
}

/**
 * Whether `userId` (null: someone not logged in) may see the room in a hierarchy or a summary (Synapse's
 * `_is_local_room_accessible`).
 */
async function accessible(tables: Tables, room: KnownRoom, userId: string | null): Promise<boolean> {
  const { summary } = room;
  const version = roomVersion(room.version);
  const rule = summary.joinRule;
  if (rule === "public") return true;
  if (rule === "knock" && version?.knocking) return true;
  if (rule === "knock_restricted" && version?.knockRestricted) return true;
  if (summary.historyVisibility === "world_readable") return true;
  if (userId === null) return false;
  const own = await tables.roomMemberships.get(summary.roomId, userId);
  if (own?.membership === "join" || own?.membership === "invite") return true;
  const restricted =
    (rule === "restricted" && version?.restrictedJoins) || (rule === "knock_restricted" && version?.knockRestricted);
  if (restricted) {
    for (const allowed of summary.allowedRoomIds) {
      if ((await tables.roomMemberships.get(allowed, userId))?.membership === "join") return true;
    }
  }
  return false;
}

const ORDER = /^[\x20-\x7E]{1,50}$/;

function validOrder(e: StoredEvent): string | null {
  const order = (e.pdu.content as Record<string, unknown> | undefined)?.order;
  return typeof order === "string" && ORDER.test(order) ? order : null;
}

function validVia(e: StoredEvent): boolean {
  const via = (e.pdu.content as Record<string, unknown> | undefined)?.via;
  return Array.isArray(via) && via.length > 0 && via.every((v) => typeof v === "string");
}

function compareChildren(a: StoredEvent, b: StoredEvent): number {
  const oa = validOrder(a);
  const ob = validOrder(b);
  if (oa !== ob) {
    if (oa === null) return 1;
    if (ob === null) return -1;
    return oa < ob ? -1 : 1;
  }
  if (a.originServerTs !== b.originServerTs) return a.originServerTs - b.originServerTs;
  const ka = a.stateKey ?? "";
  const kb = b.stateKey ?? "";
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/** A space's child events that count (a valid `via`; `suggested` ones only if asked), in the spec's order. */
async function childEvents(tables: Tables, roomId: string, suggestedOnly: boolean): Promise<StoredEvent[]> {
  const entries = await tables.currentState.ofType(roomId, "m.space.child");
  const events = await tables.events.getMany(entries.map((e) => e.eventId));
  return events
    .filter((e) => e.redactedBy === null && validVia(e))
    .filter((e) => !suggestedOnly || (e.pdu.content as Record<string, unknown>).suggested === true)
    .sort(compareChildren)
    .slice(0, MAX_CHILDREN);
}

function entryOf(room: KnownRoom, children: StoredEvent[]): SpaceHierarchyRoomsChunk {
  const entry: SpaceHierarchyRoomsChunk = {
    ...toChunk(room.summary),
    room_version: room.version,
    children_state: children.map((e) => ({
      type: e.type,
      state_key: e.stateKey ?? "",
      content: (e.pdu.content ?? {}) as Record<string, unknown>,
      sender: e.sender,
      origin_server_ts: e.originServerTs,
    })),
  };
  if (room.summary.encryption !== null) entry.encryption = room.summary.encryption;
  return entry;
}

export async function spaceHierarchy(
  tables: Tables,
  userId: string,
  roomId: string,
  q: HierarchyQuery,
): Promise<HierarchyResponse> {
  const root = await knownRoom(tables, roomId);
  if (!root || !(await accessible(tables, root, userId))) {
    throw new MatrixError(ErrCode.Forbidden, `User ${userId} not in room ${roomId}, and room previews are disabled`);
  }
  const skip = q.from === null ? 0 : decodeToken(q.from, roomId, q);
  const limit = Math.min(q.limit, MAX_ROOMS);
  // Next room last, as Synapse's stack.
  const queue: { roomId: string; depth: number }[] = [{ roomId, depth: 0 }];
  const processed = new Set<string>();
  const rooms: SpaceHierarchyRoomsChunk[] = [];
  let taken = 0;
  while (queue.length > 0 && rooms.length < limit && processed.size < MAX_WALK) {
    const next = queue.pop() as { roomId: string; depth: number };
    if (processed.has(next.roomId)) continue;
    processed.add(next.roomId);
    const room = next.roomId === roomId ? root : await knownRoom(tables, next.roomId);
    if (!room || !(await accessible(tables, room, userId))) continue;
    const space = room.summary.roomType === "m.space";
    const children = space ? await childEvents(tables, next.roomId, q.suggestedOnly) : [];
    taken++;
    if (taken > skip) rooms.push(entryOf(room, children));
    if (q.maxDepth === null || next.depth < q.maxDepth) {
      for (const child of [...children].reverse()) queue.push({ roomId: child.stateKey ?? "", depth: next.depth + 1 });
    }
  }
  const more = queue.some((e) => !processed.has(e.roomId)) && processed.size < MAX_WALK;
  const response: HierarchyResponse = { rooms };
  if (more) {
    response.next_batch = encodeToken({ roomId, suggestedOnly: q.suggestedOnly, maxDepth: q.maxDepth, taken });
  }
  return response;
}

/** `GET /v1/room_summary`: `SpaceHierarchyRoomsChunk` without children, and the requester's membership. */
export interface RoomSummaryResponse extends PublicRoomsChunk {
  room_version?: string;
  encryption?: string;
  membership?: string;
}

export async function roomSummary(tables: Tables, userId: string | null, roomId: string): Promise<RoomSummaryResponse> {
  const room = await knownRoom(tables, roomId);
  if (!room || !(await accessible(tables, room, userId))) {
    throw new MatrixError(ErrCode.NotFound, "Room not found or is not accessible");
  }
  const { children_state: _, ...summary } = entryOf(room, []);
  if (userId === null) return summary;
  const own = await tables.roomMemberships.get(roomId, userId);
  return { ...summary, membership: own?.membership ?? "leave" };
}
