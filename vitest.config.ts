import { availableParallelism } from "node:os";
import { defineConfig, type TestProjectInlineConfiguration } from "vitest/config";

/** What both projects share; not `extends: true`, which would run the root's global setup once more per project. */
const common = {
  testTimeout: 60_000,
  hookTimeout: 60_000,
  pool: "forks",
} satisfies TestProjectInlineConfiguration["test"];

export default defineConfig({
  test: {
    // The root's global setup runs once per run, whichever projects it includes; their provided values reach both.
    globalSetup: ["test/setup/postgres.ts", "test/setup/templates.ts"],
    // Vitest's default is one worker fewer than the cores: a single worker on a 2-core CI machine, idle while it
    // waits for the servers, CLIs and PostgreSQL that the tests drive. Two keep both cores busy.
    maxWorkers: Math.max(2, availableParallelism() - 1),
    reporters: ["default"],
    projects: [
      { test: { ...common, name: "node", include: ["test/**/*.test.ts"], exclude: ["test/web/**"] } },
      // The browser tests need the built pages; their project's global setup builds them only when they run.
      { test: { ...common, name: "web", include: ["test/web/**/*.test.ts"], globalSetup: ["test/setup/web.ts"] } },
    ],
  },
});
