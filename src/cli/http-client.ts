/**
 * @module A small JSON-over-HTTP client for the CLI that can also reach a server through a UNIX socket.
 *
 * Every failure (refused connection, TLS, DNS, timeout, a body that is not JSON) comes back as a `CliError` with
 * one line to print, so no command ever ends in a stack trace.
 */
import { request as httpRequest, type IncomingMessage, type RequestOptions } from "node:http";
import { request as httpsRequest } from "node:https";
import { STATUS_CODES } from "node:http";
import { CliError } from "./errors.js";

/** Where a server is: an http(s) base URL, or a UNIX socket (`unix:/path/to.sock`). */
export type ServerLocation = string;

export interface JsonResponse {
  status: number;
  reason: string;
  /** Parsed JSON, or undefined when the body was not JSON. */
  body: unknown;
}

const TIMEOUT_MS = 30_000;

/** The location is not a URL this client can use: a usage problem, which callers may report with their own code. */
export class InvalidLocationError extends CliError {}

/** Nothing answered (refused, DNS, TLS, timeout): callers that promise a distinct exit code for this can tell. */
export class UnreachableError extends CliError {
  constructor(
    message: string,
    /** The reason alone, e.g. `ECONNREFUSED (is the server running?)`. */
    readonly reason: string,
  ) {
    super(message, 1, true);
  }
}

export function describeLocation(location: ServerLocation): string {
  return location;
}

export function requestJson(
  location: ServerLocation,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<JsonResponse> {
  return new Promise((resolve, reject) => {
    let options: RequestOptions;
    let useTls = false;
    if (location.startsWith("unix:")) {
      options = { socketPath: location.slice("unix:".length), path, method };
    } else {
      let url: URL;
      try {
        url = new URL(location.replace(/\/+$/, "") + path);
      } catch {
        reject(new InvalidLocationError(`ERROR! ${JSON.stringify(location)} is not a valid server URL`, 1, true));
        return;
      }
      if (url.protocol !== "http:" && url.protocol !== "https:") {
        reject(
          new InvalidLocationError(
            `ERROR! the server URL must start with http:// or https:// (got ${location})`,
            1,
            true,
          ),
        );
        return;
      }
      useTls = url.protocol === "https:";
      options = {
        hostname: url.hostname.replace(/^\[|\]$/g, ""),
        port: url.port === "" ? undefined : Number(url.port),
        path: url.pathname + url.search,
        method,
      };
    }
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body), "utf8");
    options.headers = {
      accept: "application/json",
      ...(payload ? { "content-type": "application/json", "content-length": String(payload.length) } : {}),
      ...headers,
    };
    const req = (useTls ? httpsRequest : httpRequest)(options, (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch {
          parsed = undefined;
        }
        const status = res.statusCode ?? 0;
        resolve({ status, reason: res.statusMessage || STATUS_CODES[status] || "", body: parsed });
      });
      res.on("error", (err) => reject(networkError(location, err)));
    });
    req.setTimeout(TIMEOUT_MS, () => req.destroy(Object.assign(new Error("timed out"), { code: "ETIMEDOUT" })));
    req.on("error", (err) => reject(networkError(location, err)));
    if (payload) req.write(payload);
    req.end();
  });
}

function networkError(location: ServerLocation, err: Error & { code?: string }): UnreachableError {
  const code = err.code ?? "";
  const hint =
    code === "ECONNREFUSED" || code === "ENOENT"
      ? " (is the server running?)"
      : code.startsWith("ERR_TLS") || code.includes("CERT") || code === "DEPTH_ZERO_SELF_SIGNED_CERT"
        ? " (TLS certificate not accepted)"
        : "";
  const reason = `${code || err.message}${hint}`;
  return new UnreachableError(`ERROR! Could not reach ${location}: ${reason}`, reason);
}
