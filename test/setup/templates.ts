/**
 * Migrated template databases, built once per run so each test database is a copy instead of a run of every
 * migration: a SQLite file to copy, and a PostgreSQL database for `CREATE DATABASE … TEMPLATE`. Runs after
 * postgres.ts, whose cluster it uses. Tests of migrating itself ask `createTestDatabase` for an empty database.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import type { TestProject } from "vitest/node";
import { migrate, openDatabase } from "../../src/db/database.js";
import { databaseConfigFromUrl } from "../../src/config/database-url.js";

declare module "vitest" {
  export interface ProvidedContext {
    /** A migrated SQLite file that nothing holds open: copy it, never open it. */
    sqliteTemplate: string;
    /** A migrated PostgreSQL database on the run's cluster that nothing connects to: only a `TEMPLATE`. */
    pgTemplate: string;
    /** `STRATEGY FILE_COPY` where the server has it (15+): no WAL for the copy, faster for a small template. */
    pgCopyStrategy: string;
  }
}

async function migrated(url: string): Promise<void> {
  const db = openDatabase(databaseConfigFromUrl(url));
  try {
    await migrate(db);
  } finally {
    await db.close();
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dir = mkdtempSync(join(tmpdir(), "gatehouse-template-"));
  const sqliteTemplate = join(dir, "template.db");
  const admin = new URL(project.getProvidedContext().pgUrl);
  const pgTemplate = `gh_template_${process.pid}`;
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  let version: number;
  try {
    version = Number((await client.query<{ v: string }>("SHOW server_version_num")).rows[0]!.v);
    await client.query(`CREATE DATABASE ${pgTemplate}`);
  } finally {
    await client.end();
  }
  const templateUrl = new URL(admin.toString());
  templateUrl.pathname = `/${pgTemplate}`;
  await Promise.all([migrated(`sqlite://${sqliteTemplate}`), migrated(templateUrl.toString())]);
  project.provide("sqliteTemplate", sqliteTemplate);
  project.provide("pgTemplate", pgTemplate);
  project.provide("pgCopyStrategy", version >= 150000 ? "STRATEGY FILE_COPY" : "");
  return async () => {
    rmSync(dir, { recursive: true, force: true });
    // A cluster of the run's own is deleted whole; one given by GATEHOUSE_TEST_PG_URL keeps only what tests made.
    const c = new pg.Client({ connectionString: admin.toString() });
    try {
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${pgTemplate}`);
    } catch {
      // The run's own cluster may already be stopped.
    } finally {
      await c.end().catch(() => {});
    }
  };
}
