/**
 * @module The SQLite connection as kysely sees it, with its prepared statements kept for reuse.
 *
 * kysely's SQLite driver prepares every query it runs. Compiling the SQL again each time cost more than running it
 * for the short indexed reads the hot paths make (a woken `/sync`, a send: about a tenth of a millisecond a
 * statement, a quarter of a woken sync's server time). The same SQL text is now prepared once and its statement run
 * again with the new parameters. That is safe because a statement kysely runs with `all` or `run` is done with when
 * the call returns (better-sqlite3 is synchronous); one still being iterated (a streamed query) reports `busy`, and
 * a second user of the same text gets a statement of its own. SQLite re-prepares a kept statement by itself when
 * the schema changes under it (a migration).
 */
import type { Database as SQLiteDatabase, Statement } from "better-sqlite3";
import type { SqliteDatabase } from "kysely";

/**
 * Statements kept at most, least recently used dropped first: queries with lists of parameters (`in (?, ?, …)`)
 * give a text per length, and every text keeps its compiled program in memory.
 */
const MAX_STATEMENTS = 1_000;

export function reusingStatements(sqlite: SQLiteDatabase, max = MAX_STATEMENTS): SqliteDatabase {
  const kept = new Map<string, Statement>();
  return {
    close: () => {
      kept.clear();
      sqlite.close();
    },
    prepare: (sql: string) => {
      const stmt = kept.get(sql);
      if (stmt && !stmt.busy) {
        // Most recently used last, so the first key is the one to drop.
        kept.delete(sql);
        kept.set(sql, stmt);
        return stmt;
      }
      const fresh = sqlite.prepare(sql);
      if (stmt) return fresh; // The kept one is being iterated: this use gets its own, the kept one stays.
      if (kept.size >= max) kept.delete(kept.keys().next().value!);
      kept.set(sql, fresh);
      return fresh;
    },
  };
}
