/**
 * @module Gatehouse's audit log of admin writes, `/_gatehouse/admin/v1/audit` (not a Synapse API).
 */
import { listAudit, type AuditListResponse } from "../../accounts/audit.js";
import { requireAdmin } from "../../http/auth.js";
import { ErrCode, MatrixError } from "../../errors.js";
import { GATEHOUSE_ADMIN } from "../../http/paths.js";
import { integerParam, queryOf, stringParam } from "../../http/query.js";
import type { RouteModule } from "../../http/server.js";

/** At most this many entries per page. */
export const MAX_AUDIT_PAGE = 1000;

export const auditRoutes: RouteModule = (app, { accounts }) => {
  /**
   * # `GET /_gatehouse/admin/v1/audit`
   * - Admins only. Filters: `actor`, `target`, `action` (exact), `from_ts`, `to_ts` (milliseconds, inclusive).
   * - Newest first; `limit` (default 100, at most 1000) per page, `from` = the previous page's `next_token`.
   * - `{"entries": [{id, ts, actor, action, target, ip, before, after}], "total", "next_token"?}`.
   */
  app.get(`${GATEHOUSE_ADMIN}/v1/audit`, async (request): Promise<AuditListResponse> => {
    await requireAdmin(request, accounts);
    const query = queryOf(request);
    const limit = integerParam(query, "limit", 100);
    const from = integerParam(query, "from", null);
    const fromTs = integerParam(query, "from_ts", null);
    const toTs = integerParam(query, "to_ts", null);
    for (const [name, value] of [
      ["limit", limit],
      ["from", from],
      ["from_ts", fromTs],
      ["to_ts", toTs],
    ] as const) {
      if (value !== null && value < 0) {
        throw new MatrixError(ErrCode.InvalidParam, `Query parameter '${name}' must be a non-negative integer`);
      }
    }
    return listAudit(accounts, {
      actor: stringParam(query, "actor"),
      target: stringParam(query, "target"),
      action: stringParam(query, "action"),
      fromTs,
      toTs,
      from,
      limit: Math.min(limit, MAX_AUDIT_PAGE),
    });
  });
};
