/**
 * @module The part of Jinja2 that Synapse's `user_mapping_provider.config` templates use: `{{ user.claim }}` with
 * dotted paths, string literals, and the filters `localpart_from_email`, `lower`, `upper`, `default`, `replace`
 * and `trim`. A template is compiled once at start-up; anything outside that subset is refused there, naming the
 * construct, rather than rendered differently from Synapse at someone's first login.
 *
 * Jinja2's rules kept: a missing claim renders as the empty string (its `Undefined`), `default(v)` replaces only a
 * missing value unless its second argument is true, and a value that is not a string renders as Python's `str()`
 * would for the JSON types (`True`, `None`, `42`).
 */

export class TemplateError extends Error {
  override name = "TemplateError";
}

type Literal = string | number | boolean;
type Expr = { kind: "path"; path: string[] } | { kind: "literal"; value: Literal };
interface Filter {
  name: string;
  args: Literal[];
}
type Part = string | { expr: Expr; filters: Filter[] };

export interface CompiledTemplate {
  source: string;
  /** The top-level claims the template reads (`user.email` → `email`), for "is this claim present" checks. */
  claims: string[];
  render(user: Record<string, unknown>): string;
}

/** A missing value, told apart from the empty string so `default` can replace it as Jinja2 does. */
const UNDEFINED = Symbol("undefined");
type Value = unknown;

const FILTERS: Record<string, { arity: [number, number]; apply: (v: Value, args: Literal[]) => Value }> = {
  localpart_from_email: {
    arity: [0, 0],
    // Synapse's: everything before the last "@" (`rsplit("@", 1)[0]`).
    apply: (v) => {
      const s = str(v);
      const at = s.lastIndexOf("@");
      return at === -1 ? s : s.slice(0, at);
    },
  },
  lower: { arity: [0, 0], apply: (v) => str(v).toLowerCase() },
  upper: { arity: [0, 0], apply: (v) => str(v).toUpperCase() },
  // Python's str.strip(): whitespace at both ends.
  trim: { arity: [0, 0], apply: (v) => str(v).trim() },
  default: {
    arity: [0, 2],
    apply: (v, [fallback = "", boolean = false]) =>
      v === UNDEFINED || (boolean === true && !pythonTruthy(v)) ? fallback : v,
  },
  replace: {
    arity: [2, 3],
    apply: (v, [from, to, count]) => {
      if (typeof from !== "string" || typeof to !== "string") throw new TemplateError("replace() takes strings");
      const s = str(v);
      if (count === undefined) return s.split(from).join(to);
      const n = Number(count);
      const pieces = s.split(from);
      return pieces.slice(0, n + 1).join(to) + (pieces.length > n + 1 ? from + pieces.slice(n + 1).join(from) : "");
    },
  },
};

function pythonTruthy(v: Value): boolean {
  if (v === UNDEFINED || v === null || v === false || v === 0 || v === "") return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === "object") return Object.keys(v).length > 0;
  return true;
}

