/**
 * Rewrites durations.json (what sequencer.ts orders a run without a results cache by) from a Vitest JSON report:
 * `node --import tsx test/setup/write-durations.ts report.json`. Only files of 2 s or more, in whole seconds.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { relative } from "node:path";

interface Report {
  testResults: { name: string; startTime: number; endTime: number }[];
}

const report = JSON.parse(readFileSync(process.argv[2]!, "utf8")) as Report;
const seconds = report.testResults
  .map((f) => [relative(process.cwd(), f.name), Math.round((f.endTime - f.startTime) / 1000)] as const)
  .filter(([, s]) => s >= 2)
  .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
writeFileSync(new URL("durations.json", import.meta.url), `${JSON.stringify(Object.fromEntries(seconds), null, 2)}\n`);
