/**
 * @module Reading rooms as a server admin (Synapse's `synapse/rest/admin/rooms.py`): the room list with search,
 * order and paging, one room's details, its joined members and its current state, and a user's joined rooms.
 *
 * An admin reads every room whatever their membership and the room's history visibility: these are the server's
 * records, not a client's view, so nothing here goes through src/rooms/visibility.ts.
 */
import type { RoomStats } from "../db/room-stats.js";
import { ErrCode, MatrixError } from "../errors.js";
import { isValidRoomId } from "../matrix/ids.js";
import { serializeEvents, type ClientEvent } from "./client-events.js";
import type { RoomsContext } from "./context.js";

/** One room as `GET /_synapse/admin/v1/rooms` lists it, field for field as Synapse. */
export interface AdminRoomSummary {
  room_id: string;
  name: string | null;
  canonical_alias: string | null;
  joined_members: number;
  joined_local_members: number;
  version: string;
  creator: string;
  encryption: string | null;
  federatable: boolean;
  public: boolean;
  join_rules: string | null;
  guest_access: string | null;
  history_visibility: string | null;
  state_events: number;
  room_type: string | null;
}

export interface AdminRoomDetails extends AdminRoomSummary {
  topic: string | null;
  avatar: string | null;
  joined_local_devices: number;
  forgotten: boolean;
}

export interface AdminRoomList {
  rooms: AdminRoomSummary[];
  offset: number;
  total_rooms: number;
  next_batch?: number;
  prev_batch?: number;
}

/** Synapse's `order_by` values; `alphabetical` and `size` are its deprecated names for `name` and `joined_members`. */
export const ROOM_ORDERS = [
  "alphabetical",
  "size",
  "name",
  "canonical_alias",
  "joined_members",
  "joined_local_members",
  "version",
  "creator",
  "encryption",
  "federatable",
  "public",
  "join_rules",
  "guest_access",
  "history_visibility",
  "state_events",
] as const;
export type RoomOrder = (typeof ROOM_ORDERS)[number];

export interface RoomListQuery {
  from: number;
  limit: number;
  orderBy: RoomOrder;
  direction: "f" | "b";
  searchTerm: string | null;
  publicRooms: boolean | null;
  emptyRooms: boolean | null;
}

type SortKey = string | number | boolean | null;

/** Each order's column and whether `dir=f` runs it ascending, as Synapse's `get_rooms_paginate`. */
const ORDERS: Record<RoomOrder, { key: (r: AdminRoomSummary) => SortKey; ascending: boolean }> = {
  alphabetical: { key: (r) => r.name, ascending: true },
  name: { key: (r) => r.name, ascending: true },
  size: { key: (r) => r.joined_members, ascending: false },
  joined_members: { key: (r) => r.joined_members, ascending: false },
  joined_local_members: { key: (r) => r.joined_local_members, ascending: false },
  version: { key: (r) => r.version, ascending: false },
  creator: { key: (r) => r.creator, ascending: true },
  encryption: { key: (r) => r.encryption, ascending: true },
  federatable: { key: (r) => r.federatable, ascending: true },
  public: { key: (r) => r.public, ascending: true },
  join_rules: { key: (r) => r.join_rules, ascending: true },
  guest_access: { key: (r) => r.guest_access, ascending: true },
  history_visibility: { key: (r) => r.history_visibility, ascending: true },
  state_events: { key: (r) => r.state_events, ascending: false },
  canonical_alias: { key: (r) => r.canonical_alias, ascending: true },
};

/** Ascending, with null after every value (PostgreSQL's order, where Synapse's production databases live). */
function compareKeys(a: SortKey, b: SortKey): number {
  if (a === b) return 0;
  if (a === null) return 1;
  if (b === null) return -1;
  if (typeof a === "string" && typeof b === "string") return a < b ? -1 : 1;
  return Number(a) < Number(b) ? -1 : 1;
}

const str = (v: unknown): string | null => (typeof v === "string" ? v : null);

