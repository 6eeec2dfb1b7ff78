/**
 * @module Indexes for the admin user search (`GET /_synapse/admin/v2/users?name=…`): a substring of the user ID's
 * localpart or of the display name, case-insensitively. A B-tree cannot serve `LIKE '%x%'`; trigrams can.
 *
 * - PostgreSQL: two stored generated columns, `search_localpart` (the ID between `@` and the last `:`, lower-cased)
 *   and `search_displayname` (`lower(displayname)`), with `pg_trgm` GIN indexes on them; `users.list` matches these
 *   columns. Stored, because a GIN index on trigrams hands back candidate rows that are re-checked one by one: on
 *   a term matching 40,000 accounts, recomputing the expressions made the count three times slower. Not
 *   `lower(name)`: a term that is also part of the server name would propose every account. The extension is
 *   trusted (PostgreSQL 13+: the database owner may create it). When it cannot be created (not installed, or no
 *   CREATE right on the database) the migration still succeeds without the indexes and says so on stderr: search
 *   then scans, as before, and docs/admin-api.md gives the statements that add the indexes later. Refusing to start
 *   instead would turn a missing contrib package into an outage.
 * - SQLite: an FTS5 table with the trigram tokenizer (SQLite 3.34+; better-sqlite3 bundles a far newer one) holding
 *   the localpart span the search matches and the display name, kept in step by triggers. It is
 *   contentless (the text stays in `users` only). Its rowids come from `user_search_keys`, whose INTEGER PRIMARY KEY
 *   survives VACUUM; the implicit rowid of `users` (a text primary key) may not.
 */
import { PostgresAdapter, sql, type Kysely } from "kysely";

/**
 * The part of `name` that the search pattern `@%term%:%` can match: after the leading `@`, before the last `:`.
 * `rtrim(name, <every non-':' character of name>)` keeps `name` up to and including its last `:`.
 */
const LOCALPART = (name: string) => `substr(${name}, 2, max(length(rtrim(${name}, replace(${name}, ':', ''))) - 2, 0))`;

/** The span of `name` the pattern `@%term%:%` can match, lower-cased: the same span as `LOCALPART`. */
const PG_COLUMNS = `ADD COLUMN search_localpart text GENERATED ALWAYS AS (lower(regexp_replace(name, '^@(.*):[^:]*$', '\\1'))) STORED,
  ADD COLUMN search_displayname text GENERATED ALWAYS AS (lower(displayname)) STORED`;

const PG_INDEXES = [
  "CREATE INDEX users_localpart_trgm ON users USING gin (search_localpart gin_trgm_ops)",
  "CREATE INDEX users_displayname_trgm ON users USING gin (search_displayname gin_trgm_ops)",
];

export async function up(db: Kysely<unknown>): Promise<void> {
  if (db.getExecutor().adapter instanceof PostgresAdapter) return upPostgres(db);
  await sql`CREATE TABLE user_search_keys (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)`.execute(db);
  await sql`CREATE VIRTUAL TABLE user_search USING fts5(localpart, displayname,
      content='', contentless_delete=1, tokenize='trigram')`.execute(db);
  await sql`INSERT INTO user_search_keys (name) SELECT name FROM users ORDER BY name`.execute(db);
  await sql
    .raw(
      `INSERT INTO user_search (rowid, localpart, displayname)
       SELECT k.id, ${LOCALPART("u.name")}, u.displayname
       FROM users u JOIN user_search_keys k ON k.name = u.name`,
    )
    .execute(db);
  // Counting a term that matches tens of thousands of accounts reads each one's flags and display name: from this
  // index, in name order, instead of from the table in insertion order (half the time on a million accounts).
  await sql`CREATE INDEX users_search_cover ON users
    (name, deactivated, locked, is_guest, suspended, admin, user_type, displayname)`.execute(db);
  const rowOf = (name: string) => `(SELECT id FROM user_search_keys WHERE name = ${name})`;
  await sql
    .raw(
      `CREATE TRIGGER user_search_insert AFTER INSERT ON users BEGIN
         INSERT INTO user_search_keys (name) VALUES (new.name);
         INSERT INTO user_search (rowid, localpart, displayname)
           VALUES (${rowOf("new.name")}, ${LOCALPART("new.name")}, new.displayname);
       END`,
    )
    .execute(db);
  await sql
    .raw(
      `CREATE TRIGGER user_search_update AFTER UPDATE OF name, displayname ON users
       WHEN old.name IS NOT new.name OR old.displayname IS NOT new.displayname BEGIN
         UPDATE user_search_keys SET name = new.name WHERE name = old.name;
         UPDATE user_search SET localpart = ${LOCALPART("new.name")}, displayname = new.displayname WHERE rowid = ${rowOf("new.name")};
       END`,
    )
    .execute(db);
  await sql
    .raw(
      `CREATE TRIGGER user_search_delete AFTER DELETE ON users BEGIN
         DELETE FROM user_search WHERE rowid = ${rowOf("old.name")};
         DELETE FROM user_search_keys WHERE name = old.name;
       END`,
    )
    .execute(db);
}

async function upPostgres(db: Kysely<unknown>): Promise<void> {
  // The columns come whatever happens to the extension: the search reads them, indexed or not.
  await sql.raw(`ALTER TABLE users ${PG_COLUMNS}`).execute(db);
  const present = await sql`SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'`.execute(db);
  if (present.rows.length === 0) {
    // Migrations run in one transaction: a failed statement would abort it unless rolled back to a savepoint.
    await sql`SAVEPOINT user_search_trgm`.execute(db);
    try {
      await sql`CREATE EXTENSION IF NOT EXISTS pg_trgm`.execute(db);
      await sql`RELEASE SAVEPOINT user_search_trgm`.execute(db);
    } catch (err) {
      await sql`ROLLBACK TO SAVEPOINT user_search_trgm`.execute(db);
      process.stderr.write(
        `warning: could not create the PostgreSQL extension pg_trgm (${(err as Error).message}); the admin user ` +
          `search will scan the users table. To index it, see "User search" in docs/admin-api.md.\n`,
      );
      return;
    }
  }
  for (const statement of PG_INDEXES) await sql.raw(statement).execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  if (db.getExecutor().adapter instanceof PostgresAdapter) {
    for (const index of ["users_localpart_trgm", "users_displayname_trgm"]) {
      await sql.raw(`DROP INDEX IF EXISTS ${index}`).execute(db);
    }
    await sql`ALTER TABLE users DROP COLUMN search_localpart, DROP COLUMN search_displayname`.execute(db);
    return;
  }
  for (const t of ["user_search_insert", "user_search_update", "user_search_delete"]) {
    await sql.raw(`DROP TRIGGER ${t}`).execute(db);
  }
  await sql`DROP INDEX users_search_cover`.execute(db);
  await sql`DROP TABLE user_search`.execute(db);
  await sql`DROP TABLE user_search_keys`.execute(db);
}
