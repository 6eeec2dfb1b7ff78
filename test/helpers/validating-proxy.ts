/**
 * A loopback HTTP proxy for putting in front of a test server when a real client drives it: every request goes to
 * the server as it came (method, path and query, headers, body), every response goes back to the client as the
 * server gave it, and each JSON response is checked against the Matrix spec with `expectSpecResponse` on the side.
 * What does not fit lands in `mismatches`, which a test asserts is empty at the end; the client never notices.
 *
 * Only hop-by-hop headers (`Connection`, `Keep-Alive`, `Transfer-Encoding`, …) are per connection, as for any
 * proxy: node:http frames each side's messages itself. There is no proxy timeout: a long-poll the client holds
 * open for minutes passes through, and a request the client abandons is abandoned upstream too, so the server sees
 * the disconnect at once.
 */
import { Agent, createServer, request as httpRequest, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { brotliDecompressSync, gunzipSync, inflateSync } from "node:zlib";
import { expectSpecResponse } from "./openapi.js";

/** One request as it reached the proxy; `status` and `ms` are filled in when its response has been sent. */
export interface ProxiedRequest {
  method: string;
  /** Path and query, as sent. */
  url: string;
  /** The path without the query. */
  path: string;
  /** `performance.now()` when the request arrived. */
  at: number;
  status?: number;
  ms?: number;
}

/** A response the spec's schema gets wrong, with the reason; matched on method, path (no query), status and body. */
export interface SpecException {
  method: string;
  path: RegExp;
  status: number;
  /** The exact body (compared as JSON) that is excused; any other body is still checked in full. */
  body: unknown;
  why: string;
}

/**
 * Responses whose spec schema is wrong for what Synapse (and Gatehouse, deliberately) answer. Each entry is as
 * narrow as possible and says why; a mismatch it covers goes to `excused` instead of `mismatches`.
 */
export const SPEC_EXCEPTIONS: SpecException[] = [
  {
    // The spec requires username/password/uris/ttl and says nothing about a server without TURN
    // (matrix-org/matrix-spec#373, #1795). Synapse and Dendrite answer 200 `{}` then, and clients (matrix-js-sdk,
    // Element) read that as "no TURN server"; Gatehouse does the same (docs/api.md). A real TURN answer is checked.
    method: "GET",
    path: /^\/_matrix\/client\/(?:r0|v3|unstable)\/voip\/turnServer$/,
    status: 200,
    body: {},
    why: "no TURN server configured: 200 {} as Synapse (the spec does not cover this case)",
  },
];

export interface ValidatingProxy {
  /** The proxy's base URL, e.g. `http://127.0.0.1:41234`. */
  url: string;
  /** Every request seen, in order of arrival. */
  requests: ProxiedRequest[];
  /** One readable message per response that does not fit the spec (or could not be validated or forwarded). */
  mismatches: string[];
  /** Mismatches covered by `SPEC_EXCEPTIONS`, with the exception's reason. */
  excused: string[];
  /** How many requests with this method (any, when null) and a path matching `path` have arrived so far. */
  count(method: string | null, path: RegExp): number;
  /** Waits until every finished response has been validated. */
  settled(): Promise<void>;
  /** Stops listening, drops every connection (both sides), and waits for pending validations. */
  close(): Promise<void>;
}

/** RFC 9110 §7.6.1: these describe one connection and are never forwarded as they are. */
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

function endToEnd(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const listed = new Set(
    (headers.connection ?? "")
      .split(",")
      .map((s) => s.trim().toLowerCase())
      .filter(Boolean),
  );
  const out: IncomingHttpHeaders = {};
  for (const [k, v] of Object.entries(headers)) {
    if (!HOP_BY_HOP.has(k) && !listed.has(k) && v !== undefined) out[k] = v;
  }
  return out;
}

function decode(body: Buffer, encoding: string | undefined): Buffer {
  switch ((encoding ?? "identity").toLowerCase()) {
    case "gzip":
    case "x-gzip":
      return gunzipSync(body);
    case "deflate":
      return inflateSync(body);
    case "br":
      return brotliDecompressSync(body);
    default:
      return body;
  }
}

export async function startValidatingProxy(target: string): Promise<ValidatingProxy> {
  const upstream = new URL(target);
  // A new upstream connection per request: a kept-alive one can be closed by the server's idle timeout (node's
  // default 5 s) just as a request goes out on it, which fails that request with "socket hang up" (seen when a
  // matrix-nio run kept the js-sdk clients' connections idle for 5 s). On loopback a connection costs nothing.
  const agent = new Agent({ keepAlive: false });
  const requests: ProxiedRequest[] = [];
  const mismatches: string[] = [];
  const excused: string[] = [];
  const pending = new Set<Promise<void>>();
  const sockets = new Set<Socket>();

  const check = (method: string, url: string, status: number, contentType: string, raw: Buffer): Promise<void> => {
    const path = url.split("?")[0]!;
    const where = `${method} ${path} → ${status}`;
    const isJson = /^application\/(?:[\w.+-]*\+)?json\b/i.test(contentType);
    if (!isJson) {
      // Every Matrix error is a JSON body; a non-JSON success (media, an empty OPTIONS answer) has no schema here.
      if (status >= 400 && method !== "HEAD") mismatches.push(`${where}: error response is not JSON (${contentType})`);
      return Promise.resolve();
    }
    let body: unknown;
    try {
      body = raw.length === 0 ? undefined : JSON.parse(raw.toString("utf8"));
    } catch (e) {
      mismatches.push(`${where}: body is not valid JSON (${(e as Error).message}): ${raw.toString("utf8", 0, 200)}`);
      return Promise.resolve();
    }
    return expectSpecResponse(method, url, status, body).catch((e: unknown) => {
      const message = e instanceof Error ? e.message : String(e);
      const exception = SPEC_EXCEPTIONS.find(
        (x) =>
          x.method === method &&
          x.status === status &&
          x.path.test(path) &&
          JSON.stringify(x.body) === JSON.stringify(body),
      );
      if (exception) excused.push(`${where}: ${exception.why}`);
      else mismatches.push(message);
    });
  };

  const track = (p: Promise<void>) => {
    pending.add(p);
    void p.finally(() => pending.delete(p));
  };

  const server = createServer((req, res) => {
    const method = req.method ?? "GET";
    const url = req.url ?? "/";
    const entry: ProxiedRequest = { method, url, path: url.split("?")[0]!, at: performance.now() };
    requests.push(entry);

    const out = httpRequest({
      agent,
      protocol: upstream.protocol,
      hostname: upstream.hostname,
      port: upstream.port,
      method,
      path: url,
      headers: endToEnd(req.headers),
    });
    let clientGone = false;
    res.on("close", () => {
      if (!res.writableFinished) {
        // The client gave up (e.g. the SDK aborting its long-poll on stopClient): so does the server's side.
        clientGone = true;
        out.destroy();
      }
    });
    out.on("error", (e) => {
      if (clientGone) return;
      mismatches.push(`${method} ${entry.path}: proxy could not forward: ${e.message}`);
      if (!res.headersSent) {
        res.writeHead(502, { "content-type": "text/plain" });
        res.end(`proxy error: ${e.message}`);
      } else {
        res.destroy();
      }
    });
    out.on("response", (up) => {
      const status = up.statusCode ?? 502;
      res.writeHead(status, up.statusMessage, endToEnd(up.headers));
      const chunks: Buffer[] = [];
      up.on("data", (chunk: Buffer) => {
        chunks.push(chunk);
        res.write(chunk);
      });
      up.on("end", () => {
        entry.status = status;
        entry.ms = performance.now() - entry.at;
        // Validation is registered before the client gets the end of the body, so `settled()` after the client
        // has its answer always includes it.
        try {
          const raw = decode(Buffer.concat(chunks), up.headers["content-encoding"]);
          track(check(method, url, status, up.headers["content-type"] ?? "", raw));
        } catch (e) {
          mismatches.push(`${method} ${entry.path} → ${status}: cannot decode body: ${(e as Error).message}`);
        }
        res.end();
      });
      up.on("error", () => res.destroy());
    });
    req.pipe(out);
  });
  // No timeout of ours may cut a long-poll short (the SDK holds /sync for 30 s, and may ask for more).
  server.requestTimeout = 0;
  server.timeout = 0;
  // Longer than any keep-alive a client assumes after a response, so it never reuses a socket we just closed.
  server.keepAliveTimeout = 120_000;
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  const settled = async () => {
    while (pending.size > 0) await Promise.all([...pending]);
  };

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    mismatches,
    excused,
    count(method, path) {
      return requests.filter((r) => (method === null || r.method === method) && path.test(r.path)).length;
    },
    settled,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sockets) s.destroy();
      agent.destroy();
      await closed;
      await settled();
    },
  };
}
