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
 *   with the `english` configuration as Synapse builds it (stemming: "searching" finds "searched").
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
           AND json_type(json, '${k.path}') = 'text'`,
      )
      .execute(db);
  }
}

async function upPostgres(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE TABLE event_search (
      stream_ordering bigint PRIMARY KEY,
      room_id text NOT NULL,
      key text NOT NULL,
      vector tsvector NOT NULL)`.execute(db);
  for (const k of KEYS) {
    const field = k.path.split(".").at(-1) as string;
    await sql
      .raw(
        `INSERT INTO event_search (stream_ordering, room_id, key, vector)
         SELECT stream_ordering, room_id, '${k.key}', to_tsvector('english', (json::jsonb)->'content'->>'${field}')
         FROM events
         WHERE type = '${k.type}' AND state_key IS ${k.state ? "NOT" : ""} NULL AND redacted_by IS NULL
           AND jsonb_typeof((json::jsonb)->'content'->'${field}') = 'string'`,
      )
      .execute(db);
  }
  await sql`CREATE INDEX event_search_fts ON event_search USING gin (vector)`.execute(db);
  await sql`CREATE INDEX event_search_room ON event_search (room_id, stream_ordering)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE event_search`.execute(db);
}
