/**
 * @module The `event_search` full-text index (migration 0023): written with each searchable event, emptied of a
 * redacted one, and read by `POST /search`.
 *
 * A search reads only the rooms the user is joined to, or left (or was banned from) and has not forgotten, and in
 * the latter only up to their leave; the history visibility rule then judges each event (src/rooms/search.ts).
 * The rows come from the full-text index first (SQLite: FTS5 in rowid order, so a search in recent order stops at
 * the page; PostgreSQL: the GIN index), each then joined to its event and the user's membership by primary key.
 */
import { PostgresAdapter, sql, type Kysely, type RawBuilder } from "kysely";
import type { Database } from "./schema.js";
import { foldDiacritics, toFts5Match, toTsQuery, type SearchTerms } from "./search-terms.js";

/** The keys Synapse indexes, as clients name them in `keys`. */
export const SEARCH_KEYS = ["content.body", "content.name", "content.topic"] as const;
export type SearchKey = (typeof SEARCH_KEYS)[number];

/** The SQLite FTS5 column of each key. */
const COLUMN: Record<SearchKey, string> = { "content.body": "body", "content.name": "name", "content.topic": "topic" };

export interface SearchEntry {
  streamOrdering: number;
  roomId: string;
  key: SearchKey;
  value: string;
}

export interface SearchQuery {
  userId: string;
  /** Must hold at least one group in `all`. */
  terms: SearchTerms;
  keys: readonly SearchKey[];
  /** Only these rooms (a filter's `rooms`). */
  rooms?: readonly string[];
  notRooms?: readonly string[];
  /** Positions in (`after`, `upTo`]. */
  after?: number;
  upTo?: number;
  /** `recent`: newest first; `rank`: best match first, then newest. */
  order: "recent" | "rank";
  limit: number;
  offset?: number;
}

export interface SearchHit {
  streamOrdering: number;
  /** Higher is closer. */
  rank: number;
}

export interface EventSearchStore {
  insert(entry: SearchEntry): Promise<void>;
  /** Forgets the event at `streamOrdering` (redacted). */
  remove(streamOrdering: number): Promise<void>;
  /** Forgets every event of the room (purged); call before its events are deleted. */
  removeRoom(roomId: string): Promise<void>;
  search(q: SearchQuery): Promise<SearchHit[]>;
  /** How many rows `q` matches without its window, limit and order, counting at most `cap`. */
  count(q: SearchQuery, cap: number): Promise<number>;
}

/** NUL cannot be stored in PostgreSQL's text nor searched for: a space, as Synapse does. */
function clean(value: string): string {
  return value.replaceAll("\u0000", " ");
}

/** The rows of `q`, from the index through the event and the user's membership, with the client's room lists. */
function matching(
  q: SearchQuery,
  postgres: boolean,
  withWindow: boolean,
): { from: RawBuilder<unknown>; where: RawBuilder<unknown> } {
  // The position as the index holds it, so SQLite's FTS5 walks its rowids in order and stops at the LIMIT.
  const pos = sql.raw(postgres ? "s.stream_ordering" : "event_search.rowid");
  const conditions: RawBuilder<unknown>[] = [
    sql`m.forgotten = 0`,
    sql`(m.membership = 'join' OR (m.membership IN ('leave', 'ban') AND e.stream_ordering <= m.stream_ordering))`,
    sql`e.redacted_by IS NULL`,
  ];
  if (q.rooms !== undefined) {
    conditions.push(q.rooms.length === 0 ? sql`1 = 0` : sql`e.room_id IN (${sql.join(q.rooms)})`);
  }
  if (q.notRooms !== undefined && q.notRooms.length > 0) {
    conditions.push(sql`e.room_id NOT IN (${sql.join(q.notRooms)})`);
  }
  if (withWindow && q.after !== undefined) conditions.push(sql`${pos} > ${q.after}`);
  if (withWindow && q.upTo !== undefined) conditions.push(sql`${pos} <= ${q.upTo}`);
  if (postgres) {
    conditions.push(sql`s.vector @@ to_tsquery('english', ${toTsQuery(q.terms)})`);
    conditions.push(sql`s.key IN (${sql.join([...q.keys])})`);
    return {
      from: sql`event_search s
        JOIN events e ON e.stream_ordering = s.stream_ordering
        JOIN room_memberships m ON m.room_id = s.room_id AND m.user_id = ${q.userId}`,
      where: sql.join(conditions, sql` AND `),
    };
  }
  const columns = q.keys.map((k) => COLUMN[k]);
  conditions.push(sql`event_search MATCH ${toFts5Match(q.terms, columns)}`);
  // CROSS JOIN keeps SQLite's order: the full-text index first, then each match's event and membership by key.
  return {
    from: sql`event_search
      CROSS JOIN events e ON e.stream_ordering = event_search.rowid
      CROSS JOIN room_memberships m ON m.room_id = e.room_id AND m.user_id = ${q.userId}`,
    where: sql.join(conditions, sql` AND `),
  };
}

