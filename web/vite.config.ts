/**
 * The console and the sign-up page, built into dist/web for the server to serve (src/http/static.ts). Both pages
 * share one asset folder, so shared code (forms, error display) is downloaded once.
 */
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

export default defineConfig({
  root: here("."),
  base: "/_gatehouse/",
  // No JSX plugin: Vite's own transform compiles React's automatic runtime; Fast Refresh is not needed.
  oxc: { jsx: { runtime: "automatic", importSource: "react" } },
  build: {
    outDir: here("../dist/web"),
    emptyOutDir: true,
    // The polyfill would be an inline script, which the pages' CSP (script-src 'self') refuses.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    reportCompressedSize: false,
    rollupOptions: {
      input: { admin: here("admin/index.html"), register: here("register/index.html") },
      output: { chunkFileNames: "assets/shared-[hash].js", assetFileNames: "assets/style-[hash][extname]" },
    },
  },
});
