/**
 * Plain HTTP calls to a test server, returning status, headers and parsed JSON.
 */
export interface HttpResult<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
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
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let body: string | Buffer | undefined = options.body;
  if (options.json !== undefined) {
    body = JSON.stringify(options.json);
    headers["content-type"] ??= "application/json";
  }
  const signal = options.timeoutMs === undefined ? undefined : AbortSignal.timeout(options.timeoutMs);
  const res = await fetch(base + path, { method, headers, body, signal }).catch((err: unknown) => {
    // A keep-alive connection idle for the server's 5 s can be closed just as fetch reuses it, when a busy event
    // loop (a worker compiling the OpenAPI schemas) kept fetch from retiring it first. A browser retries an
    // idempotent request on a fresh connection then; so do the tests. Anything else is the test's to see.
    const reset = (err as { cause?: { code?: string } }).cause?.code === "ECONNRESET";
    if (!reset || (method !== "GET" && method !== "HEAD")) throw err;
    return fetch(base + path, { method, headers, body, signal });
  });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: res.status, headers: res.headers, body: parsed as T, text };
}
