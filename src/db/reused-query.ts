/**
 * @module Queries built once and run again with new values.
 *
 * kysely builds a query as a tree of frozen nodes and compiles the tree to SQL on every call. For the short indexed
 * reads of the hot paths that costs the main thread more than the database takes to answer: about a quarter of a
 * millisecond a statement, and 0.6 ms for the bundled aggregations' query of a `/messages` page. A reused query is
 * still written with kysely, but built once per shape (what changes its text: which clauses it has, how long each
 * `in (…)` list is), with a marker in place of each value; a run then only puts its values where the markers are.
 *
 * The templates are kept per kysely adapter (one per dialect; a transaction shares its database's), as pure
 * functions of their query: they hold no server state, so two servers in one process may share them.
 */
import type { Compilable, CompiledQuery, Kysely } from "kysely";
import type { Database } from "./schema.js";

/** NUL cannot be in a stored string (`refuseNul`), so no value a query names in its own text is mistaken for one. */
const MARKER = "\u0000value:";

/** Templates kept at most per dialect: each length of an `in (…)` list is a shape of its own. */
const MAX_TEMPLATES = 2_000;

type Values = Record<string, unknown>;

/** Where a parameter of the compiled query comes from: the query's own constant, or a value of the run. */
type Slot = { constant: unknown } | { name: string; index: number | null };

interface Template {
  compiled: CompiledQuery;
  slots: Slot[];
}

const templates = new WeakMap<object, Map<string, Template>>();

/**
 * A query run again and again: `build` writes it with kysely as usual, from `shape` (what decides its text: plain
 * data, compared as JSON) and `values` (what goes in its parameters). `build` must use each of `values` as a value of
 * the query only, never in its own logic: while it builds, each value is a marker (an array one marker per element),
 * and `undefined` and `null` stay as they are, so a clause present only for some values can depend on those.
 */
export function reusedQuery<S, V extends object, R>(
  name: string,
  build: (db: Kysely<Database>, shape: S, values: V) => Compilable<R>,
): (db: Kysely<Database>, shape: S, values: V) => Promise<R[]> {
  return async (db, shape, values) => {
    const template = templateFor(db, `${name}\u0000${JSON.stringify(shape)}\u0000${layout(values as Values)}`, () =>
      compileTemplate(db, build, shape, values),
    );
    const parameters = template.slots.map((slot) => {
      if ("constant" in slot) return slot.constant;
      const value = (values as Values)[slot.name];
      return slot.index === null ? value : (value as unknown[])[slot.index];
    });
    const result = await db.executeQuery<R>({ ...template.compiled, parameters });
    return result.rows;
  };
}

/** The part of the shape the values give: which are absent or null, and each list's length. */
function layout(values: Values): string {
  let out = "";
  for (const [k, v] of Object.entries(values)) {
    out += `${k}:${v === undefined ? "u" : v === null ? "n" : Array.isArray(v) ? `a${v.length}` : "v"};`;
  }
  return out;
}

function templateFor(db: Kysely<Database>, key: string, compile: () => Template): Template {
  const adapter = db.getExecutor().adapter;
  let kept = templates.get(adapter);
  if (!kept) templates.set(adapter, (kept = new Map<string, Template>()));
  let template = kept.get(key);
  if (!template) {
    template = compile();
    if (kept.size >= MAX_TEMPLATES) kept.clear();
    kept.set(key, template);
  }
  return template;
}

function compileTemplate<S, V extends object, R>(
  db: Kysely<Database>,
  build: (db: Kysely<Database>, shape: S, values: V) => Compilable<R>,
  shape: S,
  values: V,
): Template {
  const marked: Values = {};
  const expected = new Set<string>();
  for (const [k, v] of Object.entries(values as Values)) {
    if (v === undefined || v === null) {
      marked[k] = v;
    } else if (Array.isArray(v)) {
      marked[k] = v.map((_, i) => `${MARKER}${k}\u0000${i}`);
      v.forEach((_, i) => expected.add(`${MARKER}${k}\u0000${i}`));
    } else {
      marked[k] = `${MARKER}${k}`;
      expected.add(`${MARKER}${k}`);
    }
  }
  const compiled = build(db, shape, marked as V).compile();
  if (compiled.sql.includes(MARKER)) throw new Error("a reused query put a value into its SQL text");
  const slots = compiled.parameters.map((p): Slot => {
    if (typeof p !== "string" || !p.startsWith(MARKER)) return { constant: p };
    expected.delete(p);
    const [name, index] = p.slice(MARKER.length).split("\u0000") as [string, string | undefined];
    return { name, index: index === undefined ? null : Number(index) };
  });
  // A value that is not a parameter was used some other way (computed with, or put in the text): refuse the query
  // rather than run it with the first call's value.
  if (expected.size > 0)
    throw new Error(`a reused query did not take ${[...expected].length} of its values as parameters`);
  return { compiled, slots };
}
