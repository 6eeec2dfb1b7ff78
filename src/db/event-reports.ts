/**
 * @module The `event_reports` table: what users reported to the server's admins, newest last.
 */
import type { Kysely } from "kysely";
import type { Database } from "./schema.js";

export interface EventReport {
  id: number;
  receivedTs: number;
  roomId: string;
  eventId: string | null;
  userId: string;
  reason: string | null;
  score: number | null;
}

export interface EventReportQuery {
  from: number;
  limit: number;
  dir: "b" | "f";
  userId?: string;
  roomId?: string;
}

export interface EventReportsStore {
  insert(report: Omit<EventReport, "id">, id: number): Promise<void>;
  get(id: number): Promise<EventReport | null>;
  list(q: EventReportQuery): Promise<{ reports: EventReport[]; total: number }>;
  delete(id: number): Promise<boolean>;
}

type Row = {
  id: number;
  received_ts: number;
  room_id: string;
  event_id: string | null;
  user_id: string;
  reason: string | null;
  score: number | null;
};

export function eventReportsStore(db: Kysely<Database>): EventReportsStore {
  return {
    async insert(r, id) {
      await db
        .insertInto("event_reports")
        .values({
          id,
          received_ts: r.receivedTs,
          room_id: r.roomId,
          event_id: r.eventId,
          user_id: r.userId,
          reason: r.reason,
          score: r.score,
        })
        .execute();
    },
    async get(id) {
      const row = await db.selectFrom("event_reports").selectAll().where("id", "=", id).executeTakeFirst();
      return row ? toReport(row) : null;
    },
    async list(q) {
      let base = db.selectFrom("event_reports");
      if (q.userId !== undefined) base = base.where("user_id", "=", q.userId);
      if (q.roomId !== undefined) base = base.where("room_id", "=", q.roomId);
      const total = await base.select((eb) => eb.fn.countAll<number>().as("n")).executeTakeFirstOrThrow();
      const rows = await base
        .selectAll()
        .orderBy("received_ts", q.dir === "b" ? "desc" : "asc")
        .orderBy("id", q.dir === "b" ? "desc" : "asc")
        .offset(q.from)
        .limit(q.limit)
        .execute();
      return { reports: rows.map(toReport), total: Number(total.n) };
    },
    async delete(id) {
      const r = await db.deleteFrom("event_reports").where("id", "=", id).executeTakeFirst();
      return Number(r.numDeletedRows) > 0;
    },
  };
}

function toReport(r: Row): EventReport {
  return {
    id: Number(r.id),
    receivedTs: Number(r.received_ts),
    roomId: r.room_id,
    eventId: r.event_id,
    userId: r.user_id,
    reason: r.reason,
    score: r.score === null ? null : Number(r.score),
  };
}
