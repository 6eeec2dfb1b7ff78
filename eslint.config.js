// @ts-check
import js from "@eslint/js";
import { defineConfig, globalIgnores } from "eslint/config";
import tseslint from "typescript-eslint";

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
