/**
 * The summary table every benchmark part contributes rows to, and number formatting shared by the parts.
 */

export interface Row {
  figure: string;
  value: string;
  ceiling: string;
  ratio: string;
  target: string;
}

export function fmt(n: number, digits = 1): string {
  return n >= 100 ? Math.round(n).toLocaleString("en-US") : n.toFixed(digits);
}

/** Prints `rows` as a Markdown table under `headers`, columns padded to their widest cell. */
export function printTable<K extends string>(rows: Record<K, string>[], headers?: Record<K, string>): void {
  const head = headers ?? (SUMMARY_HEADERS as Record<K, string>);
  const all = [head, ...rows];
  const keys = Object.keys(head) as K[];
  const widths = keys.map((k) => Math.max(...all.map((r) => r[k].length)));
  const line = (r: Record<K, string>) => "| " + keys.map((k, i) => r[k].padEnd(widths[i]!)).join(" | ") + " |";
  console.log(line(head));
  console.log("|" + widths.map((w) => "-".repeat(w + 2)).join("|") + "|");
  for (const r of rows) console.log(line(r));
}

const SUMMARY_HEADERS: Row = {
  figure: "figure",
  value: "Gatehouse",
  ceiling: "ceiling (same run)",
  ratio: "ratio",
  target: "target",
};
