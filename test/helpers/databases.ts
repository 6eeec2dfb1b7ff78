/**
 * Fresh databases for tests: a new SQLite file or a new PostgreSQL database on the run's throwaway cluster, copied
 * from the run's migrated template (test/setup/templates.ts) unless a test of migrating asks for an empty one.
 * `forEachDatabase` runs one suite on both, so every store rule is checked on both dialects.
 */
import { copyFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { describe, inject } from "vitest";
import type { DatabaseConfig } from "../../src/config/schema.js";
import { databaseConfigFromUrl } from "../../src/config/database-url.js";

export type DatabaseKind = "sqlite" | "postgres";
export const DATABASE_KINDS: DatabaseKind[] = ["sqlite", "postgres"];

export interface TestDatabase {
  kind: DatabaseKind;
  url: string;
  config: DatabaseConfig;
}

let counter = 0;

export function tempDir(prefix = "gatehouse-test-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/**
 * A new database of `kind`, already migrated to the latest schema (as a server leaves it, with no server name
 * recorded yet); `{ empty: true }` gives one no migration has touched, for tests of migrating.
 */
export async function createTestDatabase(kind: DatabaseKind, options: { empty?: boolean } = {}): Promise<TestDatabase> {
  if (kind === "sqlite") {
    const file = join(tempDir(), "homeserver.db");
    if (!options.empty) copyFileSync(inject("sqliteTemplate"), file);
    const url = `sqlite://${file}`;
    return { kind, url, config: databaseConfigFromUrl(url) };
  }
  const admin = new URL(inject("pgUrl"));
  const name = `gh_${process.pid}_${Date.now().toString(36)}_${counter++}`;
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    await client.query(
      options.empty
        ? `CREATE DATABASE ${name}`
        : `CREATE DATABASE ${name} TEMPLATE ${inject("pgTemplate")} ${inject("pgCopyStrategy")}`,
    );
  } finally {
    await client.end();
  }
  const url = new URL(admin.toString());
  url.pathname = `/${name}`;
  return { kind, url: url.toString(), config: databaseConfigFromUrl(url.toString()) };
}

/** Runs the suite once per database kind: `forEachDatabase((kind) => { it(...) })`. */
export function forEachDatabase(body: (kind: DatabaseKind) => void): void {
  for (const kind of DATABASE_KINDS) describe(kind, () => body(kind));
}
