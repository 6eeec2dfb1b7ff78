/**
 * @module The `admin_audit` table: one row per admin write, newest first by its counter-issued ID.
 */
import { sql, type Kysely } from "kysely";
import { countersStore } from "./counters.js";
import type { Database } from "./schema.js";

export interface AuditEntry {
  id: number;
  /** Milliseconds. */
  ts: number;
  actor: string;
  action: string;
  target: string | null;
  ip: string | null;
  /** The admin who made the `login-as` token the change came through (`actor` is then the impersonated user). */
  impersonator: string | null;
  before: Record<string, unknown>;
  after: Record<string, unknown>;
}

export type NewAuditEntry = Omit<AuditEntry, "id" | "impersonator"> & { impersonator?: string | null };

export interface AuditQuery {
  actor: string | null;
  target: string | null;
  action: string | null;
  /** Inclusive bounds, milliseconds. */
  fromTs: number | null;
  toTs: number | null;
  /** Only entries older than this ID (the previous page's `next_token`); null starts at the newest. */
  beforeId: number | null;
  limit: number;
}

export interface AdminAuditStore {
  /** Must run in the transaction of the change it records. */
  insert(entry: NewAuditEntry): Promise<number>;
  /** `insert` for many entries in one statement, their IDs reserved from the counter in one step, in order. */
  insertMany(entries: NewAuditEntry[]): Promise<void>;
  /** Newest first; `total` counts every entry the filters match, on all pages. */
  list(query: AuditQuery): Promise<{ entries: AuditEntry[]; total: number }>;
}

const COUNTER = "admin_audit";

function auditRow(id: number, e: NewAuditEntry) {
  return {
    id,
    ts: e.ts,
    actor: e.actor,
    action: e.action,
    target: e.target,
    ip: e.ip,
    impersonator: e.impersonator ?? null,
    before: JSON.stringify(e.before),
    after: JSON.stringify(e.after),
  };
}

export function adminAuditStore(db: Kysely<Database>): AdminAuditStore {
  const counters = countersStore(db);
  return {
    async insert(e) {
      const id = await counters.next(COUNTER);
      await db.insertInto("admin_audit").values(auditRow(id, e)).execute();
      return id;
    },
    async insertMany(entries) {
      if (entries.length === 0) return;
      const n = entries.length;
      const row = await db
        .insertInto("counters")
        .values({ name: COUNTER, value: n })
        .onConflict((oc) => oc.column("name").doUpdateSet({ value: sql`counters.value + ${n}` }))
        .returning("value")
        .executeTakeFirstOrThrow();
      const first = Number(row.value) - n + 1;
      await db
        .insertInto("admin_audit")
        .values(entries.map((e, i) => auditRow(first + i, e)))
        .execute();
    },
    async list(q) {
      let base = db.selectFrom("admin_audit");
      if (q.actor !== null) base = base.where("actor", "=", q.actor);
      if (q.target !== null) base = base.where("target", "=", q.target);
      if (q.action !== null) base = base.where("action", "=", q.action);
      if (q.fromTs !== null) base = base.where("ts", ">=", q.fromTs);
      if (q.toTs !== null) base = base.where("ts", "<=", q.toTs);
      const countRow = await base.select((eb) => eb.fn.countAll<number | string>().as("n")).executeTakeFirstOrThrow();
      let page = base.selectAll();
      if (q.beforeId !== null) page = page.where("id", "<", q.beforeId);
      const rows = await page.orderBy("id", "desc").limit(q.limit).execute();
      return {
        total: Number(countRow.n),
        entries: rows.map((r) => ({
          id: Number(r.id),
          ts: Number(r.ts),
          actor: r.actor,
          action: r.action,
          target: r.target,
          ip: r.ip,
          impersonator: r.impersonator,
          before: JSON.parse(r.before) as Record<string, unknown>,
          after: JSON.parse(r.after) as Record<string, unknown>,
        })),
      };
    },
  };
}
