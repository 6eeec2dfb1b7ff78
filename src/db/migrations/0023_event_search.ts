/**
 * @module The full-text index of `POST /search` (Synapse's `event_search`): the searchable text of each event, one
 * row per event, keyed by its stream position. What is searchable is Synapse's choice: `content.body` of
 * `m.room.message`, `content.name` of the state event `m.room.name`, `content.topic` of `m.room.topic`. Encrypted
 * events have none; a redacted event's row is deleted with the redaction.
 *
 * - SQLite: an FTS5 table with the columns `body`, `name` and `topic`, rowid = the event's `stream_ordering`, so a
 *   search in recent order walks the index newest first and stops at the page. Contentless (the text stays in
 *   `events` only); `contentless_delete` lets a redaction delete its row. unicode61 folds case and diacritics.
 * - PostgreSQL: `event_search(stream_ordering, room_id, key, vector)` with a GIN index on the `tsvector`, built
 *   with the `english` configuration as Synapse builds it (stemming: "searching" finds "searched"; its stop words,
 *   "the", "and", "not", are not searchable), from the text with its Latin diacritics folded, as SQLite's tokenizer
 *   folds them.
 *
 * The events already stored are indexed here.
 */
import { PostgresAdapter, sql, type Kysely } from "kysely";

/** Per searchable key: the event type, the JSON path in the PDU, and the SQLite column. */
const KEYS = [
  { type: "m.room.message", path: "$.content.body", column: "body", key: "content.body", state: false },
  { type: "m.room.name", path: "$.content.name", column: "name", key: "content.name", state: true },
  { type: "m.room.topic", path: "$.content.topic", column: "topic", key: "content.topic", state: true },
] as const;

export async function up(db: Kysely<unknown>): Promise<void> {
  if (db.getExecutor().adapter instanceof PostgresAdapter) return upPostgres(db);
  await sql`CREATE VIRTUAL TABLE event_search USING fts5(body, name, topic,
      content='', contentless_delete=1, tokenize='unicode61 remove_diacritics 2')`.execute(db);
  for (const k of KEYS) {
    await sql
      .raw(
        `INSERT INTO event_search (rowid, ${k.column})
         SELECT stream_ordering, json_extract(json, '${k.path}') FROM events
         WHERE type = '${k.type}' AND state_key IS ${k.state ? "NOT" : ""} NULL AND redacted_by IS NULL
           AND json_type(json, '${k.path}') = 'text' AND json_extract(json, '${k.path}') <> ''`,
      )
      .execute(db);
  }
}

/** As `foldDiacritics` (src/db/search-terms.ts) today; a migration keeps its own copy, so it never changes. */
function fold(s: string): string {
  return s
    .replaceAll("\u0000", " ")
    .normalize("NFD")
    .replace(/[\u0300-\u036f]/g, "")
    .normalize("NFC");
}

async function upPostgres(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE TABLE event_search (
      stream_ordering bigint PRIMARY KEY,
      room_id text NOT NULL,
      key text NOT NULL,
      vector tsvector NOT NULL)`.execute(db);
  // In batches through JavaScript, for the same diacritic folding as the rows written from now on.
  let after = -1;
  for (;;) {
    const { rows } = await sql<{
      stream_ordering: number;
      room_id: string;
      type: string;
      state_key: string | null;
      json: string;
    }>`
      SELECT stream_ordering, room_id, type, state_key, json FROM events
      WHERE stream_ordering > ${after} AND redacted_by IS NULL
        AND type IN ('m.room.message', 'm.room.name', 'm.room.topic')
      ORDER BY stream_ordering LIMIT 1000`.execute(db);
    const last = rows.at(-1);
    if (last === undefined) break;
    after = Number(last.stream_ordering);
    const values = [];
    for (const row of rows) {
      const k = KEYS.find((x) => x.type === row.type && (row.state_key !== null) === x.state);
      const content = (JSON.parse(row.json) as { content?: Record<string, unknown> }).content;
      const value = k && content ? content[k.key.slice("content.".length)] : undefined;
      if (k === undefined || typeof value !== "string" || value === "") continue;
      values.push(sql`(${row.stream_ordering}, ${row.room_id}, ${k.key}, to_tsvector('english', ${fold(value)}))`);
    }
    if (values.length > 0) {
      await sql`INSERT INTO event_search (stream_ordering, room_id, key, vector) VALUES ${sql.join(values)}`.execute(
        db,
      );
    }
  }
  await sql`CREATE INDEX event_search_fts ON event_search USING gin (vector)`.execute(db);
  await sql`CREATE INDEX event_search_room ON event_search (room_id, stream_ordering)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE event_search`.execute(db);
}
