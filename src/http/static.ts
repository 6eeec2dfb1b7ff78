/**
 * @module The web pages Gatehouse serves from its built bundle (`dist/web`, made by `npm run build` from `web/`):
 * the operators' console at `/_gatehouse/admin/`, the sign-up page at `/_gatehouse/register/`, and their hashed
 * assets at `/_gatehouse/assets/`.
 *
 * Both pages are single-page apps: any path under a page that is not a file answers that page's `index.html`, so a
 * reload on `/_gatehouse/admin/users/@a:b` works. The console's API shares its prefix (`/_gatehouse/admin/v1/…`):
 * an unknown API path there still answers a Matrix 404, never HTML.
 */
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { extname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { FastifyReply } from "fastify";
import { ErrCode, MatrixError } from "../errors.js";
import type { RouteModule } from "./server.js";

export const WEB_PREFIX = "/_gatehouse";

/**
 * The pages only load their own scripts and styles and only talk to this server. No inline script or style is
 * allowed, so an injected string cannot run; `frame-ancestors 'none'` stops click-jacking of the console's buttons.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  // blob: for media the console fetches with its token (authenticated media cannot be an `<img src>`).
  "img-src 'self' data: blob:",
  "font-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join("; ");

export const SECURITY_HEADERS: Record<string, string> = {
  "content-security-policy": CONTENT_SECURITY_POLICY,
  "x-content-type-options": "nosniff",
  // Invite links carry a registration token in the query: it must never leak to another site in a Referer.
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
  "cross-origin-opener-policy": "same-origin",
  "permissions-policy": "camera=(), microphone=(), geolocation=()",
};

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".json": "application/json",
  ".map": "application/json",
  ".woff2": "font/woff2",
  ".txt": "text/plain; charset=utf-8",
};

/** Vite names assets `<name>-<hash>.<ext>`; nothing else (no `/`, no `..`) may reach the file system. */
const ASSET_NAME = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*\.[a-z0-9]+$/;

/** Where the bundle is: beside the compiled server (`dist/http` → `dist/web`), or `dist/web` when run from `src/`. */
function candidateRoots(): string[] {
  return [
    fileURLToPath(new URL("../web/", import.meta.url)),
    fileURLToPath(new URL("../../dist/web/", import.meta.url)),
  ];
}

export function findWebRoot(candidates: string[] = candidateRoots()): string | null {
  return candidates.find((dir) => existsSync(join(dir, "admin", "index.html"))) ?? null;
}

function notBuilt(): MatrixError {
  return new MatrixError(
    ErrCode.NotFound,
    "This Gatehouse has no web pages: its web bundle (dist/web) is missing; run `npm run build`",
  );
}

async function sendFile(reply: FastifyReply, path: string, cache: string): Promise<FastifyReply> {
  let body: Buffer;
  try {
    body = await readFile(path);
  } catch {
    throw new MatrixError(ErrCode.NotFound, "Not found");
  }
  reply.headers(SECURITY_HEADERS);
  reply.header("content-type", CONTENT_TYPES[extname(path)] ?? "application/octet-stream");
  reply.header("cache-control", cache);
  return reply.send(body);
}

/** Hashed names change with their content, so a year is safe; `index.html` names the current hashes. */
const IMMUTABLE = "public, max-age=31536000, immutable";
const REVALIDATE = "no-cache";

export function webRoutes(options: { root?: () => string | null } = {}): RouteModule {
  // Looked up on each request until found: a development tree may be built after the server started.
  let found: string | null = null;
  const root = (): string => {
    found ??= (options.root ?? findWebRoot)();
    if (found === null) throw notBuilt();
    return found;
  };

  return (app, { config }) => {
    const pages: [string, boolean][] = [
      ["admin", config.web.console],
      ["register", config.web.signup],
    ];
    if (!pages.some(([, enabled]) => enabled)) return;

    /**
     * # `GET /_gatehouse/assets/{name}`
     * - The pages' scripts and styles, cached for a year (their names carry a content hash).
     */
    app.get(`${WEB_PREFIX}/assets/:name`, async (request, reply) => {
      const { name } = request.params as { name: string };
      if (!ASSET_NAME.test(name)) throw new MatrixError(ErrCode.NotFound, "Not found");
      return sendFile(reply, join(root(), "assets", name), IMMUTABLE);
    });

    for (const [page, enabled] of pages) {
      if (!enabled) continue;
      const base = `${WEB_PREFIX}/${page}`;
      const index = async (_request: unknown, reply: FastifyReply) =>
        sendFile(reply, join(root(), page, "index.html"), REVALIDATE);

      /**
       * # `GET /_gatehouse/admin/`, `GET /_gatehouse/register/` (and every path below them)
       * - The page's `index.html`, never cached, with the security headers; `/_gatehouse/admin/v1/…` is the API.
       */
      app.get(base, async (_request, reply) => reply.redirect(`${base}/`, 301));
      app.get(`${base}/`, index);
      app.get(`${base}/*`, async (request, reply) => {
        const rest = (request.params as { "*": string })["*"];
        if (page === "admin" && /^v\d+\//.test(rest)) {
          throw new MatrixError(ErrCode.Unrecognized, "Unrecognized request");
        }
        return index(request, reply);
      });
    }
  };
}
