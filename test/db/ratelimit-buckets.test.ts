/**
 * Synapse's leaky bucket (synapse-accounts.md §3.10) as the database computes it (migration 0007), on SQLite and
 * PostgreSQL: the algorithm on an injected clock through `RateLimiter`, concurrent checks losing no update, the
 * database's own clock, and the purge of buckets that have leaked empty.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { RateLimiter } from "../../src/accounts/ratelimit.js";
import type { Db } from "../../src/db/database.js";
import { rateLimitBucketsStore, type RateLimitBucketsStore } from "../../src/db/ratelimit-buckets.js";
import { MatrixError } from "../../src/errors.js";
import { openAndMigrate } from "../../src/server.js";
import { createTestDatabase, forEachDatabase } from "../helpers/databases.js";

/** Runs `fn` and returns the `retry_after_ms` of the 429 it throws, or null when it passes. */
async function retryAfter(fn: () => Promise<void>): Promise<number | null> {
  try {
    await fn();
    return null;
  } catch (err) {
    expect(err).toBeInstanceOf(MatrixError);
    const e = err as MatrixError;
    expect([e.status, e.errcode, e.message]).toEqual([429, "M_LIMIT_EXCEEDED", "Too Many Requests"]);
    return e.extra.retry_after_ms as number;
  }
}

async function bucketCount(db: Db): Promise<number> {
  const r = await db.kysely
    .selectFrom("ratelimit_buckets")
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .executeTakeFirstOrThrow();
  return r.n;
}

