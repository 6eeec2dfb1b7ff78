/**
 * Queries built once per shape and run again with new values (src/db/reused-query.ts), on both databases: each run
 * answers as the same query built afresh would, whatever the values, optional clauses and list lengths, inside a
 * transaction too; a query that uses a value other than as a parameter is refused.
 */
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase, type Db } from "../../src/db/database.js";
import { reusedQuery } from "../../src/db/reused-query.js";
import { createTestDatabase, forEachDatabase } from "../helpers/databases.js";

interface Values {
  prefix: string;
  after: number | undefined;
  names: string[];
}

/** Counters whose names start with `prefix`, past `after` if given, among `names`; `desc` orders them backwards. */
const pick = reusedQuery("test.pick", (db, desc: boolean, v: Values) => {
  let q = db
    .selectFrom("counters")
    .select(["name", "value"])
    .where("name", "like", sql<string>`${v.prefix} || '%'`)
    .where("name", "in", v.names)
    // A constant of the query's own stays in its place among the values.
    .where("name", "!=", "never");
  if (v.after !== undefined) q = q.where("value", ">", v.after);
  return q.orderBy("value", desc ? "desc" : "asc");
});

forEachDatabase((kind) => {
  describe("reusedQuery", () => {
    let db: Db;
    beforeAll(async () => {
      db = openDatabase((await createTestDatabase(kind)).config);
      await db.kysely
        .insertInto("counters")
        .values([
          { name: "a1", value: 1 },
          { name: "a2", value: 2 },
          { name: "a3", value: 3 },
          { name: "b1", value: 4 },
          { name: "never", value: 5 },
        ])
        .execute();
    });
    afterAll(async () => db.close());

    const names = (rows: { name: string }[]) => rows.map((r) => r.name);

    it("runs each shape with each run's own values", async () => {
      const all = ["a1", "a2", "a3", "b1", "never"];
      expect(names(await pick(db.kysely, false, { prefix: "a", after: undefined, names: all }))).toEqual([
        "a1",
        "a2",
        "a3",
      ]);
      expect(names(await pick(db.kysely, false, { prefix: "b", after: undefined, names: all }))).toEqual(["b1"]);
      expect(names(await pick(db.kysely, true, { prefix: "a", after: 1, names: all }))).toEqual(["a3", "a2"]);
      expect(names(await pick(db.kysely, true, { prefix: "a", after: 2, names: all }))).toEqual(["a3"]);
      // Another list length is another shape; the same length with other names is the same one.
      expect(names(await pick(db.kysely, false, { prefix: "a", after: undefined, names: ["a2"] }))).toEqual(["a2"]);
      expect(names(await pick(db.kysely, false, { prefix: "a", after: undefined, names: ["a3"] }))).toEqual(["a3"]);
      expect(names(await pick(db.kysely, false, { prefix: "", after: 0, names: ["never", "b1"] }))).toEqual(["b1"]);
    });

    it("runs inside a transaction, seeing its writes", async () => {
      await db.kysely.transaction().execute(async (trx) => {
        await trx.insertInto("counters").values({ name: "a4", value: 6 }).execute();
        expect(names(await pick(trx, false, { prefix: "a", after: 3, names: ["a4", "a1"] }))).toEqual(["a4"]);
      });
    });

    it("refuses a query that uses a value other than as a parameter", async () => {
      const computed = reusedQuery("test.computed", (k, _: null, v: { n: number }) =>
        k
          .selectFrom("counters")
          .select("name")
          .where("value", ">", v.n + 1),
      );
      await expect(computed(db.kysely, null, { n: 1 })).rejects.toThrow(/did not take 1 of its values/);
      const inText = reusedQuery("test.inText", (k, _: null, v: { column: string }) =>
        k.selectFrom("counters").select(sql.ref(v.column).as("x")),
      );
      await expect(inText(db.kysely, null, { column: "name" })).rejects.toThrow(/put a value into its SQL text/);
    });
  });
});
