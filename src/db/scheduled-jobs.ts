/**
 * @module The `scheduled_jobs` table: when each background job is next due and which process holds it.
 *
 * A run is claimed with one conditional UPDATE ("due, and nobody's lease is current"): on PostgreSQL a second
 * process's UPDATE waits for the first's row lock and then re-checks the condition against the row as the first
 * left it, and SQLite runs one writer at a time, so of any number of processes exactly one gets each period's run.
 */
import type { Kysely, Selectable } from "kysely";
import type { Database } from "./schema.js";

export interface ScheduledJob {
  name: string;
  nextRunAt: number;
  lockedBy: string | null;
  lockedUntil: number | null;
  lastStartedAt: number | null;
  lastFinishedAt: number | null;
  /** `ok: …`, `failed: …` or `stopped: …`; never a secret. */
  lastResult: string | null;
}

export interface ClaimRequest {
  holder: string;
  now: number;
  /** When the job is due again, whatever this run's outcome. */
  nextRunAt: number;
  /** When the holder's lease lapses unless renewed. */
  lockedUntil: number;
}

export interface ScheduledJobsStore {
  /** Adds the job, due at `dueAt`, unless it is already there (several processes may start at once). */
  ensure(name: string, dueAt: number): Promise<void>;
  /** Takes the job's run if it is due at `now` and no lease is current; says whether this caller got it. */
  claim(name: string, req: ClaimRequest): Promise<boolean>;
  /** Extends the holder's lease; false when the holder no longer has it (it lapsed and another took over). */
  renew(name: string, holder: string, lockedUntil: number): Promise<boolean>;
  /** Ends the holder's run: lease released, outcome recorded, and (if given) the next run moved to `nextRunAt`. */
  finish(name: string, holder: string, finishedAt: number, result: string, nextRunAt: number | null): Promise<void>;
  list(): Promise<ScheduledJob[]>;
  /** Makes the job due at `now` if it was due later (work arrived that should not wait for the period). */
  dueNow(name: string, now: number): Promise<void>;
}

function fromRow(row: Selectable<Database["scheduled_jobs"]>): ScheduledJob {
  const n = (v: number | null) => (v === null ? null : Number(v));
  return {
    name: row.name,
    nextRunAt: Number(row.next_run_at),
    lockedBy: row.locked_by,
    lockedUntil: n(row.locked_until),
    lastStartedAt: n(row.last_started_at),
    lastFinishedAt: n(row.last_finished_at),
    lastResult: row.last_result,
  };
}

export function scheduledJobsStore(db: Kysely<Database>): ScheduledJobsStore {
  return {
    async ensure(name, dueAt) {
      await db
        .insertInto("scheduled_jobs")
        .values({ name, next_run_at: dueAt })
        .onConflict((oc) => oc.column("name").doNothing())
        .execute();
    },
    async claim(name, req) {
      const r = await db
        .updateTable("scheduled_jobs")
        .set({
          next_run_at: req.nextRunAt,
          locked_by: req.holder,
          locked_until: req.lockedUntil,
          last_started_at: req.now,
        })
        .where("name", "=", name)
        .where("next_run_at", "<=", req.now)
        .where((eb) => eb.or([eb("locked_until", "is", null), eb("locked_until", "<=", req.now)]))
        .executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },
    async renew(name, holder, lockedUntil) {
      const r = await db
        .updateTable("scheduled_jobs")
        .set({ locked_until: lockedUntil })
        .where("name", "=", name)
        .where("locked_by", "=", holder)
        .executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },
    async finish(name, holder, finishedAt, result, nextRunAt) {
      await db
        .updateTable("scheduled_jobs")
        .set({
          locked_by: null,
          locked_until: null,
          last_finished_at: finishedAt,
          last_result: result,
          ...(nextRunAt === null ? {} : { next_run_at: nextRunAt }),
        })
        .where("name", "=", name)
        .where("locked_by", "=", holder)
        .execute();
    },
    async dueNow(name, now) {
      await db
        .updateTable("scheduled_jobs")
        .set({ next_run_at: now })
        .where("name", "=", name)
        .where("next_run_at", ">", now)
        .execute();
    },
    async list() {
      const rows = await db.selectFrom("scheduled_jobs").selectAll().orderBy("name").execute();
      return rows.map(fromRow);
    },
  };
}
