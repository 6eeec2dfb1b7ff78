/**
 * Stream writers queue in the process, not in the PostgreSQL pool (src/sync/stream.ts): while one writer holds the
 * stream, the others hold no connection, so a read is served at once however many writes are queued.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import type { Db } from "../../src/db/database.js";
import type { Stores } from "../../src/db/stores.js";
import { openAndMigrate } from "../../src/server.js";
import { STREAM_COUNTER, withNewPosition } from "../../src/sync/stream.js";
import { createTestDatabase } from "../helpers/databases.js";

let db: Db;
let stores: Stores;
beforeAll(async () => {
  const tdb = await createTestDatabase("postgres");
  if (tdb.config.name !== "psycopg2") throw new Error("expected PostgreSQL");
  ({ db, stores } = await openAndMigrate({ database: { ...tdb.config, args: { ...tdb.config.args, cp_max: 2 } } }));
});
afterAll(async () => db.close());

it("queued stream writes leave the pool's connections to readers", async () => {
  const HOLD_MS = 200;
  const writes = Array.from({ length: 6 }, (_, i) =>
    withNewPosition(stores, `@writer${i}:localhost`, async (tables) => {
      await tables.counters.current(STREAM_COUNTER);
      await new Promise((resolve) => setTimeout(resolve, HOLD_MS));
    }),
  );
  await new Promise((resolve) => setTimeout(resolve, 50));
  const start = performance.now();
  await stores.counters.current(STREAM_COUNTER);
  const waited = performance.now() - start;
  await Promise.all(writes);
  // Queued in the pool, the read would wait for most of the writes (about 5 × HOLD_MS).
  expect(waited).toBeLessThan(2 * HOLD_MS);
});
