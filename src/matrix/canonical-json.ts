/**
 * @module Canonical JSON (spec "Appendices → Canonical JSON"): what every hash and signature in Matrix is computed
 * over, so it must match other implementations byte for byte.
 *
 * - object keys sorted by Unicode code point (JavaScript's default sort compares UTF-16 units, which differs for
 *   keys mixing astral characters with U+E000–U+FFFF);
 * - no insignificant white space; non-ASCII written as UTF-8, not `\u` escapes (JSON.stringify already does both);
 * - numbers only as integers in [-(2^53)+1, 2^53-1]; `-0` is written `0`. Anything else (fractions, NaN,
 *   out-of-range integers, undefined, functions, bigints) is refused, since no canonical form exists for it.
 */

export class CanonicalJsonError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CanonicalJsonError";
  }
}

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

function compareCodePoints(a: string, b: string): number {
  const ia = a[Symbol.iterator]();
  const ib = b[Symbol.iterator]();
  for (;;) {
    const ca = ia.next();
    const cb = ib.next();
    if (ca.done === true) return cb.done === true ? 0 : -1;
    if (cb.done === true) return 1;
    const d = ca.value.codePointAt(0)! - cb.value.codePointAt(0)!;
    if (d !== 0) return d;
  }
}

/** Compares keys the way canonical JSON orders them; plain `<` suffices when neither has a surrogate pair. */
export function compareKeys(a: string, b: string): number {
  if (!/[\uD800-\uDFFF]/.test(a + b)) return a < b ? -1 : a > b ? 1 : 0;
  return compareCodePoints(a, b);
}

function write(value: unknown, out: string[], path: string): void {
  switch (typeof value) {
    case "string":
      out.push(JSON.stringify(value));
      return;
    case "boolean":
      out.push(value ? "true" : "false");
      return;
    case "number":
      if (!Number.isInteger(value) || value > MAX_SAFE || value < -MAX_SAFE) {
        throw new CanonicalJsonError(`${path || "value"} is not an integer in canonical JSON's range`);
      }
      out.push(Object.is(value, -0) ? "0" : String(value));
      return;
    case "object":
      if (value === null) {
        out.push("null");
        return;
      }
      if (Array.isArray(value)) {
        out.push("[");
        value.forEach((item, i) => {
          if (i > 0) out.push(",");
          write(item, out, `${path}[${i}]`);
        });
        out.push("]");
        return;
      }
      {
        const obj = value as Record<string, unknown>;
        const keys = Object.keys(obj)
          .filter((k) => obj[k] !== undefined)
          .sort(compareKeys);
        out.push("{");
        keys.forEach((k, i) => {
          if (i > 0) out.push(",");
          out.push(JSON.stringify(k), ":");
          write(obj[k], out, path ? `${path}.${k}` : k);
        });
        out.push("}");
      }
      return;
    default:
      throw new CanonicalJsonError(`${path || "value"} has no JSON form (${typeof value})`);
  }
}

/**
 * The canonical JSON text of `value`. Object members whose value is `undefined` are left out, as JSON.stringify
 * does, so optional fields can be built without deleting keys.
 */
export function canonicalJson(value: unknown): string {
  const out: string[] = [];
  write(value, out, "");
  return out.join("");
}

/** The canonical JSON as UTF-8 bytes: what hashes and signatures are computed over. */
export function canonicalJsonBytes(value: unknown): Buffer {
  return Buffer.from(canonicalJson(value), "utf8");
}

/** Whether two values have the same canonical JSON; false when either has none (a float, say). */
export function canonicallyEqual(a: unknown, b: unknown): boolean {
  try {
    return canonicalJson(a) === canonicalJson(b);
  } catch (err) {
    if (err instanceof CanonicalJsonError) return false;
    throw err;
  }
}
