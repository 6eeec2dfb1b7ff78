/**
 * @module Worker threads that hash and verify passwords at a lower scheduling priority than the event loop.
 *
 * libuv's thread pool would keep hashing off the event loop too, but its threads run at the same priority as the
 * event loop, so during a login storm a whoami waits its turn behind them on every core. Each thread here raises its
 * own nice value (Linux lets a thread do that to itself without privileges), so the kernel runs the event loop as
 * soon as it has work and hashing takes every cycle it leaves. Where a thread cannot find its own ID (not Linux), it
 * hashes at normal priority.
 */
import { createRequire } from "node:module";
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";

/** Nice 10 weighs a tenth of nice 0 in Linux's scheduler: enough for the event loop to go first. */
export const HASH_THREAD_NICENESS = 10;

export type HashJob =
  | { op: "argon2.hash"; bytes: Uint8Array; options: { memoryCost: number; timeCost: number; parallelism: number } }
  | { op: "argon2.verify"; bytes: Uint8Array; stored: string }
  | { op: "bcrypt.hash"; bytes: Uint8Array; cost: number }
  | { op: "bcrypt.verify"; bytes: Uint8Array; stored: string };

/** What a job answers: a hash for `*.hash`, a verdict for `*.verify`. */
type JobResult<J extends HashJob> = J["op"] extends `${string}.hash` ? string : boolean;

interface Pending {
  job: HashJob;
  resolve: (value: string | boolean) => void;
  reject: (error: Error) => void;
}

interface Thread {
  worker: Worker;
  /** The kernel's ID for the thread, once it has reported it (null where /proc/thread-self is missing). */
  tid: number | null | undefined;
  /** Jobs posted and not yet answered, in the order the thread runs them. */
  posted: Pending[];
}

/**
 * Jobs posted to a thread at once: the one it runs and the next, so that it starts the next as soon as it finishes
 * instead of idling until a busy event loop reads the answer and posts more (libuv's threads pull from one queue).
 */
const DEPTH = 2;

const require = createRequire(import.meta.url);

