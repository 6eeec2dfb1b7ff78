/**
 * @module Synapse's admin API for reported content (`/_synapse/admin/v1/event_reports`).
 */
import { requireAdmin, requireAdminActor } from "../../http/auth.js";
import { ErrCode, MatrixError } from "../../errors.js";
import { ADMIN } from "../../http/paths.js";
import { integerParam, queryOf, stringParam, type Query } from "../../http/query.js";
import type { RouteModule } from "../../http/server.js";
import { deleteReport, getReport, listReports, type ListReportsQuery } from "../../rooms/reports.js";

/** A report ID from the path, in Synapse's words. Exported for the admin CLI's database mode. */
export function reportId(raw: string): number {
  if (!/^\d{1,15}$/.test(raw))
    throw new MatrixError(
      ErrCode.InvalidParam,
      "The report_id parameter must be a string representing a positive integer.",
    );
  return Number(raw);
}

/** The query of `GET /_synapse/admin/v1/event_reports`. Exported for the admin CLI's database mode. */
export function reportListQuery(query: Query): ListReportsQuery {
  const from = integerParam(query, "from", 0);
  const limit = integerParam(query, "limit", 100);
  const dir = stringParam(query, "dir") ?? "b";
  if (from < 0) throw new MatrixError(ErrCode.InvalidParam, "The from parameter must be a positive integer.");
  if (limit < 0) throw new MatrixError(ErrCode.InvalidParam, "The limit parameter must be a positive integer.");
  if (dir !== "b" && dir !== "f") throw new MatrixError(ErrCode.InvalidParam, "Unknown direction: " + dir);
  return {
    from,
    limit,
    dir,
    userId: stringParam(query, "user_id") ?? undefined,
    roomId: stringParam(query, "room_id") ?? undefined,
  };
}

export const eventReportsRoutes: RouteModule = (app, { accounts, rooms }) => {
  /**
   * # `GET /_synapse/admin/v1/event_reports`
   * - Admins only. `from` (offset, default 0), `limit` (default 100), `dir` (`b`, newest first, the default; or
   *   `f`), `user_id` (the reporter), `room_id`. `{event_reports, total, next_token?}` as in Synapse.
   * - A negative `from` or `limit`, or another `dir`, is 400 `M_INVALID_PARAM`.
   */
  app.get(`${ADMIN}/v1/event_reports`, async (request) => {
    await requireAdmin(request, accounts);
    return listReports(rooms, reportListQuery(queryOf(request)));
  });

  /**
   * # `GET /_synapse/admin/v1/event_reports/{reportId}`
   * - The report with the reported event (`event_json`, in client format); unknown: 404 `M_NOT_FOUND`.
   */
  app.get<{ Params: { reportId: string } }>(`${ADMIN}/v1/event_reports/:reportId`, async (request) => {
    await requireAdmin(request, accounts);
    return getReport(rooms, reportId(request.params.reportId));
  });

  /**
   * # `DELETE /_synapse/admin/v1/event_reports/{reportId}`
   * - Removes the report (audited); unknown: 404 `M_NOT_FOUND`.
   */
  app.delete<{ Params: { reportId: string } }>(`${ADMIN}/v1/event_reports/:reportId`, async (request) => {
    const actor = await requireAdminActor(request, accounts);
    await deleteReport(rooms, actor, reportId(request.params.reportId));
    return {};
  });
};