/** The statement of `search` (exported for the plan tests, which EXPLAIN it). */
export function searchStatement(
  q: SearchQuery,
  postgres: boolean,
): RawBuilder<{ stream_ordering: number; rank: number }> {
  const { from, where } = matching(q, postgres, true);
  const rank = postgres
    ? sql`ts_rank_cd(s.vector, to_tsquery('english', ${toTsQuery(q.terms)}))`
    : sql`-bm25(event_search)`;
  const order =
    q.order === "recent"
      ? postgres
        ? sql`s.stream_ordering DESC`
        : sql`event_search.rowid DESC`
      : postgres
        ? sql`rank DESC, s.stream_ordering DESC`
        : // bm25 is ordered ascending (more negative is better).
          sql`bm25(event_search), event_search.rowid DESC`;
  return sql`SELECT e.stream_ordering AS stream_ordering, ${rank} AS rank FROM ${from} WHERE ${where}
    ORDER BY ${order} LIMIT ${q.limit} OFFSET ${q.offset ?? 0}`;
}

/** The statement of `count`. */
export function countStatement(q: SearchQuery, postgres: boolean, cap: number): RawBuilder<{ n: number }> {
  const { from, where } = matching(q, postgres, false);
  return sql`SELECT count(*) AS n FROM (SELECT 1 AS one FROM ${from} WHERE ${where} LIMIT ${cap}) capped`;
}

export function eventSearchStore(db: Kysely<Database>): EventSearchStore {
  const postgres = db.getExecutor().adapter instanceof PostgresAdapter;

  return {
    async insert(entry) {
      const value = clean(entry.value);
      if (postgres) {
        await sql`INSERT INTO event_search (stream_ordering, room_id, key, vector)
          VALUES (${entry.streamOrdering}, ${entry.roomId}, ${entry.key}, to_tsvector('english', ${foldDiacritics(value)}))`.execute(
          db,
        );
      } else {
        await sql`INSERT INTO event_search (rowid, ${sql.raw(COLUMN[entry.key])})
          VALUES (${entry.streamOrdering}, ${value})`.execute(db);
      }
    },
    async remove(streamOrdering) {
      const column = sql.raw(postgres ? "stream_ordering" : "rowid");
      await sql`DELETE FROM event_search WHERE ${column} = ${streamOrdering}`.execute(db);
    },
    async removeRoom(roomId) {
      if (postgres) await sql`DELETE FROM event_search WHERE room_id = ${roomId}`.execute(db);
      else {
        await sql`DELETE FROM event_search
          WHERE rowid IN (SELECT stream_ordering FROM events WHERE room_id = ${roomId})`.execute(db);
      }
    },
    async search(q) {
      const result = await searchStatement(q, postgres).execute(db);
      return result.rows.map((r) => ({ streamOrdering: Number(r.stream_ordering), rank: Number(r.rank) }));
    },
    async count(q, cap) {
      const result = await countStatement(q, postgres, cap).execute(db);
      return Number(result.rows[0]?.n ?? 0);
    },
  };
}
