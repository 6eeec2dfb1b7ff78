/**
 * @module The `ratelimit_buckets` table: Synapse's leaky buckets, shared by every process on the database.
 *
 * A counted check is one `INSERT … ON CONFLICT DO UPDATE … RETURNING`: the leak, the decision and the new count are
 * computed by the database under the row's lock, so two processes checking the same bucket at once are serialised
 * and neither update is lost. Time is the database's clock unless the caller passes one (tests), so hosts whose
 * clocks disagree still agree on every bucket.
 */
import { sql, type RawBuilder } from "kysely";
import type { Db } from "./database.js";

export interface BucketRule {
  /** Actions leaked per second. */
  perSecond: number;
  /** How many actions the bucket holds. */
  burst: number;
}

export interface BucketState {
  allowed: boolean;
  /** After this check: the bucket's count (reset to 0 if it had leaked empty) and when it started, in ms. */
  actions: number;
  startMs: number;
  /** The time the check was made at, ms. */
  nowMs: number;
}

export interface RateLimitBucketsStore {
  /** Counts `n` actions if they fit (or, with `update` false, only says whether they would). */
  take(name: string, key: string, rule: BucketRule, n: number, update: boolean, nowMs?: number): Promise<BucketState>;
  /** Deletes buckets that have leaked empty (at most `limit`, when given): they hold nothing a missing row does not. */
  purgeExpired(nowMs?: number, limit?: number): Promise<number>;
}

/** A bucket that never leaks (per_second 0) is forgotten a day after its last action. */
const NEVER_LEAKS_KEEP_MS = 86_400_000;

function dbNow(db: Db, nowMs: number | undefined): RawBuilder<number> {
  if (nowMs !== undefined) return sql<number>`cast(${nowMs} as double precision)`;
  return db.dialect === "postgres"
    ? sql<number>`(extract(epoch from statement_timestamp()) * 1000)::double precision`
    : sql<number>`((julianday('now') - 2440587.5) * 86400000.0)`;
}

interface Row {
  actions: number;
  start_ms: number;
  last_allowed: number;
  now_ms: number;
}

export function rateLimitBucketsStore(db: Db): RateLimitBucketsStore {
  return {
    async take(name, key, rule, n, update, nowMs) {
      const now = dbNow(db, nowMs);
      const rate = sql`cast(${rule.perSecond} as double precision)`;
      const burst = sql`cast(${rule.burst} as double precision)`;
      const count = sql`cast(${n} as double precision)`;
      // Synapse's rule: what is still in the bucket after the leak; below zero the bucket restarts empty, now.
      const left = sql`(b.actions - (${now} - b.start_ms) * ${rate} / 1000.0)`;
      const emptied = sql`(${left} < 0)`;
      // Written as "left > burst - n" (not "left + n > burst") as Synapse does, so float rounding decides alike.
      const fits = sql`(case when ${emptied} then 0.0 else ${left} end <= ${burst} - ${count})`;
      const actions = sql`(case when ${emptied} then 0.0 else b.actions end + case when ${fits} then ${count} else 0.0 end)`;
      const start = sql`case when ${emptied} then ${now} else b.start_ms end`;
      const expires = (a: RawBuilder<unknown>, s: RawBuilder<unknown>) =>
        rule.perSecond > 0
          ? sql`(${s} + ${a} * 1000.0 / ${rate})`
          : sql`(${now} + cast(${NEVER_LEAKS_KEEP_MS} as double precision))`;

      if (!update) {
        const { rows } = await sql<Row>`
          select ${actions} as actions, ${start} as start_ms, case when ${fits} then 1 else 0 end as last_allowed,
            ${now} as now_ms
          from (
            select coalesce(r.actions, 0.0) as actions, coalesce(r.start_ms, ${now}) as start_ms
            from (select 1 as one) o left join ratelimit_buckets r on r.name = ${name} and r.key = ${key}
          ) b`.execute(db.kysely);
        return state(rows[0]!);
      }
      // The inserted row is the "no bucket yet" case: empty, starting now.
      const fresh = n <= rule.burst;
      const { rows } = await sql<Row>`
        insert into ratelimit_buckets as b (name, key, actions, start_ms, last_allowed, expires_ms)
        values (${name}, ${key}, ${fresh ? n : 0}, ${now}, ${fresh ? 1 : 0},
          ${expires(sql`cast(${fresh ? n : 0} as double precision)`, now)})
        on conflict (name, key) do update set
          actions = ${actions}, start_ms = ${start}, last_allowed = case when ${fits} then 1 else 0 end,
          expires_ms = ${expires(actions, start)}
        returning actions, start_ms, last_allowed, ${now} as now_ms`.execute(db.kysely);
      return state(rows[0]!);
    },
    async purgeExpired(nowMs, limit) {
      const now = dbNow(db, nowMs);
      const q = db.kysely.deleteFrom("ratelimit_buckets");
      const r = await (
        limit === undefined
          ? q.where("expires_ms", "<", now)
          : q.where((eb) =>
              eb(
                eb.refTuple("name", "key"),
                "in",
                eb
                  .selectFrom("ratelimit_buckets")
                  .select(["name", "key"])
                  .where("expires_ms", "<", now)
                  .limit(limit)
                  .$asTuple("name", "key"),
              ),
            )
      ).executeTakeFirst();
      return Number(r.numDeletedRows);
    },
  };
}

function state(r: Row): BucketState {
  return {
    allowed: Number(r.last_allowed) === 1,
    actions: Number(r.actions),
    startMs: Number(r.start_ms),
    nowMs: Number(r.now_ms),
  };
}
