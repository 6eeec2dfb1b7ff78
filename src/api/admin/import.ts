/**
 * @module Bulk import of accounts, `/_gatehouse/admin/v1/users/import` (not a Synapse API): what `gatehouse user
 * import` sends in batches and the web console's "bulk import with a dry-run preview" calls.
 */
import {
  MAX_IMPORT_ROWS,
  ON_CONFLICT,
  importUsers,
  type ImportBatchResult,
  type ImportRow,
  type OnConflict,
} from "../../accounts/bulk-import.js";
import { requireAdminActor } from "../../http/auth.js";
import { ErrCode, MatrixError } from "../../errors.js";
import { GATEHOUSE_ADMIN } from "../../http/paths.js";
import { jsonObjectBody } from "../../http/request.js";
import type { RouteModule } from "../../http/server.js";

/** 10,000 rows of the longest fields allowed fit; the server-wide `max_request_body_size` would refuse them. */
export const MAX_IMPORT_BODY = 64 * 1024 * 1024;

const ROW_KEYS = ["line", "username", "password", "password_hash", "displayname", "admin", "email"];
const STRING_KEYS = ["password", "password_hash", "displayname", "email"] as const;

function invalid(message: string): MatrixError {
  return new MatrixError(ErrCode.InvalidParam, message);
}

function parseRow(value: unknown, i: number): ImportRow {
  const at = `rows[${i}]`;
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw invalid(`${at} must be an object`);
  const r = value as Record<string, unknown>;
  const unknown = Object.keys(r).filter((k) => !ROW_KEYS.includes(k));
  if (unknown.length > 0) throw invalid(`${at} has unknown fields: ${unknown.join(", ")}`);
  if (typeof r.username !== "string") throw new MatrixError(ErrCode.MissingParam, `${at}.username must be a string`);
  if (r.line !== undefined && (!Number.isSafeInteger(r.line) || (r.line as number) < 1)) {
    throw invalid(`${at}.line must be a positive integer`);
  }
  const row: ImportRow = { line: (r.line as number | undefined) ?? i + 1, username: r.username };
  for (const key of STRING_KEYS) {
    const v = r[key];
    if (v !== undefined && v !== null && typeof v !== "string") throw invalid(`${at}.${key} must be a string or null`);
    if (typeof v === "string") row[key] = v;
  }
  if (r.admin !== undefined && r.admin !== null && typeof r.admin !== "boolean" && typeof r.admin !== "string") {
    throw invalid(`${at}.admin must be a boolean`);
  }
  if (typeof r.admin === "boolean" || typeof r.admin === "string") row.admin = r.admin;
  return row;
}

export const importRoutes: RouteModule = (app, { accounts }) => {
  /**
   * # `POST /_gatehouse/admin/v1/users/import`
   * - Admins only. `{"rows": [{line?, username, password? | password_hash?, displayname?, admin?, email?}],
   *   "dry_run": false, "on_conflict": "stop" | "skip" | "update"}` (defaults shown); at most 10,000 rows.
   * - 200 `{"results": [{line, user_id, outcome, errcode?, error?}], "stopped"}`: a bad row is a result, not a
   *   refusal; only a malformed request is refused (400 `M_INVALID_PARAM`/`M_MISSING_PARAM`, 413 `M_TOO_LARGE`).
   */
  app.post(
    `${GATEHOUSE_ADMIN}/v1/users/import`,
    // 10,000 passwords to hash can outlast the request timeout; each batch's database calls are still bounded.
    { bodyLimit: MAX_IMPORT_BODY, config: { longRunning: true } },
    async (request): Promise<ImportBatchResult> => {
      const actor = await requireAdminActor(request, accounts);
      const body = jsonObjectBody(request);
      if (!Array.isArray(body.rows)) throw new MatrixError(ErrCode.MissingParam, "'rows' must be a list of rows");
      if (body.rows.length > MAX_IMPORT_ROWS) {
        throw new MatrixError(
          ErrCode.TooLarge,
          `At most ${MAX_IMPORT_ROWS} rows per request (got ${body.rows.length}); send them in batches`,
        );
      }
      const dryRun = body.dry_run ?? false;
      if (typeof dryRun !== "boolean") throw invalid("'dry_run' must be a boolean");
      const onConflict = body.on_conflict ?? "stop";
      if (typeof onConflict !== "string" || !(ON_CONFLICT as readonly string[]).includes(onConflict)) {
        throw invalid(`'on_conflict' must be one of ${ON_CONFLICT.join(", ")}`);
      }
      const rows = (body.rows as unknown[]).map(parseRow);
      return importUsers(accounts, actor, rows, { dryRun, onConflict: onConflict as OnConflict });
    },
  );
};
