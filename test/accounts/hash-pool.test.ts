/**
 * The hashing threads: they answer what @node-rs answers, run below the event loop's priority, survive a thread that
 * dies, hold a process open only while they work, and size themselves from the configuration.
 */
import { hash as argon2Hash } from "@node-rs/argon2";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { availableParallelism, getPriority } from "node:os";
import type { Worker } from "node:worker_threads";
import { afterEach, describe, expect, it } from "vitest";
import { HASH_THREAD_NICENESS, HashPool, hashingThreads } from "../../src/accounts/hash-pool.js";
import { ARGON2_PARAMS } from "../../src/accounts/passwords.js";

const LINUX = process.platform === "linux";
const bytes = (s: string) => new Uint8Array(Buffer.from(s));
const argon2 = (s: string) => ({ op: "argon2.hash", bytes: bytes(s), options: { ...ARGON2_PARAMS } }) as const;

const pools: HashPool[] = [];
function pool(size: number, niceness?: number): HashPool {
  const p = new HashPool(size, niceness);
  pools.push(p);
  return p;
}
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.close()));
});

/** The kernel's nice value of one thread, from /proc (the field after the priority in `stat`). */
function niceOf(tid: number): number {
  const stat = readFileSync(`/proc/self/task/${tid}/stat`, "utf8");
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[16]);
}

