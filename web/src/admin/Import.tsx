/**
 * Bulk import from a CSV file: parsed here, previewed with a dry run, then sent to
 * `POST /_gatehouse/admin/v1/users/import` in batches. Rows without a password can get a generated one, listed once
 * after the import.
 */
import { useState, type ChangeEvent } from "react";
import { CsvError, IMPORT_COLUMNS, parseImportCsv, type ImportCsvRow } from "../../../src/shared/csv";
import { Checkbox, CopyField, ErrorBox, Notice, Select } from "../shared/components";
import { generatePassword } from "../shared/password";
import { GATEHOUSE, useConsole } from "./session";

const BATCH = 10_000;

type Row = ImportCsvRow;

interface RowResult {
  line: number;
  user_id: string | null;
  outcome: string;
  errcode?: string;
  error?: string;
}

/** The CLI's reader (the same lines in messages); spaces around a cell are the spreadsheet's, an empty cell no value. */
function toRows(text: string): { rows: Row[]; problem: string | null } {
  let parsed: ImportCsvRow[];
  try {
    parsed = parseImportCsv(text);
  } catch (err) {
    if (err instanceof CsvError) return { rows: [], problem: `The file cannot be read: ${err.message}.` };
    throw err;
  }
  const rows: Row[] = [];
  for (const r of parsed) {
    const row: Row = { line: r.line, username: "" };
    let blank = true;
    for (const c of IMPORT_COLUMNS) {
      const v = r[c]?.trim() ?? "";
      if (v !== "") {
        row[c] = v;
        blank = false;
      }
    }
    if (!blank) rows.push(row);
  }
  return { rows, problem: rows.length === 0 ? "The file has no rows under its header." : null };
}

