/**
 * @module Reading true and false: from text (query strings, CSV cells, prompt answers) with the words each place
 * accepts, and from any JSON value as Python's truth, which Synapse applies to some request fields.
 *
 * Imported by the server, the CLI and the web pages alike, so it uses nothing of Node's and nothing of the server's.
 */

export interface BooleanWords {
  readonly true: readonly string[];
  readonly false: readonly string[];
  /** Compare after trimming spaces and lower-casing. */
  readonly loose: boolean;
}

/** Synapse's `parse_boolean` for query strings: exactly `true` or `false`. */
export const QUERY_BOOLEAN: BooleanWords = { true: ["true"], false: ["false"], loose: false };

/** What a person writes in a CSV cell: true/1/yes or false/0/no, any case. */
export const CSV_BOOLEAN: BooleanWords = {
  true: ["true", "1", "yes"],
  false: ["false", "0", "no"],
  loose: true,
};

/** `register_new_matrix_user`'s "Make admin [no]:" as Synapse reads it: `y`, `yes` or `true` exactly, else no. */
export const PROMPT_YES: BooleanWords = { true: ["y", "yes", "true"], false: [], loose: false };

/** `text` as a boolean by `words`, or null when it is neither word list's. */
export function parseBoolean(text: string, words: BooleanWords): boolean | null {
  const t = words.loose ? text.trim().toLowerCase() : text;
  if (words.true.includes(t)) return true;
  if (words.false.includes(t)) return false;
  return null;
}

/** Python's truth value of a JSON value: false for null, false, 0, "", [] and {}; true for anything else. */
export function pythonTruthy(v: unknown): boolean {
  if (v === null || v === undefined || v === false || v === 0 || v === "") return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === "object") return Object.keys(v).length > 0;
  return true;
}