function summaryOf(s: RoomStats): AdminRoomSummary {
  const c = (type: string) => s.state.get(`m.room.${type}`) ?? {};
  const create = c("create");
  return {
    room_id: s.roomId,
    name: str(c("name").name),
    canonical_alias: str(c("canonical_alias").alias),
    joined_members: s.joinedMembers,
    joined_local_members: s.joinedLocalMembers,
    version: s.roomVersion,
    creator: s.creator,
    encryption: str(c("encryption").algorithm),
    federatable: create["m.federate"] !== false,
    public: s.isPublic,
    join_rules: str(c("join_rules").join_rule),
    guest_access: str(c("guest_access").guest_access),
    history_visibility: str(c("history_visibility").history_visibility),
    state_events: s.stateEvents,
    room_type: str(create.type),
  };
}

/**
 * Synapse's `search_term`: contained in the room's name (any case), in the local part of its canonical alias (any
 * case), or in its room ID (exact case).
 */
function matches(r: AdminRoomSummary, term: string): boolean {
  const lower = term.toLowerCase();
  if (r.name?.toLowerCase().includes(lower)) return true;
  const aliasLocal = r.canonical_alias?.slice(1).split(":")[0];
  if (aliasLocal?.toLowerCase().includes(lower)) return true;
  return r.room_id.includes(term);
}

/** `GET /_synapse/admin/v1/rooms`. */
export async function listRooms(ctx: RoomsContext, q: RoomListQuery): Promise<AdminRoomList> {
  let rooms = (await ctx.stores.roomStats.summaries(ctx.serverName)).map(summaryOf);
  const term = q.searchTerm;
  if (term !== null) rooms = rooms.filter((r) => matches(r, term));
  if (q.publicRooms !== null) rooms = rooms.filter((r) => r.public === q.publicRooms);
  if (q.emptyRooms !== null) rooms = rooms.filter((r) => (r.joined_members === 0) === q.emptyRooms);
  const order = ORDERS[q.orderBy];
  const sign = order.ascending === (q.direction === "f") ? 1 : -1;
  // The room ID breaks ties in the same direction, so pages never overlap.
  rooms.sort((a, b) => sign * (compareKeys(order.key(a), order.key(b)) || compareKeys(a.room_id, b.room_id)));
  const total = rooms.length;
  const response: AdminRoomList = { rooms: rooms.slice(q.from, q.from + q.limit), offset: q.from, total_rooms: total };
  if (q.from + q.limit < total) response.next_batch = q.from + q.limit;
  if (q.from > 0) response.prev_batch = q.from > q.limit ? q.from - q.limit : 0;
  return response;
}

/** The room's stats, or 404 "Room not found" (Synapse's words). */
async function statsOf(ctx: RoomsContext, roomId: string): Promise<RoomStats> {
  const [stats] = isValidRoomId(roomId) ? await ctx.stores.roomStats.summaries(ctx.serverName, [roomId]) : [];
  if (!stats) throw new MatrixError(ErrCode.NotFound, "Room not found");
  return stats;
}

/** `GET /_synapse/admin/v1/rooms/{roomId}`: the summary with topic, avatar, local devices and `forgotten`. */
export async function roomDetails(ctx: RoomsContext, roomId: string): Promise<AdminRoomDetails> {
  const stats = await statsOf(ctx, roomId);
  const summary = summaryOf(stats);
  const local = (await ctx.stores.roomMemberships.members(roomId, ["join", "invite", "leave", "ban", "knock"])).filter(
    (m) => m.userId.endsWith(`:${ctx.serverName}`),
  );
  return {
    ...summary,
    topic: str(stats.state.get("m.room.topic")?.topic),
    avatar: str(stats.state.get("m.room.avatar")?.url),
    joined_local_devices: await ctx.stores.roomStats.joinedLocalDevices(roomId, ctx.serverName),
    // Synapse: true when every local user with a membership has forgotten the room (and false with none).
    forgotten: local.length > 0 && local.every((m) => m.forgotten),
  };
}

