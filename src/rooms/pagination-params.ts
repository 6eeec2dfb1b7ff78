/**
 * @module The query parameters the history endpoints share (`/messages`, `/context`, relations, threads), read as
 * Synapse's `PaginationConfig` reads them, with the spec's errors: `dir`, `limit` and pagination tokens.
 */
import { ErrCode, MatrixError } from "../errors.js";
import type { Direction } from "./paginate.js";

/** Synapse's `MAX_LIMIT`: a larger `limit` is served as this many. */
export const MAX_LIMIT = 1000;

/** `dir`: `b` or `f`, or `fallback` when absent (Synapse's default: forwards for `/messages`). */
export function parseDir(value: string | undefined, fallback: Direction): Direction {
  if (value === undefined) return fallback;
  if (value !== "b" && value !== "f") {
    throw new MatrixError(ErrCode.InvalidParam, 'Query parameter "dir" must be one of [b, f]');
  }
  return value;
}

/** `limit`: a decimal integer of at least `min`, capped at `MAX_LIMIT`. */
export function parseLimit(value: string | undefined, fallback: number, min = 0): number {
  if (value === undefined) return fallback;
  if (!/^-?\d{1,15}$/.test(value)) {
    throw new MatrixError(ErrCode.InvalidParam, 'Query parameter "limit" must be an integer');
  }
  const n = Number(value);
  if (n < min) throw new MatrixError(ErrCode.InvalidParam, `Query parameter "limit" must be ${min} or above`);
  return Math.min(n, MAX_LIMIT);
}

/**
 * A pagination token (`from`, `to`): ours, `s<position>`, a gap in the stream. Synapse's forms are read for their
 * stream position, so a client that kept one across a migration goes on: `t<topological>-<stream>` (a room
 * token) and `s<stream>_<other streams>...` (a sync token).
 */
export function parsePaginationToken(value: string | undefined, name: string): number | undefined {
  if (value === undefined || value === "") return undefined;
  const m = /^s(\d{1,15})(?:_[\d_~.]*)?$/.exec(value) ?? /^t\d{1,15}-(\d{1,15})$/.exec(value);
  if (!m) throw new MatrixError(ErrCode.InvalidParam, `'${name}' parameter is invalid`);
  return Number(m[1]);
}

/** `true` or `false`, as Synapse's `parse_boolean`. */
export function parseBoolean(value: string | undefined, name: string): boolean {
  if (value === undefined) return false;
  if (value === "true") return true;
  if (value === "false") return false;
  throw new MatrixError(ErrCode.InvalidParam, `Boolean query parameter "${name}" must be one of ['true', 'false']`);
}
