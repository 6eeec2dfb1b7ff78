/**
 * @module The background jobs' lease table, and indexes on the columns their purges select by.
 *
 * One row per job: `next_run_at` is when it is next due; the process that runs it holds it (`locked_by`) until
 * `locked_until`, so of several processes on one database exactly one runs each period's work, and a process that
 * died mid-run is taken over once its lease has lapsed. `last_*` record the latest run for operators.
 */
import type { Kysely } from "kysely";

const INDEXES: [name: string, table: string, column: string][] = [
  ["ui_auth_sessions_creation", "ui_auth_sessions", "creation_time"],
  ["login_tokens_expiry", "login_tokens", "expiry_ts"],
  ["access_tokens_valid_until", "access_tokens", "valid_until_ms"],
  ["access_tokens_refresh_token", "access_tokens", "refresh_token_hash"],
  ["refresh_tokens_next", "refresh_tokens", "next_token_hash"],
];

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("scheduled_jobs")
    .addColumn("name", "text", (c) => c.primaryKey())
    .addColumn("next_run_at", "bigint", (c) => c.notNull())
    .addColumn("locked_by", "text")
    .addColumn("locked_until", "bigint")
    .addColumn("last_started_at", "bigint")
    .addColumn("last_finished_at", "bigint")
    .addColumn("last_result", "text")
    .execute();
  for (const [name, table, column] of INDEXES) await db.schema.createIndex(name).on(table).column(column).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const [name] of INDEXES) await db.schema.dropIndex(name).execute();
  await db.schema.dropTable("scheduled_jobs").execute();
}
