/**
 * @module `gatehouse user import FILE.csv`: reads the whole file, then sends it in batches to an importer (the
 * database directly, or a running server's `POST /_gatehouse/admin/v1/users/import`), with a progress bar on a
 * terminal and a summary at the end.
 *
 * Generated passwords are written to their file and fsynced before the batch that uses them is sent, so a crash
 * can leave a password nobody used, never an account whose password nobody has. Only rows that a dry run of the
 * batch says would create an account get one, so a re-run generates nothing for accounts that exist.
 */
import { closeSync, fstatSync, fsyncSync, openSync, readFileSync, writeSync } from "node:fs";
import { randomInt } from "node:crypto";
import { Option, type Command } from "commander";
import {
  MAX_IMPORT_ROWS,
  ON_CONFLICT,
  type ImportBatchResult,
  type ImportOptions,
  type ImportRow,
  type ImportRowResult,
  type OnConflict,
} from "../accounts/import-rows.js";
import type { AdminActor } from "../accounts/audit.js";
import type { AccountsContext } from "../accounts/context.js";
import { GATEHOUSE_ADMIN } from "../http/paths.js";
import { CsvError, parseImportCsv } from "../shared/csv.js";
import { canonicalEmail } from "../shared/email.js";
import { CliError, EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from "./errors.js";
import { httpCall } from "./admin/http-backend.js";
import { cliIo } from "./io.js";
import { readAllStdin } from "./prompts.js";

/** Sends one batch; both importers answer exactly what `importUsers` does. */
export type Importer = (rows: ImportRow[], opts: ImportOptions) => Promise<ImportBatchResult>;

export function databaseImporter(ctx: AccountsContext, actor: AdminActor): Importer {
  // Loaded on first use: the import's database code is all of the server's, which an import over HTTP never needs.
  return async (rows, opts) => {
    const { importUsers } = await import("../accounts/bulk-import.js");
    return importUsers(ctx, actor, rows, opts);
  };
}

/** The admin API's `POST /_gatehouse/admin/v1/users/import`; a refused request ends the run as every admin command. */
export function httpImporter(baseUrl: string, token: string): Importer {
  return (rows, opts) =>
    httpCall<ImportBatchResult>(baseUrl, token, "POST", `${GATEHOUSE_ADMIN}/v1/users/import`, {
      rows,
      dry_run: opts.dryRun,
      on_conflict: opts.onConflict,
    });
}

export interface UserImportOptions {
  file: string;
  dryRun?: boolean;
  onConflict?: OnConflict;
  /** Where generated passwords go; without it, a new account's row needs a password or a password_hash. */
  generatePasswords?: string | null;
  batchSize?: number;
  /** Where the progress bar and warnings go (default cliIo().stderr); the bar only when it is a terminal. */
  stderr?: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stdout?: NodeJS.WritableStream;
  /** Print the counts and every row's result as one JSON object instead of the summary. */
  json?: boolean;
}

export const DEFAULT_BATCH = 1000;
const GENERATED_LENGTH = 24;
const CLASSES = ["ABCDEFGHJKLMNPQRSTUVWXYZ", "abcdefghijkmnopqrstuvwxyz", "23456789", "-_.+=@%"];

/** 24 characters with at least one of each class, so any password policy short of 25 characters accepts it. */
export function generatePassword(): string {
  const all = CLASSES.join("");
  const chars = CLASSES.map((c) => c.charAt(randomInt(c.length)));
  while (chars.length < GENERATED_LENGTH) chars.push(all.charAt(randomInt(all.length)));
  for (let i = chars.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [chars[i], chars[j]] = [chars[j]!, chars[i]!];
  }
  return chars.join("");
}

/** The password file: appended to, never truncated; created 0600; a warning if others can read it. */
class PasswordFile {
  private readonly fd: number;

  constructor(
    readonly path: string,
    warn: (line: string) => void,
  ) {
    try {
      this.fd = openSync(path, "a", 0o600);
    } catch (err) {
      throw new CliError(`error: cannot open ${path}: ${(err as Error).message}`, EXIT_USAGE);
    }
    const st = fstatSync(this.fd);
    if ((st.mode & 0o077) !== 0) {
      warn(`warning: ${path} is readable by others (mode ${(st.mode & 0o777).toString(8)}): chmod 600 it`);
    }
    if (st.size === 0) writeSync(this.fd, "user_id,password\n");
  }

  /** Written and on disk before the batch that creates these accounts is sent. */
  add(entries: [string, string][]): void {
    if (entries.length === 0) return;
    writeSync(this.fd, entries.map(([u, p]) => `${u},${p}\n`).join(""));
    fsyncSync(this.fd);
  }

  close(): void {
    closeSync(this.fd);
  }
}

/** The key two rows naming the same account share: the localpart, lower-cased. */
function accountKey(username: string): string {
  const u = username.toLowerCase();
  return u.startsWith("@") && u.includes(":") ? u.slice(1, u.indexOf(":")) : u;
}

/** Duplicates across the whole file (the server sees one batch at a time): the later row is the error. */
function duplicateErrors(rows: ImportRow[]): Map<number, ImportRowResult> {
  const errors = new Map<number, ImportRowResult>();
  const users = new Map<string, number>();
  const emails = new Map<string, number>();
  rows.forEach((row, i) => {
    const key = accountKey(row.username);
    // An address that is not one is the server's to refuse, line by line.
    const email = (row.email ? canonicalEmail(row.email) : null) ?? "";
    const fail = (error: string) =>
      errors.set(i, { line: row.line, user_id: null, outcome: "error", errcode: "M_INVALID_PARAM", error });
    if (key !== "" && users.has(key)) fail(`${row.username} is already on line ${users.get(key)}`);
    else if (email !== "" && emails.has(email)) fail(`${email} is already on line ${emails.get(email)}`);
    if (key !== "" && !users.has(key)) users.set(key, row.line);
    if (email !== "" && !emails.has(email)) emails.set(email, row.line);
  });
  return errors;
}

class Progress {
  private readonly start = performance.now();
  constructor(
    private readonly out: UserImportOptions["stderr"] & object,
    private readonly total: number,
    private readonly enabled: boolean,
  ) {}

  update(done: number): void {
    if (!this.enabled) return;
    const seconds = (performance.now() - this.start) / 1000;
    const rate = seconds > 0 ? done / seconds : 0;
    const eta = rate > 0 ? Math.ceil((this.total - done) / rate) : 0;
    const width = 30;
    const filled = this.total === 0 ? width : Math.round((done / this.total) * width);
    const bar = "#".repeat(filled) + ".".repeat(width - filled);
    const n = (x: number) => Math.round(x).toLocaleString("en-US");
    this.out.write(`\r[${bar}] ${n(done)}/${n(this.total)} rows  ${n(rate)} rows/s  ETA ${eta}s\x1b[K`);
  }

  finish(): void {
    if (this.enabled) this.out.write("\r\x1b[K");
  }
}

interface Tally {
  created: number;
  updated: number;
  skipped: number;
  errors: ImportRowResult[];
}

function tally(results: ImportRowResult[]): Tally {
  const t: Tally = { created: 0, updated: 0, skipped: 0, errors: [] };
  for (const r of results) {
    if (r.outcome === "created" || r.outcome === "would_create") t.created++;
    else if (r.outcome === "updated" || r.outcome === "would_update") t.updated++;
    else if (r.outcome === "skipped" || r.outcome === "would_skip") t.skipped++;
    else t.errors.push(r);
  }
  return t;
}

/** The summary printed at the end, one error per line with its line number. */
export function formatSummary(
  file: string,
  results: ImportRowResult[],
  total: number,
  opts: { dryRun: boolean; stopped: boolean; passwordFile: string | null; generated: number },
): string {
  const t = tally(results);
  const verb = (done: string, would: string) => (opts.dryRun ? would : done);
  const lines = [
    `${opts.dryRun ? "Dry run of" : "Imported"} ${file}: ${t.created} ${verb("created", "to create")}, ` +
      `${t.updated} ${verb("updated", "to update")}, ${t.skipped} ${verb("skipped", "to skip")}, ` +
      `${t.errors.length} error${t.errors.length === 1 ? "" : "s"} (${total} rows)`,
  ];
  for (const e of t.errors) {
    lines.push(`  line ${e.line}: ${e.user_id ? `${e.user_id}: ` : ""}${e.error} (${e.errcode})`);
  }
  if (opts.stopped) {
    const last = results[results.length - 1];
    lines.push(`Stopped at line ${last?.line} (--on-conflict stop): the rows after it were not imported.`);
  }
  if (opts.dryRun) lines.push("Dry run: nothing was written.");
  else if (opts.passwordFile && opts.generated > 0) {
    lines.push(
      `${opts.generated} generated password${opts.generated === 1 ? "" : "s"} written to ${opts.passwordFile}`,
    );
  }
  return lines.join("\n") + "\n";
}

/**
 * Runs an import; returns the exit code: 0 every row fine, 1 a row failed or `stop` ended the import, 2 the file
 * could not be read or parsed (nothing was sent).
 */
export async function runUserImport(importer: Importer, options: UserImportOptions): Promise<number> {
  const stderr = options.stderr ?? cliIo().stderr;
  const stdout = options.stdout ?? cliIo().stdout;
  const dryRun = options.dryRun ?? false;
  const onConflict = options.onConflict ?? "stop";
  const batchSize = options.batchSize ?? DEFAULT_BATCH;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > MAX_IMPORT_ROWS) {
    throw new CliError(`error: --batch-size must be 1-${MAX_IMPORT_ROWS}`, EXIT_USAGE);
  }
  let text: string;
  try {
    text = options.file === "-" ? await readAllStdin() : readFileSync(options.file, "utf8");
  } catch (err) {
    throw new CliError(`error: cannot read ${options.file}: ${(err as Error).message}`, EXIT_USAGE);
  }
  let rows: ImportRow[];
  try {
    rows = parseImportCsv(text);
  } catch (err) {
    if (err instanceof CsvError) throw new CliError(`error: ${options.file}: ${err.message}`, EXIT_USAGE);
    throw err;
  }

  const genPath = options.generatePasswords ?? null;
  // A dry run writes nothing, the password file included.
  const passwords = genPath && !dryRun ? new PasswordFile(genPath, (l) => stderr.write(l + "\n")) : null;
  const duplicates = duplicateErrors(rows);
  const progress = new Progress(stderr, rows.length, stderr.isTTY === true);
  const results: ImportRowResult[] = [];
  let stopped = false;
  let generated = 0;
  try {
    progress.update(0);
    for (let offset = 0; offset < rows.length && !stopped; offset += batchSize) {
      const batch = rows.slice(offset, offset + batchSize);
      // With `stop`, a duplicate ends the import at its line: send only the rows before it.
      let localError: ImportRowResult | null = null;
      let send: ImportRow[] = [];
      for (let i = 0; i < batch.length; i++) {
        const dup = duplicates.get(offset + i);
        if (!dup) send.push(batch[i]!);
        else if (onConflict === "stop") {
          localError = dup;
          break;
        }
      }
      let batchResults: ImportRowResult[] = [];
      if (send.length > 0) {
        if (genPath) {
          const r = await withGeneratedPasswords(importer, send, { dryRun, onConflict }, passwords);
          send = r.rows;
          generated += r.generated;
        }
        const result = await importer(send, { dryRun, onConflict });
        batchResults = result.results;
        stopped = result.stopped;
      }
      if (!stopped && onConflict !== "stop") {
        for (let i = 0; i < batch.length; i++) {
          const dup = duplicates.get(offset + i);
          if (dup) batchResults.push(dup);
        }
        batchResults.sort((a, b) => a.line - b.line);
      } else if (!stopped && localError) {
        batchResults.push(localError);
        stopped = true;
      }
      results.push(...batchResults);
      progress.update(Math.min(offset + batch.length, rows.length));
    }
  } finally {
    progress.finish();
    passwords?.close();
  }
  if (options.json) {
    const t = tally(results);
    const summary = { created: t.created, updated: t.updated, skipped: t.skipped, errors: t.errors.length };
    stdout.write(
      JSON.stringify(
        { file: options.file, dry_run: dryRun, stopped, rows: rows.length, ...summary, generated, results },
        null,
        2,
      ) + "\n",
    );
  } else {
    stdout.write(
      formatSummary(options.file, results, rows.length, { dryRun, stopped, passwordFile: genPath, generated }),
    );
  }
  return stopped || results.some((r) => r.outcome === "error") ? EXIT_FAILURE : EXIT_OK;
}