// Plain JavaScript run with `eval`, so the same code serves the compiled server and the TypeScript test runner.
// The libraries are loaded by the paths resolved here, which also holds under `eval` (no module of its own).
const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const { readlinkSync } = require("node:fs");
const { setPriority } = require("node:os");
let tid = null;
try {
  tid = Number(readlinkSync("/proc/thread-self").split("/").pop());
  setPriority(tid, workerData.niceness);
} catch {}
const argon2 = require(workerData.argon2);
const bcrypt = require(workerData.bcrypt);
parentPort.postMessage({ tid });
parentPort.on("message", (job) => {
  try {
    let value;
    if (job.op === "argon2.hash") value = argon2.hashSync(job.bytes, job.options);
    else if (job.op === "argon2.verify") value = argon2.verifySync(job.stored, job.bytes);
    else if (job.op === "bcrypt.hash") value = bcrypt.hashSync(job.bytes, { cost: job.cost, version: "2b" });
    else if (job.op === "bcrypt.verify") value = bcrypt.verifySync(job.bytes, job.stored);
    else throw new Error("unknown hashing job " + job.op);
    parentPort.postMessage({ value });
  } catch (e) {
    parentPort.postMessage({ error: e instanceof Error ? e.message : String(e) });
  }
});
`;

export class HashQueueFullError extends Error {
  constructor() {
    super("the password hashing queue is full");
  }
}

export class HashPool {
  private readonly threads: Thread[] = [];
  private readonly queue: Pending[] = [];
  private closed = false;

  constructor(
    private maxThreads = Math.max(1, availableParallelism()),
    private readonly niceness = HASH_THREAD_NICENESS,
  ) {}

  /** The most threads the pool runs at once. */
  get size(): number {
    return this.maxThreads;
  }

  /** Changes the most threads; idle threads beyond it stop now, busy ones when they finish. */
  resize(maxThreads: number): void {
    this.maxThreads = Math.max(1, maxThreads);
    for (const t of this.threads.filter((t) => t.posted.length === 0)) this.retireIfSurplus(t);
    this.dispatch();
  }

  /**
   * Queues `job`. With `maxWaiting`, a job that would find that many others waiting for a thread is refused with
   * `HashQueueFullError` instead: callers serving anonymous requests shed load rather than wait without end.
   */
  run<J extends HashJob>(job: J, options: { maxWaiting?: number } = {}): Promise<JobResult<J>> {
    if (this.closed) return Promise.reject(new Error("the hashing pool is closed"));
    if (options.maxWaiting !== undefined && this.queue.length >= options.maxWaiting) {
      return Promise.reject(new HashQueueFullError());
    }
    return new Promise<string | boolean>((resolve, reject) => {
      this.queue.push({ job, resolve, reject });
      this.dispatch();
    }) as Promise<JobResult<J>>;
  }

  /** Kernel thread IDs of the threads started so far (for the tests that check their priority). */
  threadIds(): (number | null | undefined)[] {
    return this.threads.map((t) => t.tid);
  }

  /** Stops every thread; jobs still queued or running are rejected. */
  async close(): Promise<void> {
    this.closed = true;
    const closing = new Error("the hashing pool is closed");
    for (const p of this.queue.splice(0)) p.reject(closing);
    const threads = this.threads.splice(0);
    for (const t of threads) for (const p of t.posted.splice(0)) p.reject(closing);
    await Promise.all(threads.map((t) => t.worker.terminate()));
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      const thread =
        this.threads.find((t) => t.posted.length === 0) ??
        this.spawn() ??
        this.threads.find((t) => t.posted.length < DEPTH);
      if (!thread) return;
      const next = this.queue.shift()!;
      thread.posted.push(next);
      // Referenced only while busy: an idle pool must not keep a CLI process alive, a busy one must.
      thread.worker.ref();
      thread.worker.postMessage(next.job);
    }
  }

  private spawn(): Thread | undefined {
    if (this.threads.length >= this.maxThreads) return undefined;
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      // Not the process's flags: `--input-type=module` would make the source an ES module, where `require` is gone.
      execArgv: [],
      workerData: {
        niceness: this.niceness,
        argon2: require.resolve("@node-rs/argon2"),
        bcrypt: require.resolve("@node-rs/bcrypt"),
      },
    });
    const thread: Thread = { worker, tid: undefined, posted: [] };
    worker.on("message", (message: { tid?: number | null; value?: string | boolean; error?: string }) => {
      if ("tid" in message) {
        thread.tid = message.tid ?? null;
        return;
      }
      const done = thread.posted.shift();
      if (thread.posted.length === 0) {
        worker.unref();
        this.retireIfSurplus(thread);
      }
      if (message.error !== undefined) done?.reject(new Error(message.error));
      else done?.resolve(message.value!);
      this.dispatch();
    });
    // A thread that dies (out of memory, terminated) fails only the jobs posted to it; the next job starts a new one.
    const lost = (error: Error) => {
      const index = this.threads.indexOf(thread);
      if (index === -1) return;
      this.threads.splice(index, 1);
      for (const p of thread.posted.splice(0)) p.reject(error);
      if (!this.closed) this.dispatch();
    };
    worker.on("error", lost);
    worker.on("exit", (code) => lost(new Error(`a hashing thread stopped (exit code ${code})`)));
    worker.unref();
    this.threads.push(thread);
    return thread;
  }

  private retireIfSurplus(thread: Thread): void {
    if (this.threads.length <= this.maxThreads) return;
    this.threads.splice(this.threads.indexOf(thread), 1);
    void thread.worker.terminate();
  }
}

let shared: HashPool | undefined;

/** The process's one pool, its threads started on first use: every `PasswordHasher` shares them. */
export function sharedHashPool(): HashPool {
  shared ??= new HashPool();
  return shared;
}

/**
 * Threads per process when `password_config.hashing_threads` is not set: the cores shared among the processes
 * (`--workers`), at least one each, so N workers do not start N times one thread per core (19 MiB each for argon2id).
 */
export function hashingThreads(configured: number | null, processes: number): number {
  return configured ?? Math.max(1, Math.ceil(availableParallelism() / Math.max(1, processes)));
}
