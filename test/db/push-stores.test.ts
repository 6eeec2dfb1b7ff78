/**
 * The stores of migration 0020 on SQLite and PostgreSQL: push rules in priority order with before/after, changes
 * to default rules, the notifying events counted per thread, and pushers.
 */
import { afterEach, beforeEach, expect, it } from "vitest";
import type { Db } from "../../src/db/database.js";
import type { Stores } from "../../src/db/stores.js";
import { openAndMigrate } from "../../src/server.js";
import { createTestDatabase, forEachDatabase } from "../helpers/databases.js";

forEachDatabase((kind) => {
  let db: Db;
  let stores: Stores;
  beforeEach(async () => {
    ({ db, stores } = await openAndMigrate({ database: (await createTestDatabase(kind)).config }));
  });
  afterEach(() => db.close());

  const body = { conditions: [], pattern: null, actions: ["notify"] };

  it("push rules: newest first, before/after shift the others, replacing keeps enabled, several users at once", async () => {
    const r = stores.pushRules;
    await r.put("@a:hs", "override", "one", body);
    await r.put("@a:hs", "override", "two", body);
    expect(await r.put("@a:hs", "override", "three", body, { before: "one" })).toBe(true);
    expect(await r.put("@a:hs", "override", "four", body, { after: "two" })).toBe(true);
    expect(await r.put("@a:hs", "override", "five", body, { after: "nope" })).toBe(false);
    expect(await r.put("@a:hs", "underride", "six", body, { after: "one" })).toBe(false);
    const ids = async () => (await r.forUser("@a:hs")).rules.filter((x) => x.kind === "override").map((x) => x.ruleId);
    expect(await ids()).toEqual(["two", "four", "three", "one"]);
    expect(await r.update("@a:hs", "override", "one", { enabled: false })).toBe(true);
    expect(await r.update("@a:hs", "override", "nope", { enabled: false })).toBe(false);
    await r.put("@a:hs", "override", "one", { conditions: null, pattern: "p", actions: [] });
    const one = (await r.forUser("@a:hs")).rules.find((x) => x.ruleId === "one");
    expect(one).toMatchObject({ enabled: false, pattern: "p", actions: [], conditions: null });
    expect(await ids()).toEqual(["one", "two", "four", "three"]);
    expect(await r.delete("@a:hs", "override", "two")).toBe(true);
    expect(await r.delete("@a:hs", "override", "two")).toBe(false);
    await r.changeDefault("@b:hs", ".m.rule.master", { enabled: true });
    await r.changeDefault("@b:hs", ".m.rule.master", { actions: ["dont_notify"] });
    const many = await r.forUsers(["@a:hs", "@b:hs", "@c:hs"]);
    expect([...many.keys()].sort()).toEqual(["@a:hs", "@b:hs"]);
    expect(many.get("@b:hs")?.defaults).toEqual([
      { userId: "@b:hs", ruleId: ".m.rule.master", enabled: true, actions: ["dont_notify"] },
    ]);
  });

  it("event push actions: counts per thread in (after, upTo]", async () => {
    const a = stores.eventPushActions;
    const row = (n: number, threadId: string, highlight: boolean, userId = "@a:hs") =>
      a.insertForEvent({ roomId: "!r:hs", streamOrdering: n, threadId }, [{ userId, highlight }]);
    await row(1, "main", false);
    await row(2, "main", true);
    await row(3, "$t", true);
    await row(4, "$t", false);
    await row(5, "main", true, "@b:hs");
    const byThread = (await a.countsByThread("@a:hs", "!r:hs", 1, 4)).sort((x, y) =>
      x.threadId.localeCompare(y.threadId),
    );
    expect(byThread).toEqual([
      { threadId: "$t", notifications: 2, highlights: 1 },
      { threadId: "main", notifications: 1, highlights: 1 },
    ]);
    expect(await a.countsOfThread("@a:hs", "!r:hs", "$t", 3, 4)).toEqual({
      threadId: "$t",
      notifications: 1,
      highlights: 0,
    });
    expect(await a.countsOfThread("@a:hs", "!r:hs", "$x", 0, 9)).toEqual({
      threadId: "$x",
      notifications: 0,
      highlights: 0,
    });
    expect(await a.latestSentBy("!r:hs", "@a:hs")).toBeNull();
  });

  it("event push actions: one event's rows for a thousand users in one statement, highlights kept apart", async () => {
    const a = stores.eventPushActions;
    const users = Array.from({ length: 1000 }, (_, i) => ({ userId: `@u${i}:hs`, highlight: i % 3 === 0 }));
    await a.insertForEvent({ roomId: "!big:hs", streamOrdering: 7, threadId: "$root" }, users);
    await a.insertForEvent({ roomId: "!big:hs", streamOrdering: 8, threadId: "main" }, []);
    const rows = await a.inRooms(["!big:hs"], 0, 10);
    expect(rows).toHaveLength(1000);
    expect(rows.every((r) => r.roomId === "!big:hs" && r.streamOrdering === 7 && r.threadId === "$root")).toBe(true);
    expect(
      rows
        .filter((r) => r.highlight)
        .map((r) => r.userId)
        .sort(),
    ).toEqual(
      users
        .filter((u) => u.highlight)
        .map((u) => u.userId)
        .sort(),
    );
    expect(await a.countsOfThread("@u3:hs", "!big:hs", "$root", 6, 7)).toEqual({
      threadId: "$root",
      notifications: 1,
      highlights: 1,
    });
  });

  it("pushers: put replaces (keeping device and creation time), delete, delete of other users", async () => {
    const p = stores.pushers;
    const pusher = {
      userId: "@a:hs",
      appId: "app",
      pushkey: "k",
      kind: "http",
      appDisplayName: "App",
      deviceDisplayName: "Phone",
      profileTag: null,
      lang: "en",
      data: { url: "https://x/_matrix/push/v1/notify" },
      deviceId: "D1",
      createdTs: 5,
    };
    await p.put(pusher);
    await p.put({ ...pusher, lang: "fr", deviceId: "D2", createdTs: 9 });
    await p.put({ ...pusher, userId: "@b:hs" });
    expect(await p.forUser("@a:hs")).toEqual([{ ...pusher, lang: "fr" }]);
    await p.deleteOfOthers("@a:hs", "app", "k");
    expect(await p.forUser("@b:hs")).toEqual([]);
    expect(await p.delete("@a:hs", "app", "k")).toBe(true);
    expect(await p.delete("@a:hs", "app", "k")).toBe(false);
  });
});
