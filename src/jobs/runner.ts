/**
 * @module Periodic background work, run by exactly one of the processes sharing a database each period.
 *
 * Every process runs a `JobRunner` over the same named jobs. Each job has a row in `scheduled_jobs`
 * (src/db/scheduled-jobs.ts); a run begins with one conditional UPDATE that claims the row if it is due and nobody
 * holds it, so of several processes exactly one runs each period's work, on SQLite or PostgreSQL alike. The claim
 * also sets the next due time, so a job that fails is retried the next period, not in a tight loop. The holder's
 * lease is renewed between batches; a process that dies mid-run is replaced once its lease has lapsed.
 *
 * Jobs work in batches (`inBatches`): each batch is one short statement or transaction, the event loop gets a turn
 * between batches, and `stop()` ends a long backlog at the next batch boundary, leaving the rest due.
 */
import { randomBytes } from "node:crypto";
import type { ScheduledJobsStore } from "../db/scheduled-jobs.js";

export interface Job {
  /** The row's key in `scheduled_jobs`: stable across versions. */
  name: string;
  intervalMs: number;
  /** One period's work; returns a short summary for `last_result` (counts, never data). */
  run(run: JobRun): Promise<string>;
}

export interface JobRun {
  /**
   * Called between batches: gives the event loop a turn and renews the lease. False when the work should stop
   * here (the runner is stopping, or the lease was lost to another process); what is left is due again at once.
   */
  proceed(): Promise<boolean>;
}

export interface JobRunnerOptions {
  store: ScheduledJobsStore;
  /** Milliseconds since the epoch; the accounts context's clock, so tests move time without waiting. */
  now: () => number;
  /** Where failures are reported: the job's name and the error's message, never its data. */
  log: (message: string) => void;
  /** How long a claim holds without renewal; longer than any one batch. */
  leaseMs?: number;
  /** The longest the runner sleeps between looks at the table (a job added by another process is seen by then). */
  maxSleepMs?: number;
}

export const DEFAULT_LEASE_MS = 5 * 60_000;
const DEFAULT_MAX_SLEEP_MS = 60_000;
const MIN_SLEEP_MS = 1_000;

/** The rows one statement of a purge deletes at most, so no statement or transaction runs long. */
export const PURGE_BATCH_SIZE = 1_000;

/**
 * Runs `batch` (which deletes up to `size` rows and says how many) until a batch comes back short or the run must
 * stop; returns the summary for the job's `last_result`.
 */
export async function inBatches(
  run: JobRun,
  batch: (limit: number) => Promise<number>,
  size = PURGE_BATCH_SIZE,
): Promise<string> {
  let total = 0;
  for (;;) {
    const n = await batch(size);
    total += n;
    if (n < size || !(await run.proceed())) return `deleted ${total}`;
  }
}

/** An error as one line without its data: pg's `detail` (which can quote row values) is left out. */
export function describeError(err: unknown): string {
  if (!(err instanceof Error)) return "a non-Error value was thrown";
  const code = (err as { code?: unknown }).code;
  const text = `${err.name}${typeof code === "string" ? ` ${code}` : ""}: ${err.message}`;
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}

export class JobRunner {
  /** This runner's name in `locked_by`. */
  readonly holder = randomBytes(8).toString("hex");
  private readonly leaseMs: number;
  private readonly maxSleepMs: number;
  private timer: NodeJS.Timeout | null = null;
  private ticking: Promise<void> | null = null;
  private pass: Promise<string[]> | null = null;
  private registered = false;
  private stopping = false;

  constructor(
    private readonly jobs: readonly Job[],
    private readonly options: JobRunnerOptions,
  ) {
    this.leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
    this.maxSleepMs = options.maxSleepMs ?? DEFAULT_MAX_SLEEP_MS;
  }

  /** Looks for due jobs now, then again whenever the next is due (at most `maxSleepMs` apart). */
  start(): void {
    this.sleep(0);
  }

