/**
 * @module Reporting content to the server's admins (spec "Reporting content"): an event, or a whole room (v1.13),
 * and Synapse's admin API over the reports (`/_synapse/admin/v1/event_reports`).
 *
 * A user may report only an event they can see (else 404, the same answer as for one that does not exist, so a
 * report cannot probe for events), and only a room they are or were in.
 */
import type { Requester } from "../accounts/auth.js";
import { recordAudit, type AdminActor } from "../accounts/audit.js";
import type { EventReport } from "../db/event-reports.js";
import { ErrCode, MatrixError } from "../errors.js";
import { isValidEventId } from "../matrix/ids.js";
import { serializeEvent, type ClientEvent } from "./client-events.js";
import type { RoomsContext } from "./context.js";
import { contentOf } from "./event-content.js";
import { resolveRoom } from "./membership.js";
import { visibilityFor } from "./visibility.js";

const REPORT_COUNTER = "event_report_id";

function readReason(body: Record<string, unknown>): { reason: string | null; score: number | null } {
  if (body.reason !== undefined && typeof body.reason !== "string") {
    throw new MatrixError(ErrCode.BadJson, "Param 'reason' must be a string");
  }
  if (body.score !== undefined && (typeof body.score !== "number" || !Number.isInteger(body.score))) {
    throw new MatrixError(ErrCode.BadJson, "Param 'score' must be an integer");
  }
  return { reason: body.reason ?? null, score: body.score ?? null };
}

const NOT_VISIBLE = "Unable to report event: it does not exist or you aren't able to see it.";

/** `POST /rooms/{roomId}/report/{eventId}` `{reason?, score?}`. */
export async function reportEvent(
  ctx: RoomsContext,
  requester: Requester,
  roomIdOrAlias: string,
  eventId: string,
  body: Record<string, unknown>,
): Promise<void> {
  const roomId = await resolveRoom(ctx, roomIdOrAlias);
  const { reason, score } = readReason(body);
  if (!isValidEventId(eventId)) throw new MatrixError(ErrCode.NotFound, NOT_VISIBLE);
  const event = await ctx.stores.events.get(eventId);
  if (!event || event.roomId !== roomId) throw new MatrixError(ErrCode.NotFound, NOT_VISIBLE);
  if (!(await visibilityFor(ctx.stores, roomId, requester.userId)).visible(event)) {
    throw new MatrixError(ErrCode.NotFound, NOT_VISIBLE);
  }
  await store(ctx, { roomId, eventId, userId: requester.userId, reason, score });
}

/** `POST /rooms/{roomId}/report` `{reason}` (spec v1.13): members and former members only. */
export async function reportRoom(
  ctx: RoomsContext,
  requester: Requester,
  roomIdOrAlias: string,
  body: Record<string, unknown>,
): Promise<void> {
  const roomId = await resolveRoom(ctx, roomIdOrAlias);
  const { reason } = readReason(body);
  const m = await ctx.stores.roomMemberships.get(roomId, requester.userId);
  if (!m || m.membership === "invite") throw new MatrixError(ErrCode.NotFound, "Room does not exist");
  await store(ctx, { roomId, eventId: null, userId: requester.userId, reason, score: null });
}

async function store(ctx: RoomsContext, r: Omit<EventReport, "id" | "receivedTs">): Promise<void> {
  await ctx.stores.transaction(async (t) => {
    const id = await t.counters.next(REPORT_COUNTER);
    await t.eventReports.insert({ ...r, receivedTs: ctx.now() }, id);
  });
}

/** https://element-hq.github.io/synapse/latest/admin_api/event_reports.html */
export interface EventReportSummary {
  id: number;
  received_ts: number;
  room_id: string;
  name: string | null;
  event_id: string | null;
  user_id: string;
  reason: string | null;
  score: number | null;
  sender: string | null;
  canonical_alias: string | null;
}

async function stateValue(ctx: RoomsContext, roomId: string, type: string, key: string): Promise<string | null> {
  const [entry] = await ctx.stores.currentState.get(roomId, [[type, ""]]);
  const event = entry ? await ctx.stores.events.get(entry.eventId) : null;
  const v = event ? contentOf(event)[key] : undefined;
  return typeof v === "string" ? v : null;
}

async function summarise(ctx: RoomsContext, r: EventReport): Promise<EventReportSummary> {
  const event = r.eventId !== null ? await ctx.stores.events.get(r.eventId) : null;
  return {
    id: r.id,
    received_ts: r.receivedTs,
    room_id: r.roomId,
    name: await stateValue(ctx, r.roomId, "m.room.name", "name"),
    event_id: r.eventId,
    user_id: r.userId,
    reason: r.reason,
    score: r.score,
    sender: event?.sender ?? null,
    canonical_alias: await stateValue(ctx, r.roomId, "m.room.canonical_alias", "alias"),
  };
}

export interface ListReportsQuery {
  from: number;
  limit: number;
  dir: "b" | "f";
  userId?: string;
  roomId?: string;
}

/** `GET /_synapse/admin/v1/event_reports`: newest first by default, offset paging as in Synapse. */
export async function listReports(
  ctx: RoomsContext,
  q: ListReportsQuery,
): Promise<{ event_reports: EventReportSummary[]; total: number; next_token?: number }> {
  const { reports, total } = await ctx.stores.eventReports.list(q);
  const out: { event_reports: EventReportSummary[]; total: number; next_token?: number } = {
    event_reports: await Promise.all(reports.map((r) => summarise(ctx, r))),
    total,
  };
  if (q.from + reports.length < total) out.next_token = q.from + reports.length;
  return out;
}

/** `GET /_synapse/admin/v1/event_reports/{reportId}`: the summary plus the reported event as stored. */
export async function getReport(
  ctx: RoomsContext,
  id: number,
): Promise<EventReportSummary & { event_json: ClientEvent | null }> {
  const report = await ctx.stores.eventReports.get(id);
  if (!report) throw new MatrixError(ErrCode.NotFound, "Event report not found");
  const event = report.eventId !== null ? await ctx.stores.events.get(report.eventId) : null;
  return {
    ...(await summarise(ctx, report)),
    event_json: event
      ? await serializeEvent(ctx.stores, event, { userId: "", deviceId: null }, { now: ctx.now() })
      : null,
  };
}

/** `DELETE /_synapse/admin/v1/event_reports/{reportId}`, audited. */
export async function deleteReport(ctx: RoomsContext, actor: AdminActor, id: number): Promise<void> {
  await ctx.stores.transaction(async (t) => {
    const report = await t.eventReports.get(id);
    if (!report || !(await t.eventReports.delete(id))) {
      throw new MatrixError(ErrCode.NotFound, "Event report not found");
    }
    await recordAudit(t, ctx, actor, "event_report.delete", report.roomId, { id, event_id: report.eventId }, {});
  });
}
