/**
 * The admin user search (`users.list` with `name`) on its trigram indexes (migration 0005): the same answers as the
 * plain `LIKE` scan it replaced, index kept in step with every write, rows from before the migration included, and
 * the query plans really using the index. On SQLite the FTS5 table is also read directly: the `LIKE` recheck would
 * hide a stale entry from the search results, so only the table itself shows one.
 */
import SQLite from "better-sqlite3";
import { Kysely, PostgresDialect, sql, SqliteDialect, type CompiledQuery } from "kysely";
import pg from "pg";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { writeDeactivation } from "../../src/accounts/account.js";
import { migrate, openDatabase, type Db } from "../../src/db/database.js";
import type { Database } from "../../src/db/schema.js";
import { createStores, type Stores } from "../../src/db/stores.js";
import { usersStore, type NewUser, type UserListQuery } from "../../src/db/users.js";
import { createTestDatabase, forEachDatabase, type DatabaseKind, type TestDatabase } from "../helpers/databases.js";

function newUser(userId: string, displayname: string | null = null): NewUser {
  return { userId, passwordHash: null, creationTs: 1_731_000_000, admin: false, userType: null, displayname };
}

function query(overrides: Partial<UserListQuery> = {}): UserListQuery {
  return {
    from: 0,
    limit: 100,
    name: null,
    userIdContains: null,
    isGuest: null,
    deactivated: null,
    locked: null,
    suspended: null,
    admin: null,
    userTypes: null,
    notUserTypes: [],
    orderBy: "name",
    direction: "f",
    ...overrides,
  };
}

/** A Kysely on the same database that records every query the store sends, for EXPLAIN. */
function recordingKysely(testDb: TestDatabase, seen: CompiledQuery[]): Kysely<Database> {
  const log = (e: { query: CompiledQuery }) => void seen.push(e.query);
  if (testDb.config.name === "sqlite3") {
    return new Kysely<Database>({
      dialect: new SqliteDialect({ database: new SQLite(testDb.config.args.database) }),
      log,
    });
  }
  // One connection, so that a session setting and the EXPLAIN after it meet.
  const pool = new pg.Pool({ connectionString: testDb.url, max: 1 });
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }), log });
}