  /**
   * Runs every due job this process can claim, one after another; returns the names it ran. A job that throws is
   * logged and recorded, and the others still run. If a pass is already under way, returns that pass.
   */
  runDue(): Promise<string[]> {
    this.pass ??= this.runPass().finally(() => {
      this.pass = null;
    });
    return this.pass;
  }

  /**
   * Work for `name` has arrived (another process may run it): the job is made due now and a pass is run once the
   * current one, if any, is over. A job run elsewhere or already running simply picks the work up.
   */
  async wake(name: string): Promise<void> {
    if (this.stopping) return;
    await this.options.store.dueNow(name, this.options.now());
    await this.pass?.catch(() => {});
    // A stop may have begun while this waited.
    if (!(this.stopping as boolean)) await this.runDue();
  }

  /** No new runs; waits for a running job, which stops at its next batch boundary. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.ticking;
    await this.pass?.catch(() => {});
  }

  private sleep(ms: number): void {
    if (this.stopping) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.ticking = this.tick().finally(() => {
        this.ticking = null;
      });
    }, ms);
    // Background work never keeps a process alive that has nothing else to do.
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    let wait = this.maxSleepMs;
    try {
      await this.runDue();
      if (this.stopping) return;
      wait = await this.untilNextDue();
    } catch (err) {
      // The table itself could not be read or written (the database is down): look again later.
      this.options.log(`background jobs: ${describeError(err)}`);
    }
    this.sleep(wait);
  }

  private async untilNextDue(): Promise<number> {
    const names = new Set(this.jobs.map((j) => j.name));
    const now = this.options.now();
    let next = now + this.maxSleepMs;
    for (const row of await this.options.store.list()) {
      if (names.has(row.name)) next = Math.min(next, Math.max(row.nextRunAt, row.lockedUntil ?? 0));
    }
    return Math.min(this.maxSleepMs, Math.max(MIN_SLEEP_MS, next - now));
  }

  private async runPass(): Promise<string[]> {
    const { store, now } = this.options;
    if (!this.registered) {
      for (const job of this.jobs) await store.ensure(job.name, now());
      this.registered = true;
    }
    const rows = new Map((await store.list()).map((r) => [r.name, r]));
    const ran: string[] = [];
    for (const job of this.jobs) {
      if (this.stopping) break;
      const row = rows.get(job.name);
      const t = now();
      // Read first so an idle pass writes nothing; the claim re-checks, and only it decides.
      if (!row || row.nextRunAt > t || (row.lockedUntil !== null && row.lockedUntil > t)) continue;
      if (await this.runOne(job)) ran.push(job.name);
    }
    return ran;
  }

  private async runOne(job: Job): Promise<boolean> {
    const { store, now, log } = this.options;
    const startedAt = now();
    const claimed = await store.claim(job.name, {
      holder: this.holder,
      now: startedAt,
      nextRunAt: startedAt + job.intervalMs,
      lockedUntil: startedAt + this.leaseMs,
    });
    if (!claimed) return false;
    // Set when the work stopped short (the runner is stopping, or the lease is lost or cannot be renewed).
    const ended = { early: false };
    const run: JobRun = {
      proceed: async () => {
        await new Promise((resolve) => setImmediate(resolve));
        ended.early ||=
          this.stopping || !(await store.renew(job.name, this.holder, now() + this.leaseMs).catch(() => false));
        return !ended.early;
      },
    };
    let result: string;
    try {
      const summary = await job.run(run);
      result = ended.early ? `stopped: ${summary}` : `ok: ${summary}`;
    } catch (err) {
      result = `failed: ${describeError(err)}`;
      log(`background job ${job.name} failed, retried in ${job.intervalMs} ms: ${describeError(err)}`);
    }
    try {
      // Work left by a stop is due at once, for whichever process looks next.
      await store.finish(job.name, this.holder, now(), result, ended.early ? now() : null);
    } catch (err) {
      // The lease lapses by itself; the next period runs as planned.
      log(`background job ${job.name}: its outcome could not be recorded: ${describeError(err)}`);
    }
    return true;
  }
}
