// @ts-check
import js from "@eslint/js";
import { defineConfig, globalIgnores } from "eslint/config";
import tseslint from "typescript-eslint";

/**
 * Layers, bottom to top: errors, config, version and matrix; the stores (src/db/); the services (accounts, sync,
 * keys, jobs, metrics, media …); the HTTP layer (src/http/); the routes (src/api/); the server wiring (src/server.ts,
 * src/process-notices.ts); the CLI. A file may import its own layer and those below, never one above.
 */
const ALL_ABOVE_BOTTOM = [
  "db",
  "accounts",
  "sync",
  "keys",
  "jobs",
  "metrics",
  "rooms",
  "push",
  "media",
  "auth-providers",
  "http",
  "api",
  "cli",
  "server",
  "process-notices",
];
const SERVICES = ["accounts", "sync", "keys", "jobs", "metrics", "rooms", "push", "media", "auth-providers"];

/**
 * `no-restricted-imports` for a layer: a relative import that reaches one of `names` under src/ fails. Files in a
 * folder reach src/ with `../`; the files at the top of src/ reach it with `./`.
 * @param {string} layer
 * @param {string[]} names
 * @param {{ top?: boolean }} [where]
 */
function importsNothingFrom(layer, names, where = {}) {
  const up = where.top ? "\\./" : "(\\.\\./)+";
  return {
    "no-restricted-imports": [
      "error",
      {
        patterns: [
          {
            regex: `^${up}(${names.join("|")})(/|\\.js$)`,
            message: `${layer} is below ${names.join(", ")}: a lower layer never imports a higher one (docs/architecture.md).`,
          },
        ],
      },
    ],
  };
}

export default defineConfig(
  globalIgnores(["dist/", "coverage/", "data/", "node_modules/"]),
  js.configs.recommended,
  tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // With noUncheckedIndexedAccess, `parts[0]!` is how code states an index it knows is in range; tsc already
      // makes every such spot an explicit choice.
      "@typescript-eslint/no-non-null-assertion": "off",
      // Numbers read fine in messages; `undefined`/`null`/objects in a template are still errors.
      "@typescript-eslint/restrict-template-expressions": ["error", { allowNumber: true }],
      // `(x) => void`-returning shorthand callbacks (`on("data", (d) => chunks.push(d))`) are not confusing.
      "@typescript-eslint/no-confusing-void-expression": ["error", { ignoreArrowShorthand: true }],
      // `[...s].length` counts code points on purpose (Matrix limits are in characters, not UTF-16 units).
      "@typescript-eslint/no-misused-spread": ["error", { allow: ["string"] }],
      // `const { secret: _secret, ...rest } = body` is how a key is dropped from an object.
      "@typescript-eslint/no-unused-vars": [
        "error",
        {
          argsIgnorePattern: "^_",
          varsIgnorePattern: "^_",
          caughtErrorsIgnorePattern: "^_",
          destructuredArrayIgnorePattern: "^_",
          ignoreRestSiblings: true,
        },
      ],
      // Fastify route handlers and commander actions are async by contract even when they await nothing; the rules
      // that catch real promise mistakes (no-floating-promises, no-misused-promises, await-thenable) stay on.
      "@typescript-eslint/require-await": "off",
    },
  },
  {
    files: ["src/config/**/*.ts", "src/matrix/**/*.ts"],
    rules: importsNothingFrom("This bottom layer", ALL_ABOVE_BOTTOM),
  },
  {
    // The web pages import src/shared/ too, so it may use nothing of the server's, not even the bottom layers.
    files: ["src/shared/**/*.ts"],
    rules: importsNothingFrom("src/shared (imported by the web pages)", [
      ...ALL_ABOVE_BOTTOM,
      "config",
      "matrix",
      "errors",
      "version",
    ]),
  },
  {
    files: ["src/errors.ts", "src/version.ts"],
    rules: importsNothingFrom("This bottom layer", ALL_ABOVE_BOTTOM, { top: true }),
  },
  {
    files: ["src/db/**/*.ts"],
    rules: importsNothingFrom(
      "The store layer",
      ALL_ABOVE_BOTTOM.filter((n) => n !== "db"),
    ),
  },
  {
    files: SERVICES.map((s) => `src/${s}/**/*.ts`),
    rules: importsNothingFrom("A service", ["http", "api", "cli", "server", "process-notices"]),
  },
  {
    files: ["src/http/**/*.ts"],
    rules: importsNothingFrom("The HTTP layer", ["api", "cli", "server", "process-notices"]),
  },
  {
    files: ["src/api/**/*.ts"],
    rules: importsNothingFrom("The route layer", ["cli", "server", "process-notices"]),
  },
  {
    files: ["src/server.ts", "src/process-notices.ts"],
    rules: importsNothingFrom("The server wiring", ["cli"], { top: true }),
  },
  {
    // Row types are declared, not checked: a driver can hand back a string for int8/numeric (PostgreSQL aggregates),
    // so Number(row.x) in the stores is deliberate even where the declared type is already number.
    files: ["src/db/**/*.ts"],
    rules: { "@typescript-eslint/no-unnecessary-type-conversion": "off" },
  },
  {
    // Vitest's asymmetric matchers (expect.any, expect.stringMatching) are typed `any`.
    files: ["test/**/*.ts"],
    rules: { "@typescript-eslint/no-unsafe-assignment": "off" },
  },
  {
    // Plain JavaScript (this file) is outside tsconfig.json, so type-aware rules cannot run on it.
    files: ["**/*.js", "**/*.mjs", "**/*.cjs"],
    extends: [tseslint.configs.disableTypeChecked],
  },
);
