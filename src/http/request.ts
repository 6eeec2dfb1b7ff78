/**
 * @module Reading what a request carries: its JSON body (parsed as Synapse parses it), its access token, and the
 * listener it arrived on.
 */
import type { IncomingMessage } from "node:http";
import type { FastifyRequest } from "fastify";
import type { ListenerConfig } from "../config/schema.js";
import { ErrCode, MatrixError } from "../errors.js";

/** Set on each raw request by the listener that accepted it. */
export const LISTENER = Symbol("gatehouse.listener");

export type RawWithListener = IncomingMessage & { [LISTENER]?: ListenerConfig };

export function listenerOf(request: FastifyRequest): ListenerConfig | undefined {
  return (request.raw as RawWithListener)[LISTENER];
}

/** Strict: bytes that are not UTF-8 make the body "not JSON", as in Synapse, rather than U+FFFD in stored data. */
const UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

/**
 * The body as a JSON object, or Synapse's errors: not JSON (an empty body included) is 400 `M_NOT_JSON`, JSON that
 * is not an object is 400 `M_BAD_JSON`. The body arrives as raw bytes whatever the Content-Type, because clients
 * and tools do not all send `application/json`.
 */
export function jsonObjectBody(request: FastifyRequest): Record<string, unknown> {
  const raw = request.body;
  let value: unknown;
  let text: string;
  try {
    if (!Buffer.isBuffer(raw) || raw.length === 0) throw new Error("empty");
    text = UTF8.decode(raw);
    value = JSON.parse(text);
  } catch {
    throw new MatrixError(ErrCode.NotJson, "Content not JSON.");
  }
  if (nestingDepth(text) > MAX_JSON_DEPTH) {
    throw new MatrixError(ErrCode.BadJson, `Content nested more than ${MAX_JSON_DEPTH} levels deep.`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new MatrixError(ErrCode.BadJson, "Content must be a JSON object.");
  }
  return value as Record<string, unknown>;
}

/**
 * JSON.parse copes with any depth, but the recursive code after it (JSON.stringify when a UIA session stores the
 * request, a deep copy) overflows the stack somewhere past a few thousand levels: a 500. No Matrix body nests
 * anywhere near this deep.
 */
export const MAX_JSON_DEPTH = 256;

/** The deepest nesting of `[`/`{` in valid JSON text, outside strings. */
function nestingDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      // A backslash escapes the next character (which may be a quote).
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) max = depth;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return max;
}

/** Like `jsonObjectBody`, but an absent body is an empty object (for endpoints where every field is optional). */
export function optionalJsonObjectBody(request: FastifyRequest): Record<string, unknown> {
  const raw = request.body;
  if (!Buffer.isBuffer(raw) || raw.length === 0) return {};
  return jsonObjectBody(request);
}

/**
 * The access token from `Authorization: Bearer` or `?access_token=`, with Synapse's 401 `M_MISSING_TOKEN` for each
 * way of getting it wrong.
 */
export function accessTokenOf(request: FastifyRequest): string {
  const raw = request.raw.rawHeaders;
  const headers: string[] = [];
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.toLowerCase() === "authorization") headers.push(raw[i + 1]!);
  const query = (request.query ?? {}) as Record<string, unknown>;
  const fromQuery = query.access_token;
  if (headers.length > 0) {
    if (fromQuery !== undefined) {
      throw new MatrixError(ErrCode.MissingToken, "Mixing Authorization headers and access_token query parameters.");
    }
    if (headers.length > 1) throw new MatrixError(ErrCode.MissingToken, "Too many Authorization headers.");
    const m = /^Bearer (\S+)$/.exec(headers[0]!);
    if (!m) throw new MatrixError(ErrCode.MissingToken, "Invalid Authorization header.");
    return m[1]!;
  }
  if (typeof fromQuery === "string" && fromQuery !== "") return fromQuery;
  if (Array.isArray(fromQuery) && typeof fromQuery[0] === "string") return fromQuery[0];
  throw new MatrixError(ErrCode.MissingToken, "Missing access token");
}

/** The client's address: the first `X-Forwarded-For` entry on an `x_forwarded` listener, else the peer. */
export function clientIp(request: FastifyRequest): string {
  const listener = listenerOf(request);
  if (listener?.x_forwarded) {
    const xff = request.headers["x-forwarded-for"];
    const first = (Array.isArray(xff) ? xff[0] : xff)?.split(",")[0]?.trim();
    if (first) return first;
  }
  return request.raw.socket.remoteAddress ?? "unknown";
}

/** The URL with any `access_token` (or SSO code, state, login token, UIA session) query value hidden, for logs. */
export function redactUrl(url: string): string {
  // SSO's codes, states and login tokens are as good as credentials while they live.
  return url.replace(/([?&](?:access_token|code|state|loginToken|session)=)[^&]*/g, "$1<redacted>");
}