/** `GET /_synapse/admin/v1/rooms/{roomId}/members`: the joined members' IDs. */
export async function roomMembers(ctx: RoomsContext, roomId: string): Promise<{ members: string[]; total: number }> {
  await statsOf(ctx, roomId);
  const members = (await ctx.stores.roomMemberships.members(roomId, ["join"])).map((m) => m.userId);
  return { members, total: members.length };
}

/** `GET /_synapse/admin/v1/rooms/{roomId}/state`: the current state, or only the events of `type`. */
export async function roomState(
  ctx: RoomsContext,
  admin: string,
  roomId: string,
  type: string | null,
): Promise<{ state: ClientEvent[] }> {
  await statsOf(ctx, roomId);
  const entries =
    type === null ? await ctx.stores.currentState.all(roomId) : await ctx.stores.currentState.ofType(roomId, type);
  const events = await ctx.stores.events.getMany(entries.map((e) => e.eventId));
  // No device reads this, so no transaction ID is echoed (Synapse serializes without a requester here).
  return { state: await serializeEvents(ctx.stores, events, { userId: admin, deviceId: null }, { now: ctx.now() }) };
}

/** `GET /_synapse/admin/v1/users/{userId}/joined_rooms`. */
export async function userJoinedRooms(
  ctx: RoomsContext,
  userId: string,
): Promise<{ joined_rooms: string[]; total: number }> {
  const rows = await ctx.stores.roomMemberships.roomsOfUser(userId, ["join"]);
  return { joined_rooms: rows.map((r) => r.roomId), total: rows.length };
}

/**
 * `GET /_synapse/admin/v1/users/{userId}/memberships`: the user's current membership in every room this server
 * knows them in, left and banned included (a purged room's row is gone with it).
 */
export async function userMemberships(
  ctx: RoomsContext,
  userId: string,
): Promise<{ memberships: Record<string, string> }> {
  const rows = await ctx.stores.roomMemberships.roomsOfUser(userId, ["join", "invite", "leave", "ban", "knock"]);
  return { memberships: Object.fromEntries(rows.map((r) => [r.roomId, r.membership])) };
}

/** `GET /_synapse/admin/v1/users/{userId}/sent_invite_count?from_ts=`: invites the user sent since then. */
export async function sentInviteCount(
  ctx: RoomsContext,
  userId: string,
  fromTs: number,
): Promise<{ invite_count: number }> {
  const sent = await ctx.stores.memberEvents.sentBy(userId, fromTs);
  return { invite_count: sent.filter((e) => e.membership === "invite" && e.stateKey !== userId).length };
}

/** `GET /_synapse/admin/v1/users/{userId}/cumulative_joined_room_count?from_ts=`: rooms joined since then. */
export async function cumulativeJoinedRoomCount(
  ctx: RoomsContext,
  userId: string,
  fromTs: number,
): Promise<{ cumulative_joined_room_count: number }> {
  const joins = (await ctx.stores.memberEvents.about(userId, fromTs)).filter((e) => e.membership === "join");
  return { cumulative_joined_room_count: new Set(joins.map((e) => e.roomId)).size };
}

/** `GET /_synapse/admin/v1/users/{userId}/accountdata`: global account data (there is no per-room kind yet). */
export async function userAccountData(
  ctx: RoomsContext,
  userId: string,
): Promise<{ account_data: { global: Record<string, unknown>; rooms: Record<string, Record<string, unknown>> } }> {
  const global: Record<string, unknown> = {};
  // The row `m.push_rules` has is the stamp of the user's last rule change for `/sync`, not account data of theirs
  // (Synapse keeps push rules apart and does not list them here).
  for (const e of await ctx.stores.accountData.listForUser(userId)) {
    if (e.type !== "m.push_rules") global[e.type] = e.content;
  }
  return { account_data: { global, rooms: {} } };
}