/**
 * Gives a generated password to each row with neither password nor hash that would create an account: a dry run
 * of the batch says which, then their passwords reach the file, fsynced, before the caller sends the batch.
 */
async function withGeneratedPasswords(
  importer: Importer,
  rows: ImportRow[],
  opts: ImportOptions,
  file: PasswordFile | null,
): Promise<{ rows: ImportRow[]; generated: number }> {
  const lacking = (r: ImportRow) => !r.password && !r.password_hash;
  if (!rows.some(lacking)) return { rows, generated: 0 };
  const candidate = rows.map((r) => (lacking(r) ? { ...r, password: generatePassword() } : r));
  if (opts.dryRun) return { rows: candidate, generated: 0 };
  const preview = await importer(candidate, { ...opts, dryRun: true });
  const creates = new Set(preview.results.filter((r) => r.outcome === "would_create").map((r) => r.line));
  const userIds = new Map(preview.results.map((r) => [r.line, r.user_id]));
  const entries: [string, string][] = [];
  const out = rows.map((r, i) => {
    if (!lacking(r) || !creates.has(r.line)) return r;
    entries.push([userIds.get(r.line) ?? r.username, candidate[i]!.password!]);
    return candidate[i]!;
  });
  file?.add(entries);
  return { rows: out, generated: entries.length };
}

export interface UserImportFlags {
  dryRun?: boolean;
  onConflict: OnConflict;
  generatePasswords?: string;
  batchSize: number;
}

/** Declares `user import`'s argument and options; the caller adds the connection options and the action. */
export function defineUserImport(cmd: Command): Command {
  return cmd
    .description(
      "Create (or update) accounts from a CSV file with a header row: username, and any of password, password_hash " +
        "(bcrypt or argon2id), displayname, admin, email. Exit 0: every row fine; 1: a row failed or the import " +
        "stopped; 2: the file could not be read or parsed (nothing imported).",
    )
    .argument("<file>", "the CSV file")
    .option("--dry-run", "check every row, conflicts included, and write nothing")
    .addOption(
      new Option("--on-conflict <mode>", "an account that exists (or a bad row): stop at it, skip it, or update it")
        .choices([...ON_CONFLICT])
        .default("stop"),
    )
    .option(
      "--generate-passwords <file>",
      "give rows with no password a generated one, appended to FILE (created mode 0600) before the accounts are made",
    )
    .addOption(
      new Option("--batch-size <n>", `rows per transaction or request (1-${MAX_IMPORT_ROWS})`)
        .default(DEFAULT_BATCH)
        .argParser((v) => Number(v)),
    );
}
