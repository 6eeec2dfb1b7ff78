/**
 * Calls to this server's Matrix and admin APIs. Every page talks only to its own origin (the CSP allows nothing
 * else), so paths are absolute without a host.
 */

/** A refusal from the server (`{"errcode","error"}`), or `M_CONNECTION` when the server could not be reached. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly errcode: string,
    message: string,
    readonly body: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = "ApiError";
  }
}

export interface RequestOptions {
  token?: string | null;
  body?: unknown;
  /** Statuses answered as a body rather than thrown (the 401 of a User-Interactive Auth step). */
  accept?: number[];
}

export async function api<T = Record<string, unknown>>(
  method: string,
  path: string,
  options: RequestOptions = {},
): Promise<T> {
  const headers: Record<string, string> = {};
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.body !== undefined) headers["content-type"] = "application/json";
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      credentials: "omit",
      cache: "no-store",
    });
  } catch {
    throw new ApiError(0, "M_CONNECTION", "The server could not be reached");
  }
  let parsed: unknown = null;
  try {
    parsed = await response.json();
  } catch {
    // Not JSON (a proxy's error page): judged by its status alone below.
  }
  const body = parsed && typeof parsed === "object" ? (parsed as Record<string, unknown>) : {};
  if (response.ok || options.accept?.includes(response.status)) return body as T;
  throw new ApiError(
    response.status,
    typeof body.errcode === "string" ? body.errcode : "M_UNKNOWN",
    typeof body.error === "string" ? body.error : `The server answered ${response.status}`,
    body,
  );
}

/** A user ID as one path segment. */
export const enc = (s: string): string => encodeURIComponent(s);

export function query(params: Record<string, string | number | boolean | null | undefined | string[]>): string {
  const q = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value === null || value === undefined || value === "") continue;
    if (Array.isArray(value)) for (const v of value) q.append(key, v);
    else q.set(key, String(value));
  }
  const s = q.toString();
  return s ? `?${s}` : "";
}
