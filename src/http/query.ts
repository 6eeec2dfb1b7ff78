/**
 * @module Query-string parameters read as Synapse's `parse_boolean`, `parse_integer`, `parse_string` and
 * `parse_enum` read them, with their errcodes and words. A parameter given twice counts by its first value.
 */
import type { FastifyRequest } from "fastify";
import { ErrCode, MatrixError } from "../errors.js";
import { parseBoolean, QUERY_BOOLEAN } from "../shared/truth.js";

export type Query = Record<string, unknown>;

export function queryOf(request: FastifyRequest): Query {
  return (request.query ?? {}) as Query;
}

function first(query: Query, name: string): string | undefined {
  const v = query[name];
  if (Array.isArray(v)) return typeof v[0] === "string" ? v[0] : undefined;
  return typeof v === "string" ? v : undefined;
}

/** `true` or `false` exactly; anything else is 400 `M_INVALID_PARAM`. Absent: `fallback`. */
export function booleanParam<T extends boolean | null>(query: Query, name: string, fallback: T): boolean | T {
  const v = first(query, name);
  if (v === undefined) return fallback;
  const b = parseBoolean(v, QUERY_BOOLEAN);
  if (b !== null) return b;
  throw new MatrixError(ErrCode.InvalidParam, `Boolean query parameter '${name}' must be one of ['true', 'false']`);
}

/** A decimal integer (sign allowed, as Python's `int()`); anything else is 400 `M_INVALID_PARAM`. */
export function integerParam<T extends number | null>(query: Query, name: string, fallback: T): number | T {
  const v = first(query, name);
  if (v === undefined) return fallback;
  const n = /^\s*[+-]?\d+\s*$/.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n)) {
    throw new MatrixError(ErrCode.InvalidParam, `Query parameter '${name}' must be an integer`);
  }
  return n;
}

/**
 * Synapse's admin list paging, `from` (default 0) and `limit` (default 100): integers, neither negative, with
 * Synapse's wording for a negative one.
 */
export function adminPagingParams(query: Query): { from: number; limit: number } {
  const from = integerParam(query, "from", 0);
  const limit = integerParam(query, "limit", 100);
  for (const [name, value] of [
    ["from", from],
    ["limit", limit],
  ] as const) {
    if (value < 0) {
      throw new MatrixError(
        ErrCode.InvalidParam,
        `Query parameter ${name} must be a string representing a positive integer.`,
      );
    }
  }
  return { from, limit };
}

export function stringParam(query: Query, name: string): string | null {
  return first(query, name) ?? null;
}

/** Absent: 400 `M_MISSING_PARAM`. */
export function requiredStringParam(query: Query, name: string): string {
  const v = first(query, name);
  if (v === undefined) throw new MatrixError(ErrCode.MissingParam, `Missing string query parameter '${name}'`);
  return v;
}

/** Every value of a repeatable parameter (`?t=a&t=b`). */
export function stringsParam(query: Query, name: string): string[] {
  const v = query[name];
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).filter((x): x is string => typeof x === "string");
}

/** One of `allowed`, else 400 `M_INVALID_PARAM` listing them as Synapse does. Absent: `fallback`. */
export function enumParam<T extends string>(query: Query, name: string, allowed: readonly T[], fallback: T): T {
  const v = first(query, name);
  if (v === undefined) return fallback;
  if ((allowed as readonly string[]).includes(v)) return v as T;
  const list = allowed.map((a) => `'${a}'`).join(", ");
  throw new MatrixError(ErrCode.InvalidParam, `Query parameter '${name}' must be one of [${list}]`);
}
