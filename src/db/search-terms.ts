/**
 * @module A user's search term read into words, phrases, `-` exclusions and `or`, as Synapse reads it
 * (`_tokenize_query`), and written out as SQLite FTS5 `MATCH` and PostgreSQL `to_tsquery` syntax.
 *
 * Only runs of letters, marks and digits ever reach the database's query parser, each inside quotes, so nothing a
 * user types (`"`, `*`, `NEAR`, `AND`, `:`, `(`, `!`, `&`) is read as that parser's syntax: a term is never a syntax
 * error. A lone word matches as a prefix (`hel` finds `hello`); a quoted phrase, or a token that the punctuation in
 * it splits (`e-mail`), matches as those words in a row.
 */

/** Words in a row; one word matches every word it begins. */
export type Phrase = readonly string[];

export interface SearchTerms {
  /** Every group must match; a group matches when any of its phrases does (`a or b`). */
  all: readonly (readonly Phrase[])[];
  /** None of these may match (`-word`, `-"a phrase"`). */
  none: readonly Phrase[];
}

/** Beyond this many phrases the rest of the term is ignored: a query's cost grows with its parts. */
export const MAX_PHRASES = 32;

const WORD = /[\p{L}\p{M}\p{N}]+/gu;
const TOKEN = /(-?)"([^"]*)"?|(-?)([^\s"]+)/g;

/**
 * Text without the accents of the Combining Diacritical Marks block (`café` → `cafe`), as SQLite's unicode61
 * tokenizer with `remove_diacritics 2` reads it; PostgreSQL's `english` configuration keeps them, so its index and
 * its queries get this text instead, and both databases find `café` by `cafe` and the reverse.
 */
export function foldDiacritics(s: string): string {
  return s
    .normalize("NFD")
    .replace(/[\u0300-\u036f]/g, "")
    .normalize("NFC");
}

function wordsOf(s: string): string[] {
  return (foldDiacritics(s).match(WORD) ?? []).map((w) => w.toLowerCase());
}

/** Reads `term`; `all` is empty when it holds no word to look for (then nothing matches). */
export function parseSearchTerms(term: string): SearchTerms {
  const all: Phrase[][] = [];
  const none: Phrase[] = [];
  let or = false;
  let count = 0;
  for (const m of term.matchAll(TOKEN)) {
    if (count >= MAX_PHRASES) break;
    const quoted = m[2] !== undefined;
    const negated = (quoted ? m[1] : m[3]) === "-";
    const raw = quoted ? (m[2] as string) : (m[4] as string);
    if (!quoted && !negated && raw.toLowerCase() === "or") {
      or = all.length > 0;
      continue;
    }
    const words = wordsOf(raw);
    if (words.length === 0) continue;
    count++;
    if (negated) none.push(words);
    else if (or) (all.at(-1) as Phrase[]).push(words);
    else all.push([words]);
    or = false;
  }
  return { all, none };
}

/** The words of the positive phrases: what the results are highlighted by. */
export function positiveWords(terms: SearchTerms): string[] {
  return [...new Set(terms.all.flat(2))];
}

function ftsPhrase(p: Phrase): string {
  return p.length === 1 ? `"${p[0]}"*` : `"${p.join(" ")}"`;
}

/** FTS5 `MATCH` text over `columns`; call only when `terms.all` is not empty. */
export function toFts5Match(terms: SearchTerms, columns: readonly string[]): string {
  const groups = terms.all.map((g) => `(${g.map(ftsPhrase).join(" OR ")})`).join(" AND ");
  const not = terms.none.length > 0 ? ` NOT (${terms.none.map(ftsPhrase).join(" OR ")})` : "";
  return `{${columns.join(" ")}} : ((${groups})${not})`;
}

function tsPhrase(p: Phrase): string {
  return p.length === 1 ? `'${p[0]}':*` : `(${p.map((w) => `'${w}'`).join(" <-> ")})`;
}

/** `to_tsquery` text; call only when `terms.all` is not empty. */
export function toTsQuery(terms: SearchTerms): string {
  const groups = terms.all.map((g) => `(${g.map(tsPhrase).join(" | ")})`).join(" & ");
  const not = terms.none.length > 0 ? ` & !(${terms.none.map(tsPhrase).join(" | ")})` : "";
  return `${groups}${not}`;
}
