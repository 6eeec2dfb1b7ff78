/**
 * The order the suite's files start in. Vitest's own order runs its projects one after the other in name order
 * (`node`, `node-isolated`, `web`), each project's files longest first, and on a machine with no results cache
 * (every CI run's first suite) largest file first. That left the suite's longest files (the browser tests and the
 * isolated ones that kill servers and PostgreSQL) for the very end, where one worker ran them while the other sat
 * idle: 125 worker-seconds idle in a 326 s run on 2 workers.
 *
 * Here the small projects go first and the shared `node` project last, each project's files longest first, so the
 * run ends on the many short files that keep both workers busy to the last second. A project's files stay together
 * because a worker is reused only while the next file in the queue belongs to its own project: interleaving them
 * would start a fresh worker (about 4 s of module loading) at every switch.
 *
 * A file's expected duration is this machine's last result (Vitest's cache), else `durations.json` (seconds, files
 * of 2 s or more, from a run on a 2-core machine: `node --import tsx test/setup/write-durations.ts report.json`
 * with the report of `npx vitest run --reporter=json --outputFile.json=report.json`), else 1 s.
 */
import { readFileSync } from "node:fs";
import { relative } from "node:path";
import { BaseSequencer, type TestSpecification } from "vitest/node";

const KNOWN: Record<string, number> = JSON.parse(readFileSync(new URL("durations.json", import.meta.url), "utf8"));
const UNKNOWN_MS = 1000;
/** The project whose files share workers, and so runs last. */
const SHARED_PROJECT = "node";

export default class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const root = this.ctx.config.root;
    const expected = new Map<TestSpecification, number>();
    for (const spec of files) {
      const path = relative(root, spec.moduleId);
      const cached = this.ctx.cache.getFileTestResults(`${spec.project.name}:${path}`)?.duration;
      expected.set(spec, cached ?? (KNOWN[path] !== undefined ? KNOWN[path] * 1000 : UNKNOWN_MS));
    }
    // A project's rank: its longest file, so the project holding the longest file starts first; the shared one last.
    const longest = new Map<string, number>();
    for (const [spec, ms] of expected)
      longest.set(spec.project.name, Math.max(longest.get(spec.project.name) ?? 0, ms));
    const rank = (name: string) => (name === SHARED_PROJECT ? -1 : longest.get(name)!);
    return [...files].sort(
      (a, b) =>
        rank(b.project.name) - rank(a.project.name) ||
        (a.project.name < b.project.name ? -1 : a.project.name > b.project.name ? 1 : 0) ||
        expected.get(b)! - expected.get(a)!,
    );
  }
}
