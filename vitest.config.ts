import { availableParallelism } from "node:os";
import { defineConfig, type TestProjectInlineConfiguration } from "vitest/config";

/** What the projects share; not `extends: true`, which would run the root's global setup once more per project. */
const common = {
  testTimeout: 60_000,
  hookTimeout: 60_000,
  pool: "forks",
} satisfies TestProjectInlineConfiguration["test"];

/**
 * Files that start Gatehouse processes of their own (`gatehouse serve`, a CLI through its binary or a terminal,
 * worker processes), kill them, or test this process's threads or memory. They keep a fresh worker each, so a
 * slow start under load stays their own. A file whose server runs in process belongs in the shared project even
 * when it drives outside clients (synadm, matrix-nio) or runs the built CLI once: a fresh worker costs about 4 s of
 * CPU in module loading, more than such a file's own work.
 */
const ISOLATED = [
  "test/accounts/hash-pool.test.ts",
  "test/api/http-basics.test.ts",
  "test/api/logging.test.ts",
  "test/api/multi-process.test.ts",
  "test/cli/database-url.test.ts",
  "test/cli/gatehouse.test.ts",
  "test/cli/prompts-tty.test.ts",
  "test/cli/serve-*.test.ts",
  "test/config/files.test.ts",
  "test/config/generate.test.ts",
  "test/config/secret-and-server-name.test.ts",
  // Measures its own process's memory during a 200 MB upload: no other file's leftovers in the figure.
  "test/media/large-upload.test.ts",
  "test/multiprocess/**/*.test.ts",
  "test/ops/health.test.ts",
  "test/ops/metrics.test.ts",
  "test/ops/workers.test.ts",
  "test/reliability/kill9.test.ts",
  "test/reliability/pg-outage.test.ts",
  "test/rooms/stream-contract.test.ts",
];

export default defineConfig({
  test: {
    // The root's global setup runs once per run, whichever projects it includes; their provided values reach both.
    globalSetup: ["test/setup/postgres.ts", "test/setup/templates.ts"],
    // Vitest's default is one worker fewer than the cores: a single worker on a 2-core CI machine, idle while it
    // waits for the servers, CLIs and PostgreSQL that the tests drive. Two keep both cores busy.
    maxWorkers: Math.max(2, availableParallelism() - 1),
    reporters: ["default"],
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
          exclude: ["test/web/**", ...ISOLATED],
        },
      },
      { test: { ...common, name: "node-isolated", include: ISOLATED } },
      // The browser tests need the built pages; their project's global setup builds them only when they run.
      { test: { ...common, name: "web", include: ["test/web/**/*.test.ts"], globalSetup: ["test/setup/web.ts"] } },
    ],
  },
});
