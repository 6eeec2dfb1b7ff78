/**
 * @module Sync filters (spec "Filtering"): upload, download, and the filter a `/sync` runs with.
 *
 * A filter is checked for the types of the fields the spec defines (unknown fields are kept, as Synapse keeps
 * them) and stored as sent. Of what a filter can select, only `account_data` has anything to act on while there
 * are no rooms: its `types` and `not_types` (with a trailing `*` wildcard) choose which account data a sync sends.
 */
import { ErrCode, MatrixError } from "../errors.js";
import type { AccountsContext } from "../accounts/context.js";

export type FilterJson = Record<string, unknown>;

/** https://spec.matrix.org/v1.16/client-server-api/#post_matrixclientv3useruseridfilter */
export interface CreateFilterResponse {
  filter_id: string;
}

const FILTER_COUNTER = "filter_id";

function bad(message: string): MatrixError {
  return new MatrixError(ErrCode.BadJson, message);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function checkStringArray(obj: Record<string, unknown>, key: string, where: string): void {
  const v = obj[key];
  if (v === undefined) return;
  if (!Array.isArray(v) || !v.every((s) => typeof s === "string"))
    throw bad(`${where}${key} must be a list of strings`);
}

/** Synapse's `RoomID`/`UserID.from_string`: the sigil, then a localpart and a server name split by the first `:`. */
function isId(s: string, sigil: "!" | "@"): boolean {
  return s.startsWith(sigil) && s.indexOf(":") > 0;
}

/** A list of room (`!`) or user (`@`) IDs, as Synapse's filter schema requires. */
function checkIdArray(obj: Record<string, unknown>, key: string, where: string, sigil: "!" | "@"): void {
  checkStringArray(obj, key, where);
  const v = obj[key] as string[] | undefined;
  if (v !== undefined && !v.every((s) => isId(s, sigil))) {
    throw bad(`${where}${key} must be a list of ${sigil === "!" ? "room" : "user"} IDs`);
  }
}

function checkBoolean(obj: Record<string, unknown>, key: string, where: string): void {
  const v = obj[key];
  if (v !== undefined && typeof v !== "boolean") throw bad(`${where}${key} must be a boolean`);
}

/** EventFilter: `limit`, `senders`, `not_senders`, `types`, `not_types`. */
function checkEventFilter(v: unknown, where: string): void {
  if (v === undefined) return;
  if (!isObject(v)) throw bad(`${where} must be an object`);
  const limit = v.limit;
  if (limit !== undefined && (typeof limit !== "number" || !Number.isInteger(limit))) {
    throw bad(`${where}.limit must be an integer`);
  }
  for (const key of ["senders", "not_senders"]) checkIdArray(v, key, `${where}.`, "@");
  for (const key of ["types", "not_types"]) checkStringArray(v, key, `${where}.`);
}

/** RoomEventFilter: an EventFilter plus room lists and flags (also `/search`'s `filter`). */
export function checkRoomEventFilter(v: unknown, where: string): void {
  checkEventFilter(v, where);
  if (v === undefined) return;
  const f = v as Record<string, unknown>;
  for (const key of ["rooms", "not_rooms"]) checkIdArray(f, key, `${where}.`, "!");
  for (const key of ["contains_url", "include_redundant_members", "lazy_load_members", "unread_thread_notifications"]) {
    checkBoolean(f, key, `${where}.`);
  }
}

/** Checks a filter's shape as the spec defines it; 400 `M_BAD_JSON` naming the first field that is wrong. */
export function checkFilter(filter: FilterJson): void {
  checkStringArray(filter, "event_fields", "");
  const format = filter.event_format;
  if (format !== undefined && format !== "client" && format !== "federation") {
    throw bad("event_format must be one of 'client', 'federation'");
  }
  checkEventFilter(filter.presence, "presence");
  checkEventFilter(filter.account_data, "account_data");
  const room = filter.room;
  if (room !== undefined) {
    if (!isObject(room)) throw bad("room must be an object");
    for (const key of ["rooms", "not_rooms"]) checkIdArray(room, key, "room.", "!");
    checkBoolean(room, "include_leave", "room.");
    for (const key of ["ephemeral", "state", "timeline", "account_data"])
      checkRoomEventFilter(room[key], `room.${key}`);
  }
}

/** `POST /user/{userId}/filter`: stores the filter and returns its new ID (a string, unique on the server). */
export async function createFilter(
  ctx: AccountsContext,
  userId: string,
  filter: FilterJson,
): Promise<CreateFilterResponse> {
  checkFilter(filter);
  const filterId = String(await ctx.stores.counters.next(FILTER_COUNTER));
  await ctx.stores.userFilters.insert(userId, filterId, filter);
  return { filter_id: filterId };
}

/** `GET /user/{userId}/filter/{filterId}`: the filter as uploaded, or 404 `M_NOT_FOUND`. */
export async function getFilter(ctx: AccountsContext, userId: string, filterId: string): Promise<FilterJson> {
  const filter = await ctx.stores.userFilters.get(userId, filterId);
  if (!filter) throw new MatrixError(ErrCode.NotFound, "No such filter");
  return filter;
}

/**
 * The filter a `/sync` runs with, from its `filter` parameter: inline JSON when it starts with `{` (not JSON is 400
 * `M_NOT_JSON`), else one of the user's filter IDs (unknown is 400 `M_INVALID_PARAM`), as Synapse reads it.
 */
export async function resolveSyncFilter(
  ctx: AccountsContext,
  userId: string,
  param: string | undefined,
): Promise<FilterJson> {
  if (param === undefined) return {};
  if (param.startsWith("{")) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(param);
    } catch {
      throw new MatrixError(ErrCode.NotJson, "Invalid filter JSON");
    }
    if (!isObject(parsed)) throw new MatrixError(ErrCode.NotJson, "Invalid filter JSON");
    checkFilter(parsed);
    return parsed;
  }
  let known = storedFilters.get(ctx.stores);
  if (!known) storedFilters.set(ctx.stores, (known = new Map<string, FilterJson>()));
  const key = `${userId}\u0000${param}`;
  const held = known.get(key);
  if (held) return held;
  const stored = await ctx.stores.userFilters.get(userId, param);
  if (!stored) throw new MatrixError(ErrCode.InvalidParam, "No such filter");
  if (known.size >= MAX_STORED_FILTERS) known.clear();
  const frozen = deepFreeze(stored);
  known.set(key, frozen);
  return frozen;
}

