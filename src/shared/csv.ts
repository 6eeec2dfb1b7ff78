/**
 * @module CSV for the bulk import (`gatehouse user import` and the console's Import page): an RFC 4180 reader
 * (quoted fields, doubled quotes, line breaks inside quotes, CRLF or LF, a leading BOM as spreadsheets write it) and
 * the import file's columns.
 *
 * Every record keeps the line it starts on, so a message about a row names the line an editor shows, even when an
 * earlier field spans several lines. Imported by the CLI and the web pages alike, so it uses nothing of Node's.
 */

export class CsvError extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(`line ${line}: ${message}`);
  }
}

export interface CsvRecord {
  /** 1-based line on which the record starts. */
  line: number;
  fields: string[];
}

/** Every record of `text`; blank lines are skipped (a trailing newline makes no empty record). */
export function parseCsv(text: string): CsvRecord[] {
  const s = text.startsWith("\uFEFF") ? text.slice(1) : text;
  const records: CsvRecord[] = [];
  let line = 1;
  let i = 0;
  while (i < s.length) {
    const start = line;
    const fields: string[] = [];
    for (;;) {
      let field = "";
      if (s[i] === '"') {
        const opened = line;
        i++;
        for (;;) {
          if (i >= s.length) throw new CsvError("a quoted field is not closed", opened);
          const c = s[i]!;
          if (c === '"') {
            if (s[i + 1] === '"') {
              field += '"';
              i += 2;
              continue;
            }
            i++;
            break;
          }
          if (c === "\n") line++;
          field += c;
          i++;
        }
        if (i < s.length && s[i] !== "," && s[i] !== "\n" && s[i] !== "\r") {
          throw new CsvError('text after a closing quote (write a quote inside a quoted field as "")', line);
        }
      } else {
        while (i < s.length && s[i] !== "," && s[i] !== "\n" && s[i] !== "\r") {
          if (s[i] === '"') throw new CsvError("a quote inside an unquoted field (quote the whole field)", line);
          field += s.charAt(i);
          i++;
        }
      }
      fields.push(field);
      if (s[i] === ",") {
        i++;
        continue;
      }
      break;
    }
    // End of record: CRLF, LF, or the end of the text.
    if (s[i] === "\r") i++;
    if (s[i] === "\n") i++;
    line++;
    if (!(fields.length === 1 && fields[0] === "")) records.push({ line: start, fields });
  }
  return records;
}

/** The columns an import file may have, in any order; `username` is required. */
export const IMPORT_COLUMNS = ["username", "password", "password_hash", "displayname", "admin", "email"] as const;
type ImportColumn = (typeof IMPORT_COLUMNS)[number];

/** One account of an import file: the line it starts on and each column's text as written ("" when empty). */
export type ImportCsvRow = { line: number; username: string } & Partial<Record<ImportColumn, string>>;

/** The rows of an import file, checked for shape only (the rules are the server's): a header row, then accounts. */
export function parseImportCsv(text: string): ImportCsvRow[] {
  const [header, ...records] = parseCsv(text);
  if (!header)
    throw new CsvError(`the file is empty: the first line must name the columns (${IMPORT_COLUMNS.join(",")})`, 1);
  const names = header.fields.map((f) => f.trim().toLowerCase());
  const unknown = names.filter((n) => !(IMPORT_COLUMNS as readonly string[]).includes(n));
  if (unknown.length > 0) {
    throw new CsvError(
      `unknown column${unknown.length > 1 ? "s" : ""} ${unknown.map((u) => JSON.stringify(u)).join(", ")} (known: ${IMPORT_COLUMNS.join(", ")})`,
      header.line,
    );
  }
  const twice = names.filter((n, i) => names.indexOf(n) !== i);
  if (twice.length > 0) throw new CsvError(`column ${JSON.stringify(twice[0])} appears twice`, header.line);
  if (!names.includes("username")) throw new CsvError('the header has no "username" column', header.line);
  const columns = names as ImportColumn[];
  return records.map((r) => {
    if (r.fields.length !== columns.length) {
      const hint = r.fields.some((f) => f.startsWith("$argon2"))
        ? ' (an argon2id hash has commas in it: put it in double quotes, "$argon2id$v=19$m=...,t=...,p=...$...")'
        : "";
      throw new CsvError(`${r.fields.length} fields, but the header has ${columns.length}${hint}`, r.line);
    }
    const row: ImportCsvRow = { line: r.line, username: "" };
    columns.forEach((c, i) => (row[c] = r.fields[i]!));
    return row;
  });
}
