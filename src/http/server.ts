/**
 * @module The HTTP application: one fastify instance that every listener routes into.
 *
 * A request goes one way: listener → CORS and logging hooks → route (`src/api/*`) → service (`src/accounts/*`) →
 * store (`src/db/*`). Anything thrown on the way becomes a Matrix error body here, and nothing else: a stack trace
 * never reaches a client.
 */
import type { Duplex } from "node:stream";
import compress from "@fastify/compress";
import Router from "find-my-way";
import Fastify, {
  LogController,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type HTTPMethods,
} from "fastify";
import type { AccountsContext } from "../accounts/context.js";
import type { RateLimiter } from "../accounts/ratelimit.js";
import type { RoomsContext } from "../rooms/context.js";
import type { MediaContext } from "../media/context.js";
import type { Config } from "../config/schema.js";
import { UiaIncompleteError } from "../accounts/uia.js";
import { isDatabaseUnavailable, isUnstorableValue } from "../db/database.js";
import { ErrCode, MatrixError } from "../errors.js";
import { countRequest, type ServerMetrics } from "../metrics/metrics.js";
import { METRICS_PATH } from "./paths.js";
import { clientIp, listenerOf, redactUrl } from "./request.js";

export interface AppDeps {
  config: Config;
  accounts: AccountsContext;
  rooms: RoomsContext;
  media: MediaContext;
  limiter: RateLimiter;
  /** What `/_synapse/metrics` serves; without it, the process's numbers and no database pool. */
  metrics?: ServerMetrics;
  /** This server's waiting `/sync`s: aborting one ends its wait at once (the server does, when it stops). */
  longPolls?: Set<AbortController>;
  /** Overrides `REQUEST_TIMEOUT_MS` (tests). */
  requestTimeoutMs?: number;
}

export type RouteModule = (app: FastifyInstance, deps: AppDeps) => void;

const CORS_HEADERS = {
  "access-control-allow-origin": "*",
  "access-control-allow-methods": "GET, HEAD, POST, PUT, DELETE, OPTIONS",
  "access-control-allow-headers": "X-Requested-With, Content-Type, Authorization, Date",
  "access-control-expose-headers": "Synapse-Trace-Id, Server",
};

const ROUTED_METHODS: HTTPMethods[] = ["GET", "POST", "PUT", "DELETE", "PATCH"];

// Matrix IDs contain characters (`@`, `:`) that must reach handlers as they were sent, encoded or not.
const ROUTER_OPTIONS = { ignoreTrailingSlash: false, maxParamLength: 1024 };

/** What a 503 asks clients to wait: about how long PostgreSQL takes to restart. */
const RETRY_AFTER_S = 2;

/**
 * The backstop for a request that has not been answered: longer than a /sync is held (60 s) and than a database
 * call can take (`connect_timeout` + `statement_timeout` by default), so it fires only on a bug. Routes that
 * legitimately run longer (the bulk import) opt out with `config: { longRunning: true }`.
 */
export const REQUEST_TIMEOUT_MS = 90_000;

/** Which listener `resources` a path needs (any one of them); paths not listed are served on every listener. */
function resourcesFor(path: string): readonly string[] | null {
  if (path.startsWith(METRICS_PATH)) return METRICS_RESOURCES;
  if (
    path.startsWith("/_matrix/client/") ||
    path.startsWith("/_synapse/") ||
    // Gatehouse's admin API and its web pages (which call the client and admin APIs on the same origin).
    path.startsWith("/_gatehouse") ||
    path.startsWith("/.well-known/matrix/client")
  ) {
    return CLIENT_RESOURCES;
  }
  if (path.startsWith("/_matrix/federation/")) return FEDERATION_RESOURCES;
  // Synapse serves it only on listeners with its `consent` resource; Gatehouse also on `client` ones.
  if (path.startsWith("/_matrix/consent")) return CONSENT_RESOURCES;
  // Synapse serves the media repository on `client`, `federation` and `media` listeners alike.
  if (path.startsWith("/_matrix/media/")) return MEDIA_RESOURCES;
  // Synapse serves the key API on `federation` listeners and on ones with its own `keys` resource.
  if (path.startsWith("/_matrix/key/")) return KEY_RESOURCES;
  return null;
}