describe("HashPool", () => {
  it("answers every job of a queue longer than the pool, each with its own result", async () => {
    const p = pool(2);
    const passwords = Array.from({ length: 7 }, (_, i) => `password ${i}`);
    const hashes = await Promise.all(passwords.map((pw) => p.run(argon2(pw))));
    expect(new Set(hashes).size).toBe(7);
    expect(p.threadIds()).toHaveLength(2);
    const verdicts = await Promise.all(
      hashes.flatMap((stored, i) => [
        p.run({ op: "argon2.verify", bytes: bytes(passwords[i]!), stored }),
        p.run({ op: "argon2.verify", bytes: bytes(`${passwords[i]!}!`), stored }),
      ]),
    );
    expect(verdicts).toEqual(passwords.flatMap(() => [true, false]));
  });

  it("makes hashes the library verifies, and verifies the library's hashes (argon2id and bcrypt)", async () => {
    const p = pool(1);
    const mine = await p.run(argon2("pw"));
    expect(mine).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    const theirs = await argon2Hash("pw", ARGON2_PARAMS);
    expect(await p.run({ op: "argon2.verify", bytes: bytes("pw"), stored: theirs })).toBe(true);
    const bcrypt = await p.run({ op: "bcrypt.hash", bytes: bytes("pw"), cost: 4 });
    expect(bcrypt).toMatch(/^\$2b\$04\$/);
    expect(await p.run({ op: "bcrypt.verify", bytes: bytes("pw"), stored: bcrypt })).toBe(true);
    expect(await p.run({ op: "bcrypt.verify", bytes: bytes("pW"), stored: bcrypt })).toBe(false);
  });

  it("rejects a job the library refuses, and goes on serving", async () => {
    const p = pool(1);
    await expect(p.run({ op: "argon2.verify", bytes: bytes("pw"), stored: "$argon2id$garbage" })).rejects.toThrow();
    expect(await p.run(argon2("after"))).toMatch(/^\$argon2id\$/);
  });

  it.runIf(LINUX)("runs its threads at a lower priority than the event loop, which keeps its own", async () => {
    const p = pool(2);
    await Promise.all([p.run(argon2("a")), p.run(argon2("b"))]);
    const tids = p.threadIds();
    expect(tids).toHaveLength(2);
    for (const tid of tids) {
      expect(typeof tid).toBe("number");
      expect(tid).not.toBe(process.pid);
      // Read from /proc rather than asked through the same call that set it.
      expect(niceOf(tid!)).toBe(HASH_THREAD_NICENESS);
      expect(getPriority(tid!)).toBe(HASH_THREAD_NICENESS);
    }
    expect(niceOf(process.pid)).toBe(0);
  });

  it("keeps the event loop turning while every thread hashes", async () => {
    const p = pool(availableParallelism());
    const gaps: number[] = [];
    let last = performance.now();
    const timer = setInterval(() => {
      const now = performance.now();
      gaps.push(now - last);
      last = now;
    }, 2);
    const started = performance.now();
    try {
      await Promise.all(Array.from({ length: availableParallelism() * 3 }, (_, i) => p.run(argon2(`pw${i}`))));
    } finally {
      clearInterval(timer);
    }
    const elapsed = performance.now() - started;
    // Hashing on the event loop would leave the timer no turn until every hash was done (one tick at most). Expect
    // at least one tick per 10 ms of the time taken, a fifth of the nominal rate, to allow for a noisy machine.
    expect(gaps.length).toBeGreaterThanOrEqual(Math.max(3, Math.floor(elapsed / 10)));
  });

  it("fails only the jobs of a thread that dies, and starts a new thread for the next", async () => {
    const p = pool(1);
    const first = p.run(argon2("doomed"));
    const queued = p.run(argon2("queued behind it"));
    const internals = p as unknown as { threads: { worker: Worker }[] };
    await internals.threads[0]!.worker.terminate();
    await expect(first).rejects.toThrow(/hashing thread stopped/);
    // The second job was posted to the same thread (two per thread), or waited in the queue: either way it is
    // answered, by a rejection or by a new thread, and never left hanging.
    await queued.catch(() => undefined);
    expect(await p.run(argon2("next"))).toMatch(/^\$argon2id\$/);
    expect(p.threadIds()).toHaveLength(1);
  });

  it("resize: idle threads beyond the new size stop; the pool grows again up to a larger one", async () => {
    const p = pool(3);
    await Promise.all([1, 2, 3].map((i) => p.run(argon2(`${i}`))));
    expect(p.threadIds()).toHaveLength(3);
    p.resize(1);
    expect(p.threadIds()).toHaveLength(1);
    expect(p.size).toBe(1);
    p.resize(2);
    await Promise.all([1, 2, 3, 4].map((i) => p.run(argon2(`${i}`))));
    expect(p.threadIds()).toHaveLength(2);
  });

  it("close rejects what is still waiting", async () => {
    const p = pool(1);
    const settled = Promise.allSettled([1, 2, 3, 4].map((i) => p.run(argon2(`${i}`))));
    await p.close();
    // Every job settles: the ones posted to the thread and the ones still queued are all rejected.
    expect((await settled).map((s) => s.status)).toEqual(["rejected", "rejected", "rejected", "rejected"]);
    await expect(p.run(argon2("late"))).rejects.toThrow(/closed/);
  });

  it("holds a process open while it hashes and lets it exit when idle", () => {
    // A script that only starts a hash: it must print the hash (the busy thread kept it alive) and then exit on its
    // own (the idle thread did not), well inside the timeout.
    const script = `
      import { HashPool } from "./src/accounts/hash-pool.ts";
      const pool = new HashPool(2);
      pool.run({ op: "argon2.hash", bytes: new Uint8Array([112, 119]), options: { memoryCost: 19456, timeCost: 2, parallelism: 1 } })
        .then((h) => console.log(h));
    `;
    const started = Date.now();
    const r = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
      encoding: "utf8",
      timeout: 30_000,
    });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^\$argon2id\$/);
    expect(Date.now() - started).toBeLessThan(25_000);
  });
});

describe("hashingThreads", () => {
  it("shares the cores among the processes, at least one each, unless configured", () => {
    const cores = availableParallelism();
    expect(hashingThreads(null, 1)).toBe(cores);
    expect(hashingThreads(null, 2)).toBe(Math.ceil(cores / 2));
    expect(hashingThreads(null, cores * 4)).toBe(1);
    expect(hashingThreads(3, 8)).toBe(3);
  });
});
