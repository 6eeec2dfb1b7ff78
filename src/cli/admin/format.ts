/**
 * @module How the admin commands print: the API's JSON with `--json`, otherwise aligned tables and key/value
 * lists with human dates (UTC, so output read on one machine means the same on another).
 */
import { cliIo } from "../io.js";

export type Cell = string | number | boolean | null | undefined;

export function printJson(value: unknown): void {
  cliIo().stdout.write(JSON.stringify(value, null, 2) + "\n");
}

/** Milliseconds since the epoch as `2026-01-31 14:05 UTC`; null as `-`. */
export function humanTime(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return "-";
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}

export function cellText(v: Cell): string {
  if (v === null || v === undefined || v === "") return "-";
  if (typeof v === "boolean") return v ? "yes" : "no";
  return String(v);
}

/** A table with a header row; columns as wide as their widest cell, two spaces apart. */
export function formatTable(headers: string[], rows: Cell[][]): string {
  const text = rows.map((r) => r.map(cellText));
  const widths = headers.map((h, i) => Math.max(h.length, ...text.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  return [line(headers), ...text.map(line)].join("\n") + "\n";
}

export function printTable(headers: string[], rows: Cell[][], empty = "(none)"): void {
  cliIo().stdout.write(rows.length === 0 ? `${empty}\n` : formatTable(headers, rows));
}

/** `key: value` lines, keys aligned. */
export function printKeyValues(pairs: [string, Cell][]): void {
  const width = Math.max(...pairs.map(([k]) => k.length));
  cliIo().stdout.write(pairs.map(([k, v]) => `${(k + ":").padEnd(width + 1)} ${cellText(v)}`).join("\n") + "\n");
}
