import { availableParallelism } from "node:os";
import { defineConfig, type TestProjectInlineConfiguration } from "vitest/config";
import LongestFirst from "./test/setup/sequencer.js";

/** What the projects share; not `extends: true`, which would run the root's global setup once more per project. */
const common = {
  testTimeout: 60_000,
  hookTimeout: 60_000,
  pool: "forks",
} satisfies TestProjectInlineConfiguration["test"];

/**
 * Files that kill processes (a worker, a server with SIGKILL, the suite's PostgreSQL), test this process's threads
 * or memory, or read this process's metrics as absolute figures. They keep a fresh worker each, so nothing another
 * file left running is in what they measure, and nothing they kill belongs to another file. A file that only
 * spawns `gatehouse serve` or the CLI and stops its own children belongs in the shared project: a fresh worker
 * costs about 4 s of CPU in module loading, more than most such files' own work, and a spawned child needs no
 * fresh worker of its own.
 */
const ISOLATED = [
  "test/accounts/hash-pool.test.ts",
  // Measures its own process's memory during a 200 MB upload: no other file's leftovers in the figure.
  "test/media/large-upload.test.ts",
  // Expects no password hash in flight in this process's metrics.
  "test/ops/metrics.test.ts",
  "test/ops/workers.test.ts",
  "test/reliability/kill9.test.ts",
];

/**
 * Files that time how fast the server recovers, and so run alone, after everything else, with the machine to
 * themselves: with three workers' load beside it, PostgreSQL resuming from SIGSTOP once took longer than the 5 s the
 * outage test allows, which says nothing about the server.
 */
const ALONE = ["test/reliability/pg-outage.test.ts"];

export default defineConfig({
  test: {
    // The root's global setup runs once per run, whichever projects it includes; their provided values reach both.
    globalSetup: ["test/setup/postgres.ts", "test/setup/templates.ts"],
    // Vitest's default is one worker fewer than the cores: a single worker on a 2-core CI machine, idle while it
    // waits for the servers, CLIs, browsers and PostgreSQL that the tests drive. One more worker than cores keeps
    // the cores busy through those waits: on 2 cores, 3 workers ran the suite in 271 s where 2 took 317 s
    // (docs/performance.md, "The suite's order and workers, and cheaper starts").
    maxWorkers: availableParallelism() + 1,
    reporters: ["default"],
    // Longest files first across the projects, so that no long file is left for the end (test/setup/sequencer.ts).
    sequence: { sequencer: LongestFirst },
    projects: [
      // Most files run servers, stores and commands in process: a worker keeps its loaded modules (fastify, kysely,
      // the routes, the spec validators) from one file to the next instead of importing them again for each file,
      // which was a fifth of the suite's CPU time. Each file still opens, and closes, everything it uses.
      {
        test: {
          ...common,
          name: "node",
          isolate: false,
          include: ["test/**/*.test.ts"],
          exclude: ["test/web/**", ...ISOLATED, ...ALONE],
        },
      },
      { test: { ...common, name: "node-isolated", include: ISOLATED } },
      { test: { ...common, name: "node-alone", include: ALONE, maxWorkers: 1, sequence: { groupOrder: 1 } } },
      // The browser tests need the built pages; their project's global setup builds them only when they run. Each
      // file launches and closes its own browser and server, so they share their workers' loaded modules too.
      {
        test: {
          ...common,
          name: "web",
          isolate: false,
          include: ["test/web/**/*.test.ts"],
          globalSetup: ["test/setup/web.ts"],
        },
      },
    ],
  },
});
