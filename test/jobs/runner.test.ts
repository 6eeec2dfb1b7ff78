/**
 * The job runner on SQLite and PostgreSQL, with an injected clock: several runners on one database (each on its own
 * connection, as separate processes are) run a job once per period between them; a lease held by a runner that
 * died is taken over once it lapses; a failing job is logged without its data, retried next period, and does not
 * stop the others; `stop()` waits for a running job, which ends at its next batch.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openDatabase, type Db } from "../../src/db/database.js";
import { scheduledJobsStore, type ScheduledJobsStore } from "../../src/db/scheduled-jobs.js";
import { DEFAULT_LEASE_MS, JobRunner, inBatches, type Job } from "../../src/jobs/runner.js";
import { openAndMigrate } from "../../src/server.js";
import { createTestDatabase, forEachDatabase, type TestDatabase } from "../helpers/databases.js";

const T0 = 1_750_000_000_000;
const INTERVAL = 60_000;

/** A promise and the function that resolves it. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

forEachDatabase((kind) => {
  let testDb: TestDatabase;
  let dbs: Db[];
  let clock: number;
  let logs: string[];

  beforeEach(async () => {
    testDb = await createTestDatabase(kind);
    dbs = [(await openAndMigrate({ database: testDb.config })).db];
    clock = T0;
    logs = [];
  });
  afterEach(async () => {
    for (const db of dbs) await db.close();
  });

  /** A runner on a connection of its own, as another process would have. */
  function runner(jobs: Job[], db?: Db): JobRunner {
    if (!db) {
      db = openDatabase(testDb.config);
      dbs.push(db);
    }
    return new JobRunner(jobs, { store: scheduledJobsStore(db.kysely), now: () => clock, log: (m) => logs.push(m) });
  }

  function store(): ScheduledJobsStore {
    return scheduledJobsStore(dbs[0]!.kysely);
  }

  describe("the claim (one UPDATE)", () => {
    const req = (holder: string, now: number) => ({
      holder,
      now,
      nextRunAt: now + INTERVAL,
      lockedUntil: now + DEFAULT_LEASE_MS,
    });

    it("succeeds once per due time: not while a lease is current, not again before the next run is due", async () => {
      const s = store();
      await s.ensure("j", T0);
      await s.ensure("j", T0 + 999); // A second process registering it changes nothing.
      expect(await s.claim("j", req("a", T0 - 1))).toBe(false);
      expect(await s.claim("j", req("a", T0))).toBe(true);
      // Due again only at T0 + INTERVAL, and even then not while a's lease holds.
      expect(await s.claim("j", req("b", T0))).toBe(false);
      expect(await s.claim("j", req("b", T0 + INTERVAL))).toBe(false);
      expect(await s.renew("j", "b", T0 + 1)).toBe(false);
      await s.finish("j", "a", T0 + 5, "ok: done", null);
      expect(await s.claim("j", req("b", T0 + 5))).toBe(false);
      expect(await s.claim("j", req("b", T0 + INTERVAL))).toBe(true);
      expect((await s.list())[0]).toMatchObject({ name: "j", lockedBy: "b", lastResult: "ok: done" });
    });

    it("of many processes claiming at once, exactly one gets it", async () => {
      await store().ensure("race", T0);
      const stores = Array.from({ length: 6 }, () => {
        const db = openDatabase(testDb.config);
        dbs.push(db);
        return scheduledJobsStore(db.kysely);
      });
      const wins = await Promise.all(stores.map((s, i) => s.claim("race", req(`p${i}`, T0))));
      expect(wins.filter(Boolean)).toHaveLength(1);
    });
  });

  describe("several processes on one database", () => {
    it("run each job once per period between them, however often they look", async () => {
      let runs = 0;
      const job: Job = {
        name: "count",
        intervalMs: INTERVAL,
        run: async () => {
          runs++;
          // Long enough for the other runners' claims to arrive while this run holds the job.
          await new Promise((resolve) => setTimeout(resolve, 20));
          return "counted";
        },
      };
      const runners = [runner([job]), runner([job]), runner([job]), runner([job])];
      const passes = async () => (await Promise.all(runners.map((r) => r.runDue()))).flat();

      expect(await passes()).toEqual(["count"]);
      expect(runs).toBe(1);
      for (let i = 0; i < 5; i++) expect(await passes()).toEqual([]);
      clock += INTERVAL - 1;
      expect(await passes()).toEqual([]);
      clock += 1;
      expect(await passes()).toEqual(["count"]);
      expect(runs).toBe(2);
      // Each period exactly once, whoever gets it.
      for (let period = 0; period < 5; period++) {
        clock += INTERVAL;
        expect(await passes()).toHaveLength(1);
      }
      expect(runs).toBe(7);
    });

    it("a job still running when its next period comes is not started again elsewhere", async () => {
      const held = gate();
      const started = gate();
      let runs = 0;
      const job: Job = {
        name: "slow",
        intervalMs: INTERVAL,
        run: async () => {
          runs++;
          started.open();
          await held.promise;
          return "done";
        },
      };
      const a = runner([job]);
      const b = runner([job]);
      const first = a.runDue();
      await started.promise;
      clock += 2 * INTERVAL;
      expect(await b.runDue()).toEqual([]);
      held.open();
      expect(await first).toEqual(["slow"]);
      // Released, and its next period has passed: the other process takes it now.
      expect(await b.runDue()).toEqual(["slow"]);
      expect(runs).toBe(2);
    });

    it("a lease left by a process that died is taken over once it lapses", async () => {
      let runs = 0;
      const job: Job = { name: "orphan", intervalMs: INTERVAL, run: async () => `run ${++runs}` };
      await store().ensure("orphan", clock);
      // The dead process claimed the run and never finished it.
      const dead = { holder: "dead", now: clock, nextRunAt: clock + INTERVAL, lockedUntil: clock + DEFAULT_LEASE_MS };
      expect(await store().claim("orphan", dead)).toBe(true);
      const alive = runner([job]);
      clock += DEFAULT_LEASE_MS - 1;
      expect(await alive.runDue()).toEqual([]);
      clock += 1;
      expect(await alive.runDue()).toEqual(["orphan"]);
      const [row] = await store().list();
      expect(row).toMatchObject({ lockedBy: null, lockedUntil: null, lastResult: "ok: run 1" });
      // The dead holder's late finish changes nothing.
      await store().finish("orphan", "dead", clock, "ok: stale", clock);
      expect((await store().list())[0]).toMatchObject({ lastResult: "ok: run 1", nextRunAt: clock + INTERVAL });
    });
  });

  describe("failures", () => {
    it("a failing job is logged without its data and retried next period; the others still run", async () => {
      let attempts = 0;
      let others = 0;
      const failing: Job = {
        name: "failing",
        intervalMs: INTERVAL,
        run: () => {
          attempts++;
          // What a pg error looks like: the row values are in `detail`, which must not be logged.
          const err = Object.assign(new Error("duplicate key value violates unique constraint"), {
            code: "23505",
            detail: "Key (token)=(s3cret-value) already exists.",
          });
          return Promise.reject(err);
        },
      };
      const other: Job = { name: "other", intervalMs: INTERVAL, run: async () => `ran ${++others}` };
      const r = runner([failing, other]);

      expect(await r.runDue()).toEqual(["failing", "other"]);
      expect([attempts, others]).toEqual([1, 1]);
      expect(logs).toEqual([
        "background job failing failed, retried in 60000 ms: Error 23505: duplicate key value violates unique constraint",
      ]);
      expect(logs.join("\n")).not.toContain("s3cret");
      const rows = await store().list();
      expect(rows.find((x) => x.name === "failing")).toMatchObject({
        lastResult: "failed: Error 23505: duplicate key value violates unique constraint",
        lockedBy: null,
        nextRunAt: T0 + INTERVAL,
      });
      // Not retried in a loop: only next period.
      expect(await r.runDue()).toEqual([]);
      clock += INTERVAL;
      expect(await r.runDue()).toEqual(["failing", "other"]);
      expect([attempts, others]).toEqual([2, 2]);
    });
  });

  describe("batches and stopping", () => {
    it("a backlog is worked through in batches, renewing the lease between them", async () => {
      let left = 2_500;
      const leases: (number | null)[] = [];
      const s = store();
      const job: Job = {
        name: "backlog",
        intervalMs: INTERVAL,
        run: (r) =>
          inBatches(r, async (limit) => {
            leases.push((await s.list())[0]!.lockedUntil);
            clock += 1_000;
            const n = Math.min(limit, left);
            left -= n;
            return n;
          }),
      };
      expect(await runner([job]).runDue()).toEqual(["backlog"]);
      expect(left).toBe(0);
      // Three batches of at most 1,000; the lease was pushed forward before the second and third.
      expect(leases).toEqual([T0 + DEFAULT_LEASE_MS, T0 + 1_000 + DEFAULT_LEASE_MS, T0 + 2_000 + DEFAULT_LEASE_MS]);
      expect((await s.list())[0]).toMatchObject({ lastResult: "ok: deleted 2500" });
    });

    it("stop() waits for the running job, which ends at its next batch and leaves the rest due", async () => {
      const started = gate();
      const held = gate();
      let batches = 0;
      const job: Job = {
        name: "endless",
        intervalMs: INTERVAL,
        run: (r) =>
          inBatches(r, async (limit) => {
            batches++;
            started.open();
            await held.promise;
            return limit;
          }),
      };
      const r = runner([job]);
      // The real timer: the first look is at once.
      r.start();
      await started.promise;
      let stopped = false;
      const stopping = r.stop().then(() => (stopped = true));
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(stopped).toBe(false);
      held.open();
      await stopping;
      expect(batches).toBe(1);
      expect((await store().list())[0]).toMatchObject({
        lastResult: "stopped: deleted 1000",
        lockedBy: null,
        nextRunAt: T0,
      });
      // Stopped for good: no timer is left to start another pass.
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(batches).toBe(1);
      expect(logs).toEqual([]);
    });
  });
});
