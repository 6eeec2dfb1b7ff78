/**
 * Fresh databases for tests: a new SQLite file or a new PostgreSQL database on the run's throwaway cluster.
 * `forEachDatabase` runs one suite on both, so every store rule is checked on both dialects.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { describe, inject } from "vitest";
import type { DatabaseConfig } from "../../src/config/schema.js";
import { databaseConfigFromUrl } from "../../src/db/database.js";

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

export async function createTestDatabase(kind: DatabaseKind): Promise<TestDatabase> {
  if (kind === "sqlite") {
    const url = `sqlite://${join(tempDir(), "homeserver.db")}`;
    return { kind, url, config: databaseConfigFromUrl(url) };
  }
  const admin = new URL(inject("pgUrl"));
  const name = `gh_${process.pid}_${Date.now().toString(36)}_${counter++}`;
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
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