const METRICS_RESOURCES = ["metrics"];
const CLIENT_RESOURCES = ["client"];
const FEDERATION_RESOURCES = ["federation"];
const CONSENT_RESOURCES = ["client", "consent"];
const KEY_RESOURCES = ["federation", "keys"];
const MEDIA_RESOURCES = ["client", "federation", "media"];

/**
 * Node refuses a malformed request or over-long headers (a URL past 16 KiB) before any route sees it, with an empty
 * body; each listener answers with a Matrix error instead, like every other refusal.
 */
export function answerClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (!socket.writable || err.code === "ECONNRESET") return void socket.destroy();
  const tooLarge = err.code === "HPE_HEADER_OVERFLOW";
  const body = JSON.stringify(
    tooLarge
      ? { errcode: ErrCode.TooLarge, error: "Request line or headers too large" }
      : { errcode: ErrCode.Unknown, error: "Bad request" },
  );
  socket.end(
    `HTTP/1.1 ${tooLarge ? "431 Request Header Fields Too Large" : "400 Bad Request"}\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n` +
      `Access-Control-Allow-Origin: *\r\n\r\n${body}`,
  );
}

const FASTIFY_JSON = "application/json; charset=utf-8";

export function buildHttpApp(deps: AppDeps, routes: RouteModule[]): FastifyInstance {
  const app = Fastify({
    logger: {
      level: deps.config.log_level,
    },
    // Requests are logged once, on completion, by the hook below, with any token in the URL hidden.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: deps.config.max_request_body_size,
    routerOptions: ROUTER_OPTIONS,
    return503OnClosing: true,
    // Routing can fail before any hook runs (a path that cannot be percent-decoded, an over-long parameter). No
    // route matches such a path, which Synapse answers 404 M_UNRECOGNIZED; never the framework's own body.
    // Written raw: no hook runs here, and fastify would add a charset to the Content-Type.
    frameworkErrors: (_err, _request, reply: FastifyReply) => {
      const body = JSON.stringify({ errcode: ErrCode.Unrecognized, error: "Unrecognized request" });
      reply.hijack();
      reply.raw.writeHead(404, {
        ...CORS_HEADERS,
        "content-type": "application/json",
        "content-length": Buffer.byteLength(body),
      });
      reply.raw.end(body);
    },
  });

  // Synapse reads the body as JSON whatever the Content-Type says; parsing is left to `jsonObjectBody`.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "buffer" }, (_req, body, done) => done(null, body));

  const requestTimeoutMs = deps.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
  app.addHook("onRequest", async (request, reply) => {
    reply.headers(CORS_HEADERS);
    if (!(request.routeOptions.config as { longRunning?: boolean } | undefined)?.longRunning) {
      const timer = setTimeout(() => {
        if (reply.sent || reply.raw.headersSent) return;
        request.log.warn({ url: redactUrl(request.url) }, "request timed out");
        reply.header("retry-after", String(RETRY_AFTER_S));
        void reply.status(503).send({ errcode: ErrCode.Unknown, error: "The request timed out" });
      }, requestTimeoutMs);
      timer.unref();
      reply.raw.once("close", () => clearTimeout(timer));
    }
    const listener = listenerOf(request);
    const needed = resourcesFor(request.url);
    if (listener && needed && !listener.resources.some((r) => r.names.some((n) => needed.includes(n)))) {
      throw new MatrixError(ErrCode.Unrecognized, "Unrecognized request");
    }
  });

  // Fastify labels JSON `application/json; charset=utf-8`; Synapse sends `application/json` (JSON is UTF-8 by
  // definition) and a strict client compares the whole value. A callback hook: no promise turn per request.
  app.addHook("onSend", (_request, reply, payload, done) => {
    if (reply.getHeader("content-type") === FASTIFY_JSON) reply.header("content-type", "application/json");
    done(null, payload);
  });

  // Hooks cost every request a promise turn: only install the ones the configuration can use.
  const anyCompression = deps.config.listeners.some((l) => l.resources.some((r) => r.compress));
  if (anyCompression) {
    // gzip (Synapse's only encoding) from 512 bytes, always through zlib's streams on libuv's threads: the plugin's
    // one-call path for small payloads (`syncThreshold`) would compress on the event loop, holding up every other
    // request. Installed now rather than through `register` (which runs it at `ready`): it wraps each route as the
    // route is added, so it must be in place before the routes below.
    compress(app, { encodings: ["gzip"], threshold: 512, syncThreshold: 0 }, (err) => {
      if (err) throw err;
    });
    // The plugin compresses on every listener; one whose resources do not ask for it opts out through the
    // plugin's per-request switch, decided here where the listener is known.
    app.addHook("onRequest", async (request) => {
      if (!listenerOf(request)?.resources.some((r) => r.compress)) request.headers["x-no-compression"] = "listener";
    });
  }

  // Known once: building the log record for every request only to drop it costs throughput.
  const logRequests = ["trace", "debug", "info"].includes(deps.config.log_level);
  if (logRequests)
    app.addHook("onResponse", async (request, reply) => {
      if (request.routeOptions.url === "/health") return; // Probed every few seconds; not news.
      request.log.info(
        {
          method: request.method,
          url: redactUrl(request.url),
          status: reply.statusCode,
          ms: Math.round(reply.elapsedTime),
          ip: clientIp(request),
        },
        "request",
      );
    });

  if (deps.config.enable_metrics)
    app.addHook("onResponse", async (request, reply) => {
      // The route pattern, never the raw URL: label values must stay few whatever clients send.
      const route = request.routeOptions.url ?? "unmatched";
      countRequest(request.method, route, reply.statusCode, reply.elapsedTime / 1000);
    });

  app.setErrorHandler((err: FastifyError | MatrixError | UiaIncompleteError, request, reply) => {
    if (err instanceof UiaIncompleteError) return reply.status(401).send(err.body);
    if (err instanceof MatrixError) {
      if (err.errcode === ErrCode.LimitExceeded && typeof err.extra.retry_after_ms === "number") {
        reply.header("retry-after", String(Math.ceil(err.extra.retry_after_ms / 1000)));
      }
      return reply.status(err.status).send(err.toJSON());
    }
    if (err.code === "FST_ERR_CTP_BODY_TOO_LARGE" || err.statusCode === 413) {
      return reply.status(413).send({ errcode: ErrCode.TooLarge, error: "Request body too large" });
    }
    if (typeof err.statusCode === "number" && err.statusCode >= 400 && err.statusCode < 500) {
      return reply.status(err.statusCode).send({ errcode: ErrCode.Unknown, error: err.message });
    }
    if (isUnstorableValue(err)) {
      return reply.status(400).send({
        errcode: ErrCode.InvalidParam,
        error: "The request holds a value that cannot be stored (a NUL character, or a key too long)",
      });
    }
    if (isDatabaseUnavailable(err)) {
      // Retryable: a 503 tells clients and proxies to try again, where Synapse's 500 looks like a bug.
      request.log.warn({ err: err.message, url: redactUrl(request.url) }, "database unavailable");
      reply.header("retry-after", String(RETRY_AFTER_S));
      return reply
        .status(503)
        .send({ errcode: ErrCode.Unknown, error: "The database is unavailable; try again shortly" });
    }
    request.log.error({ err, url: redactUrl(request.url) }, "unhandled error");
    return reply.status(500).send({ errcode: ErrCode.Unknown, error: "Internal server error" });
  });

  // Synapse answers a known path with the wrong method 405 M_UNRECOGNIZED. Registering a 405 route for every
  // missing method of every path (1,100 extra routes, and their HEADs) was half of a server's start-up CPU, paid by
  // every process and test server; instead a 404 asks a router of the known paths, built on the first 404.
  const methodsByUrl = new Map<string, Set<string>>();
  app.addHook("onRoute", (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const set = methodsByUrl.get(route.url) ?? new Set<string>();
    for (const m of methods) set.add(m);
    methodsByUrl.set(route.url, set);
  });
  let knownPaths: Router.Instance<Router.HTTPVersion.V1> | null = null;
  const isKnownPath = (method: string, path: string): boolean => {
    if (method !== "HEAD" && !(ROUTED_METHODS as string[]).includes(method)) return false;
    if (!knownPaths) {
      knownPaths = Router(ROUTER_OPTIONS);
      for (const url of methodsByUrl.keys()) if (url !== "*") knownPaths.on("GET", url, () => {});
    }
    return knownPaths.find("GET", path) !== null;
  };

  app.setNotFoundHandler((request, reply) => {
    const known = isKnownPath(request.method, request.url.split("?")[0]!);
    reply.status(known ? 405 : 404).send({ errcode: ErrCode.Unrecognized, error: "Unrecognized request" });
  });

  app.options("*", async (_request, reply) => reply.status(204).send());

  for (const register of routes) register(app, deps);
  return app;
}
