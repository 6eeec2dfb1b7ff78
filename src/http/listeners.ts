/**
 * @module Opens the configured listeners (TCP on each bind address, or a UNIX socket) and routes them all into one
 * fastify application.
 */
import cluster from "node:cluster";
import { chmodSync, lstatSync, readFileSync, unlinkSync } from "node:fs";
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import type { FastifyInstance } from "fastify";
import type { Config, ListenerConfig } from "../config/schema.js";
import { METRICS_CONTENT_TYPE } from "../metrics/metrics.js";
import { METRICS_PATH } from "./paths.js";
import { LISTENER, type RawWithListener } from "./request.js";
import { answerClientError } from "./server.js";

export interface BoundAddress {
  listener: ListenerConfig;
  /** `http://host:port` or `unix:/path`. */
  url: string;
  server: Server;
}

const IPV6_UNAVAILABLE = new Set(["EADDRNOTAVAIL", "EAFNOSUPPORT"]);

function listen(server: Server, target: { port: number; host: string } | { path: string }): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(target, () => {
      server.off("error", reject);
      resolve();
    });
  });
}

/** Where `type: metrics` listeners get their text; null when this process does not open them (a cluster worker). */
export type MetricsSource = (() => Promise<string>) | null;

export async function startListeners(
  app: FastifyInstance,
  config: Config,
  warn: (message: string) => void,
  metrics: MetricsSource = null,
): Promise<BoundAddress[]> {
  await app.ready();
  const bound: BoundAddress[] = [];
  for (const listener of config.listeners) {
    if (listener.type === "metrics") {
      // Off unless enabled (validation has warned); in a cluster the primary opens it and merges every worker.
      if (config.enable_metrics && metrics) bound.push(...(await startMetricsListener(listener, metrics, warn)));
      continue;
    }
    if (listener.type !== "http") {
      warn(`listener of type ${listener.type} is not served by Gatehouse; skipped`);
      continue;
    }
    const handler = (req: IncomingMessage, res: ServerResponse) => {
      (req as RawWithListener)[LISTENER] = listener;
      app.routing(req, res);
    };
    const make = (): Server => {
      const server = listener.tls
        ? (createHttpsServer(
            {
              cert: readFileSync(config.tls_certificate_path!),
              key: readFileSync(config.tls_private_key_path!),
            },
            handler,
          ) as unknown as Server)
        : createHttpServer(handler);
      server.on("clientError", answerClientError);
      return server;
    };

    try {
      bound.push(...(await bindListener(listener, make, listener.tls ? "https" : "http", 8008, warn)));
    } catch (err) {
      for (const b of bound) b.server.close();
      throw err;
    }
  }
  return bound;
}

/**
 * Binds a listener's UNIX socket, or each of its addresses on one port, as Synapse does: an IPv6 address where
 * IPv6 is unavailable, and `0.0.0.0` where a dual-stack `::` already holds the port (Synapse's check_bind_error),
 * are skipped with a warning; any other failure closes what this listener bound and throws.
 */
async function bindListener(
  listener: ListenerConfig,
  make: () => Server,
  scheme: "http" | "https",
  defaultPort: number,
  warn: (message: string) => void,
): Promise<BoundAddress[]> {
  if (listener.path !== null) {
    // In a cluster the primary holds the socket and has already cleared a stale one; a worker unlinking the
    // path would cut off the socket its siblings share.
    if (!cluster.isWorker) removeStaleSocket(listener.path);
    const server = make();
    await listen(server, { path: listener.path });
    if (listener.mode !== null) chmodSync(listener.path, listener.mode);
    return [{ listener, url: `unix:${listener.path}`, server }];
  }
  const mine: BoundAddress[] = [];
  let port = listener.port ?? defaultPort;
  for (const host of listener.bind_addresses) {
    const server = make();
    try {
      await listen(server, { port, host });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? "";
      if (host.includes(":") && IPV6_UNAVAILABLE.has(code)) {
        warn(`cannot bind ${host} (${code}): IPv6 is not available here; skipped`);
        continue;
      }
      if (host === "0.0.0.0" && code === "EADDRINUSE" && mine.some((b) => b.url.includes("//[::]:"))) {
        warn(`cannot bind 0.0.0.0:${port} (EADDRINUSE): "::" already accepts IPv4 here; skipped`);
        continue;
      }
      for (const b of mine) b.server.close();
      throw new Error(`cannot listen on ${host}:${port}: ${(err as Error).message}`, { cause: err });
    }
    // With port 0, the first bind picks the port and the others share it.
    port = (server.address() as AddressInfo).port;
    const shown = host.includes(":") ? `[${host}]` : host;
    mine.push({ listener, url: `${scheme}://${shown}:${port}`, server });
  }
  if (mine.length === 0) throw new Error(`listener on port ${listener.port} could not bind any address`);
  return mine;
}

/**
 * A `type: metrics` listener: Prometheus text at Synapse's path and nothing else, apart from the client API, so
 * it can bind an address only the scraper reaches.
 */
export async function startMetricsListener(
  listener: ListenerConfig,
  metrics: () => Promise<string>,
  warn: (message: string) => void,
): Promise<BoundAddress[]> {
  const make = () =>
    createHttpServer((req, res) => {
      if (req.method !== "GET" || (req.url ?? "").split("?")[0] !== METRICS_PATH) {
        res
          .writeHead(404, { "content-type": "application/json" })
          .end('{"errcode":"M_UNRECOGNIZED","error":"Unrecognized request"}');
        return;
      }
      metrics().then(
        (text) => res.writeHead(200, { "content-type": METRICS_CONTENT_TYPE }).end(text),
        () => res.writeHead(500, { "content-type": "text/plain" }).end("metrics unavailable\n"),
      );
    });
  return bindListener(listener, make, "http", 9000, warn);
}

/** A socket file left by a crashed run would make listen() fail with EADDRINUSE. */
export function removeStaleSocket(path: string): void {
  try {
    if (lstatSync(path).isSocket()) unlinkSync(path);
  } catch {
    // Absent: nothing to remove.
  }
}

const IDLE_SWEEP_MS = 50;

/**
 * Stops accepting, lets in-flight requests finish, and closes each keep-alive connection once it is idle. Node closes
 * only the connections idle when `close()` is called: one whose answer is written later (a held `/sync` that the
 * stop ends) would otherwise keep the stop waiting until the client's keep-alive runs out, 5 s for most clients.
 */
export async function closeListeners(bound: BoundAddress[]): Promise<void> {
  await Promise.all(
    bound.map(
      (b) =>
        new Promise<void>((resolve) => {
          const sweep = setInterval(() => b.server.closeIdleConnections(), IDLE_SWEEP_MS);
          b.server.close(() => {
            clearInterval(sweep);
            resolve();
          });
          b.server.closeIdleConnections();
        }),
    ),
  );
}