/** Python's `str()` of a JSON value, as Jinja2 prints it. */
function str(v: Value): string {
  if (v === UNDEFINED) return "";
  if (typeof v === "string") return v;
  if (v === null) return "None";
  if (v === true) return "True";
  if (v === false) return "False";
  if (typeof v === "number") return String(v);
  // Lists and objects: Python's repr differs from JSON in ways no operator's template relies on; refuse quietly.
  return JSON.stringify(v);
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Compiles `source`; throws TemplateError naming the first construct outside the supported subset. */
export function compileTemplate(source: string): CompiledTemplate {
  const parts: Part[] = [];
  let rest = source;
  for (;;) {
    const open = rest.search(/\{[{%#]/);
    if (open === -1) {
      parts.push(rest);
      break;
    }
    parts.push(rest.slice(0, open));
    const kind = rest[open + 1];
    if (kind === "%") throw new TemplateError(`statements ({% ... %}) are not supported`);
    if (kind === "#") throw new TemplateError(`comments ({# ... #}) are not supported`);
    const close = rest.indexOf("}}", open + 2);
    if (close === -1) throw new TemplateError(`unclosed "{{"`);
    parts.push(parseExpression(rest.slice(open + 2, close)));
    rest = rest.slice(close + 2);
  }
  const claims = new Set<string>();
  for (const p of parts)
    if (typeof p !== "string" && p.expr.kind === "path" && p.expr.path[0]) claims.add(p.expr.path[0]);
  return {
    source,
    claims: [...claims],
    render(user) {
      let out = "";
      for (const p of parts) {
        if (typeof p === "string") out += p;
        else {
          let v = evaluate(p.expr, user);
          for (const f of p.filters) v = FILTERS[f.name]!.apply(v, f.args);
          out += str(v);
        }
      }
      return out;
    },
  };
}

function evaluate(expr: Expr, user: Record<string, unknown>): Value {
  if (expr.kind === "literal") return expr.value;
  let v: Value = user;
  for (const key of expr.path) {
    if (v === null || typeof v !== "object" || Array.isArray(v) || !Object.hasOwn(v, key)) return UNDEFINED;
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}

/** A tiny tokenizer over `expr | filter(arg, ...) | ...`. */
function parseExpression(text: string): Part {
  const tokens = tokenize(text);
  let i = 0;
  const peek = () => tokens[i];
  const next = () => tokens[i++];
  const expr = parseOperand(next(), true);
  const filters: Filter[] = [];
  while (i < tokens.length) {
    const t = next()!;
    if (t.type !== "punct" || t.value !== "|")
      throw new TemplateError(`unsupported construct ${JSON.stringify(t.raw)} in "{{${text}}}"`);
    const name = next();
    if (!name || name.type !== "name") throw new TemplateError(`a filter name must follow "|" in "{{${text}}}"`);
    const filter = FILTERS[name.value];
    if (!filter) throw new TemplateError(`unsupported filter "${name.value}"`);
    const args: Literal[] = [];
    if (peek()?.type === "punct" && peek()!.value === "(") {
      next();
      if (!(peek()?.type === "punct" && peek()!.value === ")")) {
        for (;;) {
          const arg = parseOperand(next(), false);
          if (arg.kind !== "literal") throw new TemplateError(`filter arguments must be literals in "{{${text}}}"`);
          args.push(arg.value);
          const sep = next();
          if (sep?.type === "punct" && sep.value === ")") break;
          if (!(sep?.type === "punct" && sep.value === ",")) throw new TemplateError(`unclosed "(" in "{{${text}}}"`);
        }
      } else next();
    }
    if (args.length < filter.arity[0] || args.length > filter.arity[1]) {
      throw new TemplateError(`filter "${name.value}" takes ${filter.arity.join(" to ")} arguments`);
    }
    filters.push({ name: name.value, args });
  }
  return { expr, filters };
}

type Token =
  | { type: "name"; value: string; raw: string }
  | { type: "literal"; value: Literal; raw: string }
  | { type: "punct"; value: string; raw: string };

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  const re =
    /\s*(?:([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)|('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")|(\d+)|([|(),])|(\S))/y;
  let m: RegExpExecArray | null;
  while (re.lastIndex < text.length && (m = re.exec(text))) {
    if (m[1] !== undefined) {
      if (m[1] === "true" || m[1] === "True") tokens.push({ type: "literal", value: true, raw: m[1] });
      else if (m[1] === "false" || m[1] === "False") tokens.push({ type: "literal", value: false, raw: m[1] });
      else tokens.push({ type: "name", value: m[1], raw: m[1] });
    } else if (m[2] !== undefined) {
      tokens.push({ type: "literal", value: m[2].slice(1, -1).replace(/\\(.)/g, "$1"), raw: m[2] });
    } else if (m[3] !== undefined) tokens.push({ type: "literal", value: Number(m[3]), raw: m[3] });
    else if (m[4] !== undefined) tokens.push({ type: "punct", value: m[4], raw: m[4] });
    else if (m[5] !== undefined)
      throw new TemplateError(`unsupported construct ${JSON.stringify(m[5])} in "{{${text}}}"`);
    if (/^\s*$/.test(text.slice(re.lastIndex))) break;
  }
  if (tokens.length === 0) throw new TemplateError(`empty expression "{{${text}}}"`);
  return tokens;
}

function parseOperand(t: Token | undefined, top: boolean): Expr {
  if (!t) throw new TemplateError("an expression is missing");
  if (t.type === "literal") return { kind: "literal", value: t.value };
  if (t.type === "name") {
    const path = t.value.split(".");
    if (path[0] !== "user" || !top) {
      throw new TemplateError(`unknown variable "${t.value}" (only "user" and its claims are available)`);
    }
    for (const p of path) if (!IDENT.test(p)) throw new TemplateError(`bad path "${t.value}"`);
    return { kind: "path", path: path.slice(1) };
  }
  throw new TemplateError(`unsupported construct ${JSON.stringify(t.raw)}`);
}
