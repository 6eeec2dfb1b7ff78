import SQLite from "better-sqlite3";
import { Kysely, SqliteDialect, sql } from "kysely";
import { afterEach, describe, expect, it } from "vitest";
import { reusingStatements } from "../../src/db/sqlite-statements.js";

describe("reusingStatements (SQLite prepared statements kept for reuse)", () => {
  let sqlite: SQLite.Database;
  afterEach(() => {
    if (sqlite.open) sqlite.close();
  });

  function open(max?: number) {
    sqlite = new SQLite(":memory:");
    sqlite.exec("create table t (id integer primary key, v text)");
    sqlite.exec("insert into t (v) values ('a'), ('b'), ('c')");
    return reusingStatements(sqlite, max);
  }

  it("gives the same statement back for the same SQL, with the new parameters' answer", () => {
    const db = open();
    const first = db.prepare("select v from t where id = ?");
    expect(first.all([1])).toEqual([{ v: "a" }]);
    const again = db.prepare("select v from t where id = ?");
    expect(again).toBe(first);
    expect(again.all([2])).toEqual([{ v: "b" }]);
  });

  it("gives a statement of its own to a use of the same SQL while the kept one is being iterated", () => {
    const db = open();
    const text = "select v from t order by id";
    const iterating = db.prepare(text).iterate([]);
    expect(iterating.next().value).toEqual({ v: "a" });
    const other = db.prepare(text);
    expect(other.all([])).toEqual([{ v: "a" }, { v: "b" }, { v: "c" }]);
    expect([...iterating]).toEqual([{ v: "b" }, { v: "c" }]);
    // The kept statement is free again and is the one given back.
    expect(db.prepare(text)).not.toBe(other);
    expect(db.prepare(text).all([])).toHaveLength(3);
  });

  it("keeps at most `max` statements, dropping the least recently used", () => {
    const db = open(2);
    const a = db.prepare("select 1");
    const b = db.prepare("select 2");
    expect(db.prepare("select 1")).toBe(a); // now b is the least recently used
    db.prepare("select 3");
    expect(db.prepare("select 1")).toBe(a);
    expect(db.prepare("select 2")).not.toBe(b);
  });

  it("runs kysely's queries, streamed ones and writes included, with the right answers", async () => {
    const k = new Kysely<{ t: { id: number; v: string } }>({ dialect: new SqliteDialect({ database: open() }) });
    const read = () => k.selectFrom("t").select("v").where("id", "=", 3).executeTakeFirst();
    expect(await read()).toEqual({ v: "c" });
    await k.updateTable("t").set({ v: "z" }).where("id", "=", 3).execute();
    expect(await read()).toEqual({ v: "z" });
    const streamed: string[] = [];
    for await (const row of k.selectFrom("t").select("v").orderBy("id").stream()) streamed.push(row.v);
    expect(streamed).toEqual(["a", "b", "z"]);
    // A schema change under a kept statement: SQLite prepares it again by itself.
    await sql`alter table t add column w text`.execute(k);
    expect(await read()).toEqual({ v: "z" });
    await k.destroy();
    expect(sqlite.open).toBe(false);
  });
});
