/**
 * @module The public room directory (`GET`/`POST /publicRooms`; Synapse's `RoomListHandler` and
 * `get_largest_public_rooms`): the rooms listed with `visibility: public` that anyone may find useful, largest
 * first, with Synapse's paging.
 *
 * Listed are the published rooms with at least one joined member whose join rule is `public`, `knock` or
 * `knock_restricted`, or whose history is `world_readable`. They are ordered by joined members, then room ID, both
 * descending. A page token holds the last (or, going back, the first) room's member count and ID plus a direction,
 * so a page starts where the previous one stopped however rooms were added or removed in between. Per request the
 * directory reads only the listed rooms' few summary state keys (src/rooms/room-summary.ts).
 */
import { ErrCode, MatrixError } from "../errors.js";
import type { RoomsContext } from "./context.js";
import { roomSummaries, type RoomSummary } from "./room-summary.js";

export interface PublicRoomsQuery {
  /** Null: every room. */
  limit: number | null;
  since: string | null;
  searchTerm: string | null;
  /** Null: rooms of any type; `null` in the list stands for rooms without a type. */
  roomTypes: (string | null)[] | null;
  includeAllNetworks: boolean;
  thirdPartyInstanceId: string | null;
}

export interface PublicRoomsChunk {
  room_id: string;
  num_joined_members: number;
  world_readable: boolean;
  guest_can_join: boolean;
  name?: string;
  topic?: string;
  avatar_url?: string;
  canonical_alias?: string;
  join_rule?: string;
  room_type?: string;
}

export interface PublicRoomsResponse {
  chunk: PublicRoomsChunk[];
  next_batch?: string;
  prev_batch?: string;
  total_room_count_estimate: number;
}

interface PageToken {
  joined: number;
  roomId: string;
  forward: boolean;
}

function encodeToken(t: PageToken): string {
  return Buffer.from(JSON.stringify([t.forward ? 1 : 0, t.joined, t.roomId])).toString("base64url");
}

function decodeToken(token: string): PageToken {
  try {
    const v: unknown = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
    if (Array.isArray(v) && v.length === 3 && Number.isSafeInteger(v[1]) && typeof v[2] === "string") {
      return { forward: v[0] === 1, joined: v[1] as number, roomId: v[2] };
    }
  } catch {
    // Falls through to the refusal below.
  }
  throw new MatrixError(ErrCode.InvalidParam, "Invalid since token");
}

const LISTABLE_JOIN_RULES = new Set(["public", "knock", "knock_restricted"]);

function listable(s: RoomSummary): boolean {
  return s.joinedMembers > 0 && (LISTABLE_JOIN_RULES.has(s.joinRule ?? "") || s.historyVisibility === "world_readable");
}

function matches(s: RoomSummary, q: PublicRoomsQuery): boolean {
  if (q.searchTerm) {
    const term = q.searchTerm.toLowerCase();
    const fields = [s.name, s.topic, s.canonicalAlias];
    if (!fields.some((f) => f !== null && f.toLowerCase().includes(term))) return false;
  }
  if (q.roomTypes && q.roomTypes.length > 0 && !q.roomTypes.includes(s.roomType)) return false;
  return true;
}

/** Largest first; equal sizes by room ID, descending like Synapse's `ORDER BY joined_members DESC, room_id DESC`. */
function compareDesc(a: RoomSummary, b: RoomSummary): number {
  if (a.joinedMembers !== b.joinedMembers) return b.joinedMembers - a.joinedMembers;
  return a.roomId < b.roomId ? 1 : a.roomId > b.roomId ? -1 : 0;
}

/** A room as the directories show it (`/publicRooms`, the space hierarchy). */
export function toChunk(s: RoomSummary): PublicRoomsChunk {
  const c: PublicRoomsChunk = {
    room_id: s.roomId,
    num_joined_members: s.joinedMembers,
    world_readable: s.historyVisibility === "world_readable",
    guest_can_join: s.guestCanJoin,
  };
  if (s.name !== null) c.name = s.name;
  if (s.topic !== null) c.topic = s.topic;
  if (s.avatarUrl !== null) c.avatar_url = s.avatarUrl;
  if (s.canonicalAlias !== null) c.canonical_alias = s.canonicalAlias;
  if (s.joinRule !== null) c.join_rule = s.joinRule;
  if (s.roomType !== null) c.room_type = s.roomType;
  return c;
}

export async function listPublicRooms(ctx: RoomsContext, q: PublicRoomsQuery): Promise<PublicRoomsResponse> {
  if (q.includeAllNetworks && q.thirdPartyInstanceId !== null) {
    throw new MatrixError(ErrCode.Unknown, "Can't use include_all_networks with an explicit network");
  }
  const bounds = q.since !== null ? decodeToken(q.since) : null;
  if (q.thirdPartyInstanceId !== null) {
    if (q.thirdPartyInstanceId.split("|").length !== 2) {
      throw new MatrixError(ErrCode.Unknown, "Cannot parse third_party_instance_id");
    }
    // No application service publishes rooms into a network of its own here: that list is empty.
    return { chunk: [], total_room_count_estimate: 0 };
  }
  const rooms = (await roomSummaries(ctx.stores, await ctx.stores.rooms.publicRoomIds()))
    .filter((s) => listable(s) && matches(s, q))
    .sort(compareDesc);
  const total = rooms.length;

  const forward = bounds?.forward ?? true;
  let candidates = rooms;
  if (bounds) {
    const edge = { joinedMembers: bounds.joined, roomId: bounds.roomId } as RoomSummary;
    candidates = forward
      ? rooms.filter((s) => compareDesc(s, edge) > 0)
      : rooms.filter((s) => compareDesc(s, edge) < 0);
  }
  let page: RoomSummary[];
  let moreToCome = false;
  if (q.limit === null) {
    page = candidates;
  } else if (forward) {
    page = candidates.slice(0, q.limit);
    moreToCome = candidates.length > q.limit;
  } else {
    page = candidates.slice(Math.max(0, candidates.length - q.limit));
    moreToCome = candidates.length > q.limit;
  }

  const response: PublicRoomsResponse = { chunk: page.map(toChunk), total_room_count_estimate: total };
  const first = page[0];
  const last = page.at(-1);
  if (first && last) {
    const tokenAt = (s: RoomSummary, fwd: boolean) =>
      encodeToken({ joined: s.joinedMembers, roomId: s.roomId, forward: fwd });
    // As Synapse: having come by a token means there is a page on the side it came from.
    if (forward) {
      if (bounds) response.prev_batch = tokenAt(first, false);
      if (moreToCome) response.next_batch = tokenAt(last, true);
    } else {
      if (bounds) response.next_batch = tokenAt(last, true);
      if (moreToCome) response.prev_batch = tokenAt(first, false);
    }
  }
  return response;
}
