/**
 * Plain HTTP calls to a test server, returning status, headers and parsed JSON.
 *
 * Requests go through `node:http` with a kept-alive agent rather than `fetch`: on loopback a `fetch` cost the test's
 * process 0.77–1.10 ms of CPU per request against 0.19–0.36 ms through `node:http` (docs/performance.md, "Test
 * suite"), and most of the suite's requests come through here. What `fetch` did that a test may rely on is kept:
 * redirects are followed (at most 20, 303 and a POST's 301/302 as a GET without its body) and a compressed answer
 * is decoded; nothing asks for compression (the compression tests speak `node:http` themselves); and the request
 * carries `fetch`'s `User-Agent` and `Accept` unless the test sets its own (a device's last-seen user agent is one).
 */
import http from "node:http";
import { promisify } from "node:util";
import { brotliDecompress, gunzip, inflate } from "node:zlib";

export interface HttpResult<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

interface RawAnswer {
  status: number;
  headers: Headers;
  body: Buffer;
}

const agent = new http.Agent({ keepAlive: true });
/** What `fetch` sends when the caller does not (lower-case names). */
const FETCH_DEFAULTS: Record<string, string> = { "user-agent": "node", accept: "*/*" };
const MAX_REDIRECTS = 20;
const decoders: Record<string, (b: Buffer) => Promise<Buffer>> = {
  gzip: promisify(gunzip),
  "x-gzip": promisify(gunzip),
  deflate: promisify(inflate),
  br: promisify(brotliDecompress),
};

interface Outgoing {
  url: URL;
  method: string;
  headers: Record<string, string>;
  body: string | Buffer | undefined;
  signal: AbortSignal | undefined;
}

function once({ url, method, headers, body, signal }: Outgoing): Promise<RawAnswer> {
  // Node frames a DELETE's or an OPTIONS' body only with an explicit length (it chunks POST and PUT by default).
  if (body !== undefined) headers = { ...headers, "content-length": String(Buffer.byteLength(body)) };
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, agent, signal }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("error", reject);
      res.on("end", () => {
        const out = new Headers();
        const raw = res.rawHeaders;
        for (let i = 0; i < raw.length; i += 2) out.append(raw[i]!, raw[i + 1]!);
        resolve({ status: res.statusCode ?? 0, headers: out, body: Buffer.concat(chunks) });
      });
    });
    req.on("error", reject);
    req.end(body);
  });
}

function send(out: Outgoing): Promise<RawAnswer> {
  return once(out).catch((err: unknown) => {
    // A keep-alive connection idle for the server's 5 s can be closed just as it is reused, when a busy event loop
    // (a worker compiling the OpenAPI schemas) kept the agent from retiring it first. A browser retries an
    // idempotent request on a fresh connection then; so do the tests. Anything else is the test's to see.
    if ((err as { code?: string }).code !== "ECONNRESET" || (out.method !== "GET" && out.method !== "HEAD")) throw err;
    return once(out);
  });
}

export async function call<T = Record<string, unknown>>(
  base: string,
  method: string,
  path: string,
  options: {
    json?: unknown;
    body?: string | Buffer;
    token?: string;
    headers?: Record<string, string>;
    /** Abort (reject) when no whole answer has come within this many milliseconds. */
    timeoutMs?: number;
  } = {},
): Promise<HttpResult<T>> {
  const own = new Set(Object.keys(options.headers ?? {}).map((k) => k.toLowerCase()));
  const defaults = Object.entries(FETCH_DEFAULTS).filter(([name]) => !own.has(name));
  let headers: Record<string, string> = { ...Object.fromEntries(defaults), ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let body: string | Buffer | undefined = options.body;
  if (options.json !== undefined) {
    body = JSON.stringify(options.json);
    headers["content-type"] ??= "application/json";
  }
  const signal = options.timeoutMs === undefined ? undefined : AbortSignal.timeout(options.timeoutMs);
  let url = new URL(base + path);
  let answer = await send({ url, method, headers, body, signal });
  for (let hops = 0; answer.status >= 300 && answer.status < 400 && answer.headers.has("location"); hops++) {
    if (hops === MAX_REDIRECTS) throw new Error(`more than ${MAX_REDIRECTS} redirects from ${base + path}`);
    if (answer.status === 303 || ((answer.status === 301 || answer.status === 302) && method === "POST")) {
      method = "GET";
      body = undefined;
      headers = Object.fromEntries(Object.entries(headers).filter(([k]) => !/^content-/i.test(k)));
    }
    url = new URL(answer.headers.get("location")!, url);
    answer = await send({ url, method, headers, body, signal });
  }
  const encoding = answer.headers.get("content-encoding")?.trim().toLowerCase();
  const decode = encoding ? decoders[encoding] : undefined;
  const text = (decode ? await decode(answer.body) : answer.body).toString("utf8");
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: answer.status, headers: answer.headers, body: parsed as T, text };
}