export function Import() {
  const { call } = useConsole();
  const [text, setText] = useState("");
  const [fileName, setFileName] = useState<string | null>(null);
  const [onConflict, setOnConflict] = useState<"stop" | "skip" | "update">("stop");
  const [generate, setGenerate] = useState(true);
  const [preview, setPreview] = useState<{ results: RowResult[]; rows: Row[]; generated: string[] } | null>(null);
  const [done, setDone] = useState<{ results: RowResult[]; passwords: string } | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const readFile = (e: ChangeEvent<HTMLInputElement>) => {
    const file = e.target.files?.[0];
    if (!file) return;
    setFileName(file.name);
    void file.text().then((t) => {
      setText(t);
      setPreview(null);
      setDone(null);
    });
  };

  const send = async (rows: Row[], dryRun: boolean): Promise<RowResult[]> => {
    const results: RowResult[] = [];
    for (let i = 0; i < rows.length; i += BATCH) {
      const r = await call<{ results: RowResult[]; stopped: boolean }>("POST", `${GATEHOUSE}/users/import`, {
        rows: rows.slice(i, i + BATCH),
        dry_run: dryRun,
        on_conflict: onConflict,
      });
      results.push(...r.results);
      if (r.stopped) break;
    }
    return results;
  };

  /** Passwords are generated before the dry run, so the preview checks exactly the rows that will be sent. */
  const runPreview = async () => {
    const parsed = toRows(text);
    setProblem(parsed.problem);
    setPreview(null);
    setDone(null);
    if (parsed.problem) return;
    const generated: string[] = [];
    const rows = parsed.rows.map((r) => {
      if (!generate || r.password || r.password_hash) return r;
      const password = generatePassword();
      generated.push(`${r.username},${password}`);
      return { ...r, password };
    });
    setBusy(true);
    setError(null);
    try {
      setPreview({ results: await send(rows, true), rows, generated });
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  const runImport = async () => {
    if (!preview) return;
    setBusy(true);
    setError(null);
    // A generated password is for a new account only: an existing one being updated keeps its own.
    const creating = new Set(preview.results.filter((r) => r.outcome === "would_create").map((r) => r.line));
    const generatedFor = new Set(preview.generated.map((g) => g.slice(0, g.lastIndexOf(","))));
    const rows = preview.rows.map((r) =>
      generatedFor.has(r.username) && !creating.has(r.line) ? { ...r, password: undefined } : r,
    );
    try {
      const results = await send(rows, false);
      const made = new Set(results.filter((r) => r.outcome === "created").map((r) => r.line));
      const lines = preview.rows.filter((r) => made.has(r.line)).map((r) => r.username);
      const passwords = preview.generated.filter((g) => lines.includes(g.slice(0, g.lastIndexOf(","))));
      setDone({ results, passwords: passwords.length ? `username,password\n${passwords.join("\n")}` : "" });
      setPreview(null);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  const counts = (results: RowResult[]) => {
    const c = new Map<string, number>();
    for (const r of results) c.set(r.outcome, (c.get(r.outcome) ?? 0) + 1);
    return [...c].map(([k, n]) => `${n} ${k.replace("_", " ")}`).join(", ");
  };

  return (
    <>
      <h1>Import users</h1>
      <div className="card">
        <p>
          A CSV file whose first line names its columns: <code>username</code> and any of <code>password</code>,{" "}
          <code>password_hash</code>, <code>displayname</code>, <code>admin</code>, <code>email</code>. Nothing is
          written until you confirm the preview.
        </p>
        <div className="field">
          <label htmlFor="import-file">CSV file</label>
          <input id="import-file" type="file" accept=".csv,text/csv" onChange={readFile} />
          {fileName && <div className="hint">{fileName}</div>}
        </div>
        <div className="field">
          <label htmlFor="import-text">Or paste the rows</label>
          <textarea
            id="import-text"
            rows={6}
            value={text}
            onChange={(e) => {
              setText(e.target.value);
              setPreview(null);
            }}
            spellCheck={false}
          />
        </div>
        <Select<"stop" | "skip" | "update">
          label="When an account exists already"
          value={onConflict}
          onChange={setOnConflict}
          options={[
            ["stop", "Stop the import"],
            ["skip", "Skip the row"],
            ["update", "Update the account"],
          ]}
        />
        <Checkbox label="Generate a password for rows without one" checked={generate} onChange={setGenerate} />
        {problem && <div className="problem">{problem}</div>}
        <ErrorBox error={error} />
        <button type="button" className="primary" disabled={busy || !text.trim()} onClick={() => void runPreview()}>
          Preview (dry run)
        </button>
      </div>
      {preview && (
        <section className="card" aria-label="Preview">
          <h2>Preview</h2>
          <p>{counts(preview.results)}. Nothing has been written yet.</p>
          <ResultTable results={preview.results} />
          <div className="buttons">
            <button type="button" className="primary" disabled={busy} onClick={() => void runImport()}>
              Import as previewed
            </button>
            <button type="button" onClick={() => setPreview(null)}>
              Cancel
            </button>
          </div>
        </section>
      )}
      {done && (
        <section className="card" aria-label="Import result">
          <h2>Imported</h2>
          <Notice kind="ok">{counts(done.results)}.</Notice>
          {done.passwords && (
            <CopyField label="Generated passwords (shown once)" value={done.passwords} secret multiline />
          )}
          <ResultTable results={done.results} />
        </section>
      )}
    </>
  );
}

function ResultTable({ results }: { results: RowResult[] }) {
  return (
    <div className="table-wrap">
      <table className="stack" aria-label="Rows">
        <thead>
          <tr>
            <th>Line</th>
            <th>User ID</th>
            <th>Outcome</th>
            <th>Problem</th>
          </tr>
        </thead>
        <tbody>
          {results.slice(0, 500).map((r) => (
            <tr key={r.line}>
              <td data-label="Line">{r.line}</td>
              <td data-label="User ID">{r.user_id ?? "–"}</td>
              <td data-label="Outcome" className={r.outcome === "error" ? "status-bad" : undefined}>
                {r.outcome.replace("_", " ")}
              </td>
              <td data-label="Problem">{r.error ?? ""}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {results.length > 500 && <p className="muted">The first 500 of {results.length} rows are shown.</p>}
    </div>
  );
}
