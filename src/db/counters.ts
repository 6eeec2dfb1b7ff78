/**
 * @module Named counters: sequences that work the same on SQLite and PostgreSQL (stream positions, generated user
 * IDs, filter IDs). Each `next` is one atomic statement.
 */
import { sql, type Kysely } from "kysely";
import { reusedQuery } from "./reused-query.js";
import type { Database } from "./schema.js";

export interface CountersStore {
  next(name: string): Promise<number>;
  current(name: string): Promise<number>;
}

/** Every request that reads the stream reads its position: built once. */
const currentValue = reusedQuery("counters.current", (db, _: null, v: { name: string }) =>
  db.selectFrom("counters").select("value").where("name", "=", v.name),
);

export function countersStore(db: Kysely<Database>): CountersStore {
  return {
    async next(name) {
      const row = await db
        .insertInto("counters")
        .values({ name, value: 1 })
        .onConflict((oc) => oc.column("name").doUpdateSet({ value: sql`counters.value + 1` }))
        .returning("value")
        .executeTakeFirstOrThrow();
      return Number(row.value);
    },
    async current(name) {
      const [row] = await currentValue(db, null, { name });
      return row ? Number(row.value) : 0;
    },
  };
}
