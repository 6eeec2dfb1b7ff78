/**
 * @module Opens the configured listeners (TCP on each bind address, or a UNIX socket) and routes them all into one
 * fastify application.
 */
import { chmodSync, lstatSync, readFileSync, unlinkSync } from "node:fs";
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import type { FastifyInstance } from "fastify";
import type { Config, ListenerConfig } from "../config/schema.js";
import { LISTENER, type RawWithListener } from "./request.js";

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

export async function startListeners(
  app: FastifyInstance,
  config: Config,
  warn: (message: string) => void,
): Promise<BoundAddress[]> {
  await app.ready();
  const bound: BoundAddress[] = [];
  for (const listener of config.listeners) {
    if (listener.type !== "http") {
      warn(`listener of type ${listener.type} is not served by Gatehouse; skipped`);
      continue;
    }
    const handler = (req: IncomingMessage, res: ServerResponse) => {
      (req as RawWithListener)[LISTENER] = listener;
      app.routing(req, res);
    };
    const make = (): Server =>
      listener.tls
        ? (createHttpsServer(
            {
              cert: readFileSync(config.tls_certificate_path!),
              key: readFileSync(config.tls_private_key_path!),
            },
            handler,
          ) as unknown as Server)
        : createHttpServer(handler);

    if (listener.path !== null) {
      removeStaleSocket(listener.path);
      const server = make();
      await listen(server, { path: listener.path });
      if (listener.mode !== null) chmodSync(listener.path, listener.mode);
      bound.push({ listener, url: `unix:${listener.path}`, server });
      continue;
    }
    const mine: BoundAddress[] = [];
    let port = listener.port ?? 8008;
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
        for (const b of [...bound, ...mine]) b.server.close();
        throw new Error(`cannot listen on ${host}:${port}: ${(err as Error).message}`);
      }
      // With port 0, the first bind picks the port and the others share it.
      port = (server.address() as AddressInfo).port;
      const shown = host.includes(":") ? `[${host}]` : host;
      mine.push({ listener, url: `${listener.tls ? "https" : "http"}://${shown}:${port}`, server });
    }
    if (mine.length === 0) throw new Error(`listener on port ${listener.port} could not bind any address`);
    bound.push(...mine);
  }
  return bound;
}

/** A socket file left by a crashed run would make listen() fail with EADDRINUSE. */
function removeStaleSocket(path: string): void {
  try {
    if (lstatSync(path).isSocket()) unlinkSync(path);
  } catch {
    // Absent: nothing to remove.
  }
}

/** Stops accepting, lets in-flight requests finish, then closes idle keep-alive connections. */
export async function closeListeners(bound: BoundAddress[]): Promise<void> {
  await Promise.all(
    bound.map(
      (b) =>
        new Promise<void>((resolve) => {
          b.server.close(() => resolve());
          b.server.closeIdleConnections();
        }),
    ),
  );
}
