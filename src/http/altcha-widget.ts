/**
 * @module The ALTCHA widget's browser files, served by Gatehouse itself from the `altcha` package (no CDN): its
 * strict-CSP build (`dist/external`: script and stylesheet apart, no inline style or worker), the PBKDF2 worker,
 * and two small scripts of ours, since the pages allow no inline script.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

export const ALTCHA_ASSETS_PREFIX = "/_gatehouse/altcha";

/**
 * The external build registers no proof-of-work algorithm (the default build inlines its workers as blob: URLs,
 * which the CSP refuses): this points each PBKDF2 variant at the worker file served beside it.
 */
const SETUP_JS = `"use strict";
for (const algorithm of ["PBKDF2/SHA-256", "PBKDF2/SHA-384", "PBKDF2/SHA-512"]) {
  globalThis.$altcha.algorithms.set(algorithm, () => new Worker("${ALTCHA_ASSETS_PREFIX}/workers/pbkdf2.js"));
}
`;

/** The spec's fallback contract once the stage is done: tell the client, whichever way it listens. */
const DONE_JS = `"use strict";
if (typeof window.onAuthDone === "function") window.onAuthDone();
else if (window.opener && window.opener.postMessage) window.opener.postMessage("authDone", "*");
`;

const FALLBACK_CSS = `body { font-family: system-ui, sans-serif; max-width: 30rem; margin: 2rem auto; padding: 0 1rem; }
altcha-widget { display: block; margin: 1rem 0; }
button { font: inherit; padding: 0.5rem 1.25rem; }
.error { color: #b00020; }
`;

export interface WidgetFile {
  body: Buffer;
  contentType: string;
}

const JS = "text/javascript; charset=utf-8";
const CSS = "text/css; charset=utf-8";

let files: Map<string, WidgetFile> | null = null;

/** Read once, on first use: a server with the CAPTCHA off never touches the package. */
export function altchaWidgetFiles(): Map<string, WidgetFile> {
  if (files) return files;
  const external = dirname(createRequire(import.meta.url).resolve("altcha/external"));
  const read = (path: string) => readFileSync(join(external, path));
  files = new Map<string, WidgetFile>([
    ["altcha.js", { body: read("altcha.js"), contentType: JS }],
    ["altcha.css", { body: read("altcha.css"), contentType: CSS }],
    ["workers/pbkdf2.js", { body: read("../workers/pbkdf2.js"), contentType: JS }],
    ["setup.js", { body: Buffer.from(SETUP_JS), contentType: JS }],
    ["done.js", { body: Buffer.from(DONE_JS), contentType: JS }],
    ["fallback.css", { body: Buffer.from(FALLBACK_CSS), contentType: CSS }],
  ]);
  return files;
}