forEachDatabase((kind: DatabaseKind) => {
  let testDb: TestDatabase;
  let db: Db;
  let stores: Stores;

  beforeEach(async () => {
    testDb = await createTestDatabase(kind);
    db = openDatabase(testDb.config);
    await migrate(db);
    stores = createStores(db);
  });
  afterEach(async () => {
    await db.close();
  });

  const names = async (q: Partial<UserListQuery>) => {
    const r = await stores.users.list(query(q));
    return { names: r.users.map((u) => u.userId), total: r.total };
  };
  const search = async (term: string, q: Partial<UserListQuery> = {}) => (await names({ ...q, name: term })).names;

  /** SQLite: the user IDs the FTS5 table itself names for `term` (no `LIKE` recheck); PostgreSQL: null. */
  const indexed = async (term: string): Promise<string[] | null> => {
    if (kind !== "sqlite") return null;
    const { rows } = await sql<{ name: string }>`select k.name from user_search s
      join user_search_keys k on k.id = s.rowid
      where user_search match ${`"${term.replaceAll('"', '""')}"`} order by k.name`.execute(db.kysely);
    return rows.map((r) => r.name);
  };

  describe("matches", () => {
    beforeEach(async () => {
      for (const [id, dn] of [
        ["@alice.smith:example.org", "Alice Smith"],
        ["@bob:example.org", "Robert Tables"],
        ["@carol:example.org", null],
        ["@dave:example.org", "DAVE Grohl"],
        ["@x_y:example.org", "100% Pure"],
        ["@xzy:example.org", "back\\slash"],
        ["@quote:example.org", 'say "hi" now'],
      ] as const) {
        await stores.users.insert(newUser(id, dn));
      }
    });

    it("finds a substring of the localpart or the display name, ignoring case", async () => {
      expect(await search("smi")).toEqual(["@alice.smith:example.org"]);
      expect(await search("ROB")).toEqual(["@bob:example.org"]);
      expect(await search("tabl")).toEqual(["@bob:example.org"]);
      expect(await search("gRoHl")).toEqual(["@dave:example.org"]);
      expect(await search("CAROL")).toEqual(["@carol:example.org"]);
      expect(await search("e.sm")).toEqual(["@alice.smith:example.org"]);
      expect(await search("nobody")).toEqual([]);
    });

    it("does not match the server name unless the term holds a ':' (Synapse's @%term%:% pattern)", async () => {
      expect(await search("example")).toEqual([]);
      expect(await search("@al")).toEqual([]);
      expect(await search("ol:example.o")).toEqual(["@carol:example.org"]);
      expect(await search(":EXAMPLE")).toHaveLength(7);
    });

    it("answers 1- and 2-character terms by scanning, with the same rules", async () => {
      expect(await search("b")).toEqual(["@bob:example.org", "@xzy:example.org"]);
      expect(await search("Ro")).toEqual(["@bob:example.org", "@carol:example.org", "@dave:example.org"]);
      expect(await search("q")).toEqual(["@quote:example.org"]);
      expect(await search("zz")).toEqual([]);
    });

    it('takes %, _, \\ and " in a term literally', async () => {
      expect(await search("x_y")).toEqual(["@x_y:example.org"]);
      expect(await search("_")).toEqual(["@x_y:example.org"]);
      expect(await search("%")).toEqual(["@x_y:example.org"]);
      expect(await search("0% p")).toEqual(["@x_y:example.org"]);
      expect(await search("0%")).toEqual(["@x_y:example.org"]);
      expect(await search("%%")).toEqual([]);
      expect(await search("\\")).toEqual(["@xzy:example.org"]);
      expect(await search("k\\s")).toEqual(["@xzy:example.org"]);
      expect(await search('"hi"')).toEqual(["@quote:example.org"]);
      expect(await search('y "h')).toEqual(["@quote:example.org"]);
      expect(await search("x%y")).toEqual([]);
    });

    it("combines the search with the other filters, paging and ordering, total unchanged", async () => {
      await stores.users.insert(newUser("@robin:example.org", "Robin Hood"));
      await stores.users.insert(newUser("@rob.bot:example.org", "Rob the Bot"));
      await stores.users.setUserType("@rob.bot:example.org", "bot");
      await stores.users.setAdmin("@robin:example.org", true);
      await stores.users.setDeactivated("@bob:example.org", true);

      expect(await names({ name: "rob" })).toEqual({
        names: ["@bob:example.org", "@rob.bot:example.org", "@robin:example.org"],
        total: 3,
      });
      expect(await names({ name: "rob", deactivated: false })).toEqual({
        names: ["@rob.bot:example.org", "@robin:example.org"],
        total: 2,
      });
      expect((await names({ name: "rob", admin: true })).names).toEqual(["@robin:example.org"]);
      expect((await names({ name: "rob", userTypes: ["bot"] })).names).toEqual(["@rob.bot:example.org"]);
      expect((await names({ name: "rob", notUserTypes: [""] })).names).toEqual(["@rob.bot:example.org"]);
      expect(await names({ name: "rob", from: 1, limit: 1 })).toEqual({ names: ["@rob.bot:example.org"], total: 3 });
      expect(await names({ name: "rob", from: 3, limit: 1 })).toEqual({ names: [], total: 3 });
      expect(await names({ name: "rob", limit: 0 })).toEqual({ names: [], total: 3 });
      expect((await names({ name: "rob", orderBy: "displayname", direction: "b" })).names).toEqual([
        "@robin:example.org",
        "@bob:example.org",
        "@rob.bot:example.org",
      ]);
      // user_id is ignored when name is given (Synapse's rule).
      expect((await names({ name: "rob", userIdContains: "zzz" })).names).toHaveLength(3);
      expect((await names({ userIdContains: "ROB" })).names).toEqual(["@rob.bot:example.org", "@robin:example.org"]);
    });
  });

  it("finds display names in other scripts, and folds case exactly as the database's lower() does", async () => {
    await stores.users.insert(newUser("@u1:x", "Zoë Brontë"));
    await stores.users.insert(newUser("@u2:x", "Ελένη Παπαδοπούλου"));
    await stores.users.insert(newUser("@u3:x", "王小明"));
    await stores.users.insert(newUser("@u4:x", "ÉMILE Zola"));
    expect(await search("ZOË")).toEqual(["@u1:x"]);
    expect(await search("ontë")).toEqual(["@u1:x"]);
    expect(await search("λένη")).toEqual(["@u2:x"]);
    expect(await search("王小明")).toEqual(["@u3:x"]);
    expect(await search("小明")).toEqual(["@u3:x"]);
    expect(await search("小明x")).toEqual([]);
    // SQLite's lower() folds ASCII only; PostgreSQL's follows the database's ctype. The index must change neither.
    const { rows } = await sql<{ hit: number }>`select case when lower('ÉMILE Zola') like '%émile%' then 1 else 0 end
      as hit`.execute(db.kysely);
    expect(await search("émile")).toEqual(rows[0]!.hit === 1 ? ["@u4:x"] : []);
    if (kind === "sqlite") {
      expect(rows[0]!.hit).toBe(0);
      // The FTS5 table folds Unicode case, so it proposes the row; the LIKE recheck turns it down.
      expect(await indexed("émile")).toEqual(["@u4:x"]);
    }
  });

  it("follows display-name changes: set, changed, cleared, and erased by a deactivation", async () => {
    await stores.users.insert(newUser("@frank:x", "Frank Zappa"));
    await stores.users.insert(newUser("@gina:x", "Gina Lollobrigida"));
    expect(await search("zappa")).toEqual(["@frank:x"]);

    expect(await stores.users.setProfile("@frank:x", { displayname: "Francis Drake" })).toBe(true);
    expect(await search("zappa")).toEqual([]);
    expect(await search("drake")).toEqual(["@frank:x"]);
    expect(await indexed("zappa")).toEqual(kind === "sqlite" ? [] : null);

    // An avatar change leaves the name searchable.
    await stores.users.setProfile("@frank:x", { avatarUrl: "mxc://x/y" });
    expect(await search("drake")).toEqual(["@frank:x"]);

    await stores.users.setProfile("@frank:x", { displayname: null });
    expect(await search("drake")).toEqual([]);
    expect(await search("frank")).toEqual(["@frank:x"]);
    expect(await indexed("drake")).toEqual(kind === "sqlite" ? [] : null);

    await stores.users.setProfile("@frank:x", { displayname: "Frankie" });
    expect(await search("kie")).toEqual(["@frank:x"]);

    await stores.transaction((t) => writeDeactivation(t, "@gina:x", { erase: true }));
    expect(await search("lollo")).toEqual([]);
    expect(await search("gina")).toEqual(["@gina:x"]);
    expect(await search("gina", { deactivated: false })).toEqual([]);
    expect(await indexed("lollo")).toEqual(kind === "sqlite" ? [] : null);
  });

  it("forgets a deleted account and follows one renamed in SQL; a rolled-back insert leaves nothing", async () => {
    await stores.users.insert(newUser("@henry:x", "Henry Ford"));
    await stores.users.insert(newUser("@ivy:x", "Ivy League"));
    await db.kysely.deleteFrom("users").where("name", "=", "@henry:x").execute();
    expect(await search("ford")).toEqual([]);
    expect(await indexed("ford")).toEqual(kind === "sqlite" ? [] : null);

    await db.kysely.updateTable("users").set({ name: "@ivana:x" }).where("name", "=", "@ivy:x").execute();
    expect(await search("ivana")).toEqual(["@ivana:x"]);
    expect(await search("league")).toEqual(["@ivana:x"]);
    expect(await indexed("league")).toEqual(kind === "sqlite" ? ["@ivana:x"] : null);

    await expect(
      stores.transaction(async (t) => {
        await t.users.insert(newUser("@jack:x", "Jack Black"));
        throw new Error("roll back");
      }),
    ).rejects.toThrow("roll back");
    expect(await search("black")).toEqual([]);
    expect(await indexed("black")).toEqual(kind === "sqlite" ? [] : null);
    if (kind === "sqlite") {
      const { rows } = await sql<{ n: number }>`select count(*) as n from user_search_keys`.execute(db.kysely);
      expect(rows[0]!.n).toBe(1);
    }
  });

  it("indexes the accounts that existed before the migration", async () => {
    const old = openDatabase((await createTestDatabase(kind, { empty: true })).config);
    try {
      await migrate(old, "0004_admin_audit");
      const before = createStores(old);
      await before.users.insert(newUser("@kate.bush:x", "Kate Bush"));
      await before.users.insert(newUser("@leo:x", null));
      await before.users.insert(newUser("@mia:x", "Mia Wallace"));
      expect(await migrate(old)).toContain("0005_user_search");
      const after = createStores(old);
      const find = async (term: string) => (await after.users.list(query({ name: term }))).users.map((u) => u.userId);
      expect(await find("bush")).toEqual(["@kate.bush:x"]);
      expect(await find("leo")).toEqual(["@leo:x"]);
      expect(await find("wallace")).toEqual(["@mia:x"]);
      // A row the migration indexed follows later writes like one inserted after it.
      await after.users.setProfile("@mia:x", { displayname: "Mia Farrow" });
      expect(await find("wallace")).toEqual([]);
      expect(await find("farrow")).toEqual(["@mia:x"]);
    } finally {
      await old.close();
    }
  });

  it("uses the trigram index for terms of 3+ characters and scans for shorter ones", async () => {
    if (kind === "sqlite") {
      await sql`insert into users (name, displayname, creation_ts)
        with recursive n(i) as (select 1 union all select i + 1 from n where i < 5000)
        select '@user' || i || ':example.org', 'Person ' || i, 0 from n`.execute(db.kysely);
    } else {
      await sql`insert into users (name, displayname, creation_ts)
        select '@user' || i || ':example.org', 'Person ' || i, 0 from generate_series(1, 5000) i`.execute(db.kysely);
      await sql`analyze users`.execute(db.kysely);
    }
    await stores.users.insert(newUser("@zebra:x", "Zebra Crossing"));
    const seen: CompiledQuery[] = [];
    const recorder = recordingKysely(testDb, seen);
    try {
      const plan = async (term: string) => {
        seen.length = 0;
        const r = await usersStore(recorder).list(query({ name: term }));
        const plans: string[] = [];
        for (const q of [...seen]) {
          const text =
            kind === "sqlite"
              ? await explainSqlite(testDb.config.args.database, q)
              : await explainPostgres(recorder, q);
          plans.push(text);
        }
        return { total: r.total, plans };
      };
      const zebra = await plan("zebr");
      expect(zebra.total).toBe(1);
      expect(zebra.plans).toHaveLength(2); // the count and the page
      for (const p of zebra.plans) {
        if (kind === "sqlite") expect(p).toMatch(/SCAN user_search VIRTUAL TABLE/);
        else expect(p).toMatch(/Bitmap Index Scan on users_(localpart|displayname)_trgm/);
      }
      // A piece of the server name, in every ID, is no candidate. (On PostgreSQL a table this small gives the planner
      // no reason to prefer one index over another; bench/search.ts shows the plan's effect on a million accounts.)
      const server = await plan("xampl");
      expect(server.total).toBe(0);
      if (kind === "sqlite") for (const p of server.plans) expect(p).toMatch(/SCAN user_search VIRTUAL TABLE/);
      const short = await plan("ze");
      expect(short.total).toBe(1);
      for (const p of short.plans) {
        if (kind === "sqlite") expect(p).not.toMatch(/user_search/);
        // PostgreSQL tests the stored columns alone, never recomputing the localpart from the ID per row.
        else expect(p).not.toMatch(/regexp_replace|lower\(name\)/);
      }
    } finally {
      await recorder.destroy();
    }
  });

  if (kind === "postgres") {
    it("without the right to create pg_trgm, migrates with a warning and searches by scanning", async () => {
      const target = await createTestDatabase(kind, { empty: true });
      const role = `gh_noext_${process.pid}_${Date.now().toString(36)}`;
      const su = new pg.Client({ connectionString: target.url });
      await su.connect();
      try {
        await su.query(`CREATE ROLE ${role} LOGIN`);
        await su.query(`GRANT USAGE, CREATE ON SCHEMA public TO ${role}`);
      } finally {
        await su.end();
      }
      if (target.config.name !== "psycopg2") throw new Error("expected a PostgreSQL database");
      const limited = openDatabase({ name: "psycopg2", args: { ...target.config.args, user: role } });
      const warnings: string[] = [];
      const spy = vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => {
        warnings.push(String(chunk));
        return true;
      });
      try {
        expect(await migrate(limited)).toContain("0005_user_search");
        spy.mockRestore();
        expect(warnings.join("")).toMatch(/could not create the PostgreSQL extension pg_trgm \(permission denied/);
        expect(warnings.join("")).toMatch(/docs\/admin-api\.md/);
        const { rows } = await sql<{ n: number }>`select count(*)::int as n from pg_indexes
          where indexname like '%trgm'`.execute(limited.kysely);
        expect(rows[0]!.n).toBe(0);
        const s = createStores(limited);
        await s.users.insert(newUser("@nina:x", "Nina Simone"));
        expect((await s.users.list(query({ name: "simo" }))).users.map((u) => u.userId)).toEqual(["@nina:x"]);
      } finally {
        spy.mockRestore();
        await limited.close();
      }
    });
  }
});

async function explainSqlite(file: string, q: CompiledQuery): Promise<string> {
  const raw = new SQLite(file, { readonly: true });
  try {
    const rows = raw.prepare(`explain query plan ${q.sql}`).all(...(q.parameters as unknown[])) as { detail: string }[];
    return rows.map((r) => r.detail).join("\n");
  } finally {
    raw.close();
  }
}

async function explainPostgres(k: Kysely<Database>, q: CompiledQuery): Promise<string> {
  // On a table this small a scan is as cheap as the index; what matters is that the index can serve the query.
  await sql`set enable_seqscan = off`.execute(k);
  const r = await k.executeQuery<{ "QUERY PLAN": string }>({ ...q, sql: `explain ${q.sql}` });
  return r.rows.map((row) => row["QUERY PLAN"]).join("\n");
}
