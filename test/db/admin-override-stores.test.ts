/**
 * The stores of migration 0014 on SQLite and PostgreSQL: the per-user rate-limit override, the per-user experimental
 * features, and a room's event nearest a timestamp.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
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

  it("ratelimit overrides: set replaces, get reads, delete says whether there was one", async () => {
    const o = stores.ratelimitOverrides;
    expect(await o.get("@a:hs")).toBeNull();
    await o.set("@a:hs", { messagesPerSecond: 3, burstCount: 9 });
    await o.set("@a:hs", { messagesPerSecond: 0, burstCount: 0 });
    await o.set("@b:hs", { messagesPerSecond: 2 ** 40, burstCount: 1 });
    expect(await o.get("@a:hs")).toEqual({ messagesPerSecond: 0, burstCount: 0 });
    expect(await o.get("@b:hs")).toEqual({ messagesPerSecond: 2 ** 40, burstCount: 1 });
    expect(await o.delete("@a:hs")).toBe(true);
    expect(await o.delete("@a:hs")).toBe(false);
    expect(await o.get("@a:hs")).toBeNull();
    expect(await o.get("@b:hs")).not.toBeNull();
  });

  it("experimental features: set touches only the features named, per user", async () => {
    const f = stores.experimentalFeatures;
    expect(await f.forUser("@a:hs")).toEqual(new Map());
    await f.set(
      "@a:hs",
      new Map([
        ["msc3881", true],
        ["msc4222", true],
      ]),
    );
    await f.set("@a:hs", new Map([["msc4222", false]]));
    await f.set("@b:hs", new Map([["msc3575", true]]));
    await f.set("@b:hs", new Map());
    expect(await f.forUser("@a:hs")).toEqual(
      new Map([
        ["msc3881", true],
        ["msc4222", false],
      ]),
    );
    expect(await f.forUser("@b:hs")).toEqual(new Map([["msc3575", true]]));
  });

  describe("events.closestToTimestamp", () => {
    const event = (n: number, roomId: string, ts: number) => ({
      streamOrdering: n,
      eventId: `$e${n}`,
      roomId,
      type: "m.room.message",
      stateKey: null,
      sender: "@a:hs",
      originServerTs: ts,
      depth: n,
      pdu: { n },
      relatesTo: null,
      relType: null,
    });

    it("finds the first at or after (f), the last at or before (b), ties by stream order, one room only", async () => {
      for (const [n, roomId, ts] of [
        [1, "!r:hs", 100],
        [2, "!r:hs", 200],
        [3, "!r:hs", 200],
        [4, "!other:hs", 250],
        [5, "!r:hs", 300],
      ] as const) {
        await stores.events.insert(event(n, roomId, ts));
      }
      const at = async (ts: number, dir: "b" | "f") =>
        (await stores.events.closestToTimestamp("!r:hs", ts, dir))?.eventId ?? null;
      expect(await at(0, "f")).toBe("$e1");
      expect(await at(150, "f")).toBe("$e2");
      expect(await at(200, "f")).toBe("$e2");
      expect(await at(200, "b")).toBe("$e3");
      expect(await at(250, "f")).toBe("$e5");
      expect(await at(250, "b")).toBe("$e3");
      expect(await at(301, "f")).toBeNull();
      expect(await at(99, "b")).toBeNull();
      expect(await at(1000, "b")).toBe("$e5");
    });
  });
});