/**
 * Uploaded filters by user and ID, one map per server. A stored filter never changes and its ID is never given
 * again (the IDs come from a counter every process shares), so a copy read once answers every later sync that names
 * it, from any process's upload: clients name the same filter on every `/sync`, long-polls included. Frozen, as
 * every sync of the user shares the one object.
 */
const storedFilters = new WeakMap<object, Map<string, FilterJson>>();
/** Filters remembered at most before all are forgotten (a client uploads a handful). */
const MAX_STORED_FILTERS = 50_000;

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/**
 * The RoomEventFilter of `/messages`, `/context` and relations' `filter` parameter: always inline JSON (Synapse
 * takes no filter IDs there), also when the client encoded it twice. Not JSON is 400 `M_NOT_JSON`; a field of the
 * wrong type 400 `M_BAD_JSON`.
 */
export function parseRoomEventFilter(param: string | undefined): FilterJson | undefined {
  if (param === undefined || param === "") return undefined;
  const parsed = parseJson(param) ?? parseJson(safeDecode(param));
  if (!isObject(parsed)) throw new MatrixError(ErrCode.NotJson, "Invalid filter JSON");
  checkRoomEventFilter(parsed, "filter");
  return parsed;
}

function parseJson(s: string | undefined): unknown {
  if (s === undefined) return undefined;
  try {
    return JSON.parse(s) as unknown;
  } catch {
    return undefined;
  }
}

function safeDecode(s: string): string | undefined {
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
}

/** Synapse's matching: a pattern ending in `*` matches by prefix, any other must be equal. */
function matchesType(type: string, pattern: string): boolean {
  return pattern.endsWith("*") ? type.startsWith(pattern.slice(0, -1)) : type === pattern;
}

/** The parts of an event a filter section looks at. */
export interface FilterableEvent {
  type: string;
  sender?: string;
  roomId?: string;
  content?: Record<string, unknown>;
}

/**
 * Whether an EventFilter or RoomEventFilter section (spec "Filtering") lets `event` through: `not_*` lists win over
 * their allow lists, absent lists allow everything, `contains_url` tests for a string `url` in the content.
 */
export function eventFilterAllows(section: unknown, event: FilterableEvent): boolean {
  if (!isObject(section)) return true;
  const notTypes = section.not_types as string[] | undefined;
  if (notTypes?.some((p) => matchesType(event.type, p))) return false;
  const types = section.types as string[] | undefined;
  if (types && !types.some((p) => matchesType(event.type, p))) return false;
  if (event.sender !== undefined) {
    if ((section.not_senders as string[] | undefined)?.includes(event.sender)) return false;
    const senders = section.senders as string[] | undefined;
    if (senders && !senders.includes(event.sender)) return false;
  }
  if (event.roomId !== undefined && !roomListAllows(section, event.roomId)) return false;
  if (typeof section.contains_url === "boolean" && event.content !== undefined) {
    if ((typeof event.content.url === "string") !== section.contains_url) return false;
  }
  return true;
}

/** `rooms` / `not_rooms` of a section. */
function roomListAllows(section: Record<string, unknown>, roomId: string): boolean {
  if ((section.not_rooms as string[] | undefined)?.includes(roomId)) return false;
  const rooms = section.rooms as string[] | undefined;
  return !rooms || rooms.includes(roomId);
}

/** Whether the filter's `account_data` section lets an account data event of `type` through. */
export function accountDataTypeAllowed(filter: FilterJson, type: string): boolean {
  return eventFilterAllows(filter.account_data, { type });
}

/** The filter's `room` section (an empty one when absent). */
export function roomFilter(filter: FilterJson): Record<string, unknown> {
  return isObject(filter.room) ? filter.room : {};
}

/** Whether the sync's room filter includes this room at all. */
export function syncIncludesRoom(filter: FilterJson, roomId: string): boolean {
  return roomListAllows(roomFilter(filter), roomId);
}

/** A section of the room filter (`timeline`, `state`, `ephemeral`, `account_data`), or undefined. */
export function roomSection(filter: FilterJson, key: string): Record<string, unknown> | undefined {
  const v = roomFilter(filter)[key];
  return isObject(v) ? v : undefined;
}

/** `room.timeline.unread_thread_notifications`: the client counts threads apart (spec "Threaded notifications"). */
export function threadCountsWanted(filter: FilterJson): boolean {
  return roomSection(filter, "timeline")?.unread_thread_notifications === true;
}

/** Synapse's default timeline limit is 10 events per room. */
export const DEFAULT_TIMELINE_LIMIT = 10;

export function timelineLimit(filter: FilterJson): number {
  const limit = roomSection(filter, "timeline")?.limit;
  return typeof limit === "number" && limit >= 0 ? Math.min(limit, 1000) : DEFAULT_TIMELINE_LIMIT;
}

export function lazyLoadMembers(section: Record<string, unknown> | undefined): boolean {
  return section?.lazy_load_members === true;
}
