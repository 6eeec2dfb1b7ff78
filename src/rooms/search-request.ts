/**
 * @module `POST /search`'s request read into a typed query, and its `next_batch` tokens: every check before
 * anything is read. A missing `search_categories`, `room_events` or `search_term` is 400 `M_MISSING_PARAM`; a field
 * of the wrong type or value (an unknown key, order or grouping, a bad filter) 400 `M_BAD_JSON`; a `next_batch`
 * this server did not make, or made for another order, 400 `M_INVALID_PARAM`.
 */
import { SEARCH_KEYS, type SearchKey } from "../db/event-search.js";
import { parseSearchTerms, type SearchTerms } from "../db/search-terms.js";
import { ErrCode, MatrixError } from "../errors.js";
import { checkRoomEventFilter, type FilterJson } from "../sync/filters.js";

/** Synapse's default page of results (a filter's default `limit`). */
export const DEFAULT_SEARCH_LIMIT = 10;
/** Each result can carry context: a page is kept to what a client shows. */
export const MAX_SEARCH_LIMIT = 100;
/** Synapse's default context on each side. */
const DEFAULT_CONTEXT = 5;
const MAX_CONTEXT = 100;

export interface EventContextQuery {
  before: number;
  after: number;
  includeProfile: boolean;
}

export interface RoomEventsQuery {
  terms: SearchTerms;
  keys: SearchKey[];
  filter: FilterJson | undefined;
  limit: number;
  order: "rank" | "recent";
  context: EventContextQuery | null;
  includeState: boolean;
  groupBy: Set<"room_id" | "sender">;
}

/** Where the next page starts: a gap in the stream (recent), or an offset into a ranking frozen at `upTo` (rank). */
export type SearchBatch =
  { order: "recent"; roomId?: string; from: number } | { order: "rank"; roomId?: string; upTo: number; offset: number };

function bad(message: string): MatrixError {
  return new MatrixError(ErrCode.BadJson, message);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function optionalBoolean(obj: Record<string, unknown>, key: string, where: string): boolean {
  const v = obj[key];
  if (v === undefined) return false;
  if (typeof v !== "boolean") throw bad(`${where}${key} must be a boolean`);
  return v;
}

function count(obj: Record<string, unknown>, key: string, where: string, fallback: number, max: number): number {
  const v = obj[key];
  if (v === undefined) return fallback;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0) throw bad(`${where}${key} must be an integer >= 0`);
  return Math.min(v, max);
}

const RE = "search_categories.room_events.";

export function parseSearchBody(body: Record<string, unknown>): RoomEventsQuery {
  const categories = body.search_categories;
  if (categories === undefined) throw new MatrixError(ErrCode.MissingParam, "Missing search_categories");
  if (!isObject(categories)) throw bad("search_categories must be an object");
  const cat = categories.room_events;
  if (cat === undefined) {
    throw new MatrixError(ErrCode.MissingParam, "No known search category: this server searches room_events");
  }
  if (!isObject(cat)) throw bad("search_categories.room_events must be an object");
  const term = cat.search_term;
  if (term === undefined) throw new MatrixError(ErrCode.MissingParam, `Missing ${RE}search_term`);
  if (typeof term !== "string") throw bad(`${RE}search_term must be a string`);

  let keys: SearchKey[] = [...SEARCH_KEYS];
  if (cat.keys !== undefined) {
    const known = new Set<string>(SEARCH_KEYS);
    if (!Array.isArray(cat.keys) || cat.keys.length === 0 || !cat.keys.every((k) => known.has(k as string))) {
      throw bad(`${RE}keys must be a non-empty list of ${SEARCH_KEYS.join(", ")}`);
    }
    keys = [...new Set(cat.keys as SearchKey[])];
  }

  let filter: FilterJson | undefined;
  if (cat.filter !== undefined) {
    checkRoomEventFilter(cat.filter, `${RE}filter`);
    filter = cat.filter as FilterJson;
  }
  const rawLimit = filter?.limit;
  const limit = typeof rawLimit === "number" ? Math.max(0, Math.min(rawLimit, MAX_SEARCH_LIMIT)) : DEFAULT_SEARCH_LIMIT;

  const order = cat.order_by ?? "rank";
  if (order !== "rank" && order !== "recent") throw bad(`${RE}order_by must be 'rank' or 'recent'`);

  let context: EventContextQuery | null = null;
  if (cat.event_context !== undefined) {
    const ec = cat.event_context;
    if (!isObject(ec)) throw bad(`${RE}event_context must be an object`);
    const where = `${RE}event_context.`;
    context = {
      before: count(ec, "before_limit", where, DEFAULT_CONTEXT, MAX_CONTEXT),
      after: count(ec, "after_limit", where, DEFAULT_CONTEXT, MAX_CONTEXT),
      includeProfile: optionalBoolean(ec, "include_profile", where),
    };
  }

  const groupBy = new Set<"room_id" | "sender">();
  if (cat.groupings !== undefined) {
    if (!isObject(cat.groupings)) throw bad(`${RE}groupings must be an object`);
    const list = cat.groupings.group_by ?? [];
    if (!Array.isArray(list)) throw bad(`${RE}groupings.group_by must be a list`);
    for (const g of list) {
      const key = isObject(g) ? g.key : undefined;
      if (key !== "room_id" && key !== "sender")
        throw bad(`${RE}groupings.group_by keys must be 'room_id' or 'sender'`);
      groupBy.add(key);
    }
  }

  return {
    terms: parseSearchTerms(term),
    keys,
    filter,
    limit,
    order,
    context,
    includeState: optionalBoolean(cat, "include_state", RE),
    groupBy,
  };
}

export function formatBatch(batch: SearchBatch): string {
  return Buffer.from(JSON.stringify(batch)).toString("base64url");
}

function invalidBatch(): MatrixError {
  return new MatrixError(ErrCode.InvalidParam, "Invalid next_batch");
}

const isPosition = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;

/** A `next_batch` this server made for `order`. */
export function parseBatch(token: string, order: "rank" | "recent"): SearchBatch {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
  } catch {
    throw invalidBatch();
  }
  if (!isObject(parsed) || parsed.order !== order) throw invalidBatch();
  const roomId = parsed.roomId;
  if (roomId !== undefined && (typeof roomId !== "string" || !roomId.startsWith("!"))) throw invalidBatch();
  if (parsed.order === "recent") {
    if (!isPosition(parsed.from)) throw invalidBatch();
    return { order: "recent", from: parsed.from, ...(roomId !== undefined ? { roomId } : {}) };
  }
  if (!isPosition(parsed.upTo) || !isPosition(parsed.offset)) throw invalidBatch();
  return { order: "rank", upTo: parsed.upTo, offset: parsed.offset, ...(roomId !== undefined ? { roomId } : {}) };
}