forEachDatabase((kind) => {
  let db: Db;
  let buckets: RateLimitBucketsStore;
  beforeEach(async () => {
    ({ db } = await openAndMigrate({ database: (await createTestDatabase(kind)).config }));
    buckets = rateLimitBucketsStore(db);
  });
  afterEach(() => db.close());

  describe("the leaky bucket (injected clock)", () => {
    it("allows burst_count at once, then leaks per_second", async () => {
      let now = 1_000_000;
      const limiter = new RateLimiter(buckets, () => now);
      const rule = { per_second: 0.5, burst_count: 3 };
      const check = () => limiter.check("test", "key", rule);

      for (let i = 0; i < 3; i++) expect(await retryAfter(check)).toBeNull();
      // Full: the next action is allowed once one has leaked away, 1 / 0.5 = 2 s after the bucket started.
      expect(await retryAfter(check)).toBe(2000);
      now += 1000;
      expect(await retryAfter(check)).toBe(1000);
      now += 999;
      expect(await retryAfter(check)).toBe(1);
      now += 1;
      // One action has leaked out: exactly one more fits.
      expect(await retryAfter(check)).toBeNull();
      expect(await retryAfter(check)).toBe(2000);
      // Long enough for the bucket to drain entirely: the whole burst is back, and no more.
      now += 60_000;
      for (let i = 0; i < 3; i++) expect(await retryAfter(check)).toBeNull();
      expect(await retryAfter(check)).toBe(2000);
    });

    it("refusals are not counted, and update: false only asks", async () => {
      let now = 0;
      const limiter = new RateLimiter(buckets, () => now);
      const rule = { per_second: 1, burst_count: 2 };
      const ask = () => limiter.check("a", "k", rule, { update: false });
      for (let i = 0; i < 10; i++) expect(await retryAfter(ask)).toBeNull();
      // Asking wrote nothing.
      expect(await bucketCount(db)).toBe(0);
      await limiter.check("a", "k", rule);
      await limiter.check("a", "k", rule);
      for (let i = 0; i < 5; i++) expect(await retryAfter(() => limiter.check("a", "k", rule))).toBe(1000);
      expect(await retryAfter(ask)).toBe(1000);
      now += 1000;
      // The five refusals did not fill the bucket further.
      expect(await retryAfter(() => limiter.check("a", "k", rule))).toBeNull();
    });

    it("keys and limiter names have separate buckets", async () => {
      const limiter = new RateLimiter(buckets, () => 0);
      const rule = { per_second: 0.1, burst_count: 1 };
      await limiter.check("login", "@a:hs", rule);
      expect(await retryAfter(() => limiter.check("login", "@a:hs", rule))).toBe(10_000);
      expect(await retryAfter(() => limiter.check("login", "@b:hs", rule))).toBeNull();
      expect(await retryAfter(() => limiter.check("register", "@a:hs", rule))).toBeNull();
    });

    it("counts several actions at once", async () => {
      let now = 0;
      const limiter = new RateLimiter(buckets, () => now);
      const rule = { per_second: 2, burst_count: 4 };
      await limiter.check("n", "k", rule, { actions: 3 });
      expect(await retryAfter(() => limiter.check("n", "k", rule, { actions: 2 }))).not.toBeNull();
      expect(await retryAfter(() => limiter.check("n", "k", rule, { actions: 1 }))).toBeNull();
      now += 1000;
      // Two leaked out (2 per second): two more fit.
      expect(await retryAfter(() => limiter.check("n", "k", rule, { actions: 2 }))).toBeNull();
    });

    it("a rule that never leaks (per_second 0) refuses for an hour", async () => {
      const limiter = new RateLimiter(buckets, () => 5000);
      const rule = { per_second: 0, burst_count: 1 };
      await limiter.check("z", "k", rule);
      expect(await retryAfter(() => limiter.check("z", "k", rule))).toBe(3_600_000);
    });
  });

  it("concurrent checks of one bucket lose no update: exactly burst_count pass", async () => {
    const limiter = new RateLimiter(buckets);
    // Nothing leaks in the test's time: 1 per 1,000 s.
    const rule = { per_second: 0.001, burst_count: 7 };
    const results = await Promise.all(
      Array.from({ length: 40 }, () => retryAfter(() => limiter.check("race", "k", rule))),
    );
    expect(results.filter((r) => r === null)).toHaveLength(7);
    for (const r of results.filter((r) => r !== null)) {
      expect(r).toBeGreaterThan(990_000);
      expect(r).toBeLessThanOrEqual(1_000_000);
    }
  });

  it("without an injected clock, the database's clock decides (milliseconds since the epoch)", async () => {
    const before = Date.now();
    const state = await buckets.take("clock", "k", { perSecond: 1, burst: 1 }, 1, true);
    const after = Date.now();
    expect(state.allowed).toBe(true);
    // Same host: the database's clock and this process's agree to well within a second.
    expect(state.nowMs).toBeGreaterThan(before - 1000);
    expect(state.nowMs).toBeLessThan(after + 1000);
    expect(state.startMs).toBe(state.nowMs);
    const again = await buckets.take("clock", "k", { perSecond: 1, burst: 1 }, 1, true);
    expect(again.allowed).toBe(false);
    expect(again.startMs).toBe(state.startMs);
  });

  it("buckets that have leaked empty are purged, live ones kept", async () => {
    await buckets.take("p", "short", { perSecond: 1, burst: 5 }, 2, true, 10_000); // empty at 12,000
    await buckets.take("p", "long", { perSecond: 0.001, burst: 5 }, 1, true, 10_000); // empty at 1,010,000
    await buckets.take("p", "never", { perSecond: 0, burst: 5 }, 1, true, 10_000); // kept a day
    expect(await buckets.purgeExpired(11_999)).toBe(0);
    expect(await buckets.purgeExpired(12_001)).toBe(1);
    expect(await bucketCount(db)).toBe(2);
    expect(await buckets.purgeExpired(1_010_001)).toBe(1);
    expect(await buckets.purgeExpired(10_000 + 86_400_001)).toBe(1);
    expect(await bucketCount(db)).toBe(0);
  });

  it("the limiter's purge (the background job's) goes by the limiter's clock, at most `limit` buckets at once", async () => {
    let now = 60_000;
    const limiter = new RateLimiter(buckets, () => now);
    const rule = { per_second: 1, burst_count: 5 };
    await limiter.check("auto", "a", rule);
    now += 10_000;
    await limiter.check("auto", "b", rule);
    // Checks no longer purge: "a" leaked empty 9 s ago and is still there.
    expect(await bucketCount(db)).toBe(2);
    now += 60_000;
    await limiter.check("auto", "c", rule);
    expect(await limiter.purge(1)).toBe(1);
    expect(await bucketCount(db)).toBe(2);
    // "a" and "b" are gone, "c" (counted just now) stays.
    expect(await limiter.purge(10)).toBe(1);
    expect(await bucketCount(db)).toBe(1);
    expect(await limiter.purge(10)).toBe(0);
  });
});
