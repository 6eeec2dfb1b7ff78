/**
 * @module The one way URL previews fetch a URL, safe against server-side request forgery: a user names any URL and
 * the server fetches it from inside the operator's network.
 *
 * - Each URL (the first and every redirect, at most `MAX_REDIRECTS`) must be http(s) and pass
 *   `url_preview_url_blacklist`; its host name is resolved and EVERY address it resolves to must pass the IP rule
 *   (src/media/preview-policy.ts), as Synapse's `BlocklistingReactorWrapper` refuses a name if any address is
 *   blocked. The connection is then made to the checked address itself (a `lookup` that returns only it), so a
 *   second DNS answer (rebinding) cannot send the request elsewhere; TLS still verifies the certificate against the
 *   name.
 * - The body is streamed into media storage, refused once past `max_spider_size` (declared or read); the whole
 *   fetch, redirects and body included, is bounded by `timeoutMs`.
 *
 * Refusals are Synapse's: URL pattern → 403, an IP literal in the blacklist → 403, a name resolving to a blocked
 * address (or to nothing) → 502 "DNS resolution failure", an error status → 502 "Got error N", a type not previewed
 * → 502, too large → 502 `M_TOO_LARGE`; other failures → 500 "Failed to download content".
 */
import { lookup as dnsLookup } from "node:dns/promises";
import http, { type IncomingMessage } from "node:http";
import https from "node:https";
import { isIP, type LookupFunction } from "node:net";
import { ErrCode, MatrixError } from "../errors.js";
import type { MediaStorage, StagedBlob } from "./storage.js";
import { addressAllowed, urlBlacklisted, type PreviewPolicy } from "./preview-policy.js";

/** Redirects followed before giving up (browsers stop at 20; previews need far fewer). */
export const MAX_REDIRECTS = 10;

const USER_AGENT = "Gatehouse (bot; URL preview)";

export interface Fetched {
  /** The URL finally fetched (after redirects): relative links in the page are resolved against it. */
  url: string;
  status: number;
  mediaType: string;
  etag: string | null;
  /** The file name from Content-Disposition, if any. */
  downloadName: string | null;
  /** The body, staged in media storage: the caller commits or discards it. */
  staged: StagedBlob;
}

function failed(reason: string): MatrixError {
  return new MatrixError(ErrCode.Unknown, `Failed to download content: ${reason}`, { status: 500 });
}

/** The one address to connect to for `url`, every resolved address checked first. */
async function checkedAddress(policy: PreviewPolicy, url: URL): Promise<{ address: string; family: 4 | 6 }> {
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  const literal = isIP(host);
  if (literal !== 0) {
    if (!addressAllowed(policy, host)) {
      throw new MatrixError(ErrCode.Unknown, "IP address blocked by IP blacklist entry", { status: 403 });
    }
    return { address: host, family: literal as 4 | 6 };
  }
  const dnsFailure = () =>
    new MatrixError(ErrCode.Unknown, "DNS resolution failure during URL preview generation", { status: 502 });
  let addresses: { address: string; family: number }[];
  try {
    addresses = await dnsLookup(host, { all: true, verbatim: true });
  } catch {
    throw dnsFailure();
  }
  // One blocked address refuses the name: which one a later connection would use is not ours to choose.
  if (addresses.length === 0 || !addresses.every((a) => addressAllowed(policy, a.address))) throw dnsFailure();
  const first = addresses[0]!;
  return { address: first.address, family: first.family === 6 ? 6 : 4 };
}

/** A `lookup` that answers every name with the address already checked. */
function pinnedLookup(address: string, family: 4 | 6): LookupFunction {
  return ((_host: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
    if (options.all) callback(null, [{ address, family }]);
    else callback(null, address, family);
  }) as LookupFunction;
}

function request(url: URL, pinned: { address: string; family: 4 | 6 }, policy: PreviewPolicy, signal: AbortSignal) {
  const mod = url.protocol === "https:" ? https : http;
  return new Promise<IncomingMessage>((resolve, reject) => {
    const req = mod.request(
      url,
      {
        method: "GET",
        agent: false,
        signal,
        lookup: pinnedLookup(pinned.address, pinned.family),
        headers: {
          "user-agent": USER_AGENT,
          "accept-language": policy.acceptLanguage,
          // The body is stored and parsed as sent: a compressed one would bypass the size limit's meaning.
          "accept-encoding": "identity",
        },
      },
      resolve,
    );
    req.on("error", reject);
    req.end();
  });
}

/** Synapse's `_is_previewable`: HTML, images, and JSON (oEmbed, answered without Open Graph here). */
export function isPreviewable(mediaType: string): boolean {
  const essence = mediaType.split(";", 1)[0]!.trim().toLowerCase();
  return (
    essence.startsWith("image/") ||
    essence === "text/html" ||
    essence === "application/xhtml+xml" ||
    essence === "application/json" ||
    essence.endsWith("+json")
  );
}

/** The file name of a Content-Disposition header (`filename*=UTF-8''…` preferred), else null. */
export function dispositionName(header: string | undefined): string | null {
  if (!header) return null;
  const star = /filename\*\s*=\s*(?:UTF-8|utf-8)''([^;]+)/.exec(header);
  if (star) {
    try {
      return decodeURIComponent(star[1]!.trim());
    } catch {
      return null;
    }
  }
  const plain = /filename\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]+))/.exec(header);
  return plain ? (plain[1]?.replace(/\\(.)/g, "$1") ?? plain[2] ?? null) : null;
}

function parseTarget(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new MatrixError(ErrCode.InvalidParam, "url is not a valid URL");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new MatrixError(ErrCode.InvalidParam, "Only http and https URLs can be previewed");
  }
  return url;
}

/** Checks `text` against the URL rules only (scheme and `url_preview_url_blacklist`), before any fetch. */
export function checkUrl(policy: PreviewPolicy, text: string): URL {
  const url = parseTarget(text);
  if (urlBlacklisted(policy, url)) {
    throw new MatrixError(ErrCode.Unknown, "URL blocked by url pattern blacklist entry", { status: 403 });
  }
  return url;
}

/** Fetches `text` under every rule above, its body staged in `storage`. */
export async function safeFetch(policy: PreviewPolicy, storage: MediaStorage, text: string): Promise<Fetched> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), policy.timeoutMs);
  const timedOut = () =>
    new MatrixError(ErrCode.Unknown, "Timed out fetching the URL for its preview", { status: 504 });
  let response: IncomingMessage | undefined;
  try {
    let url = checkUrl(policy, text);
    for (let hop = 0; ; hop++) {
      const pinned = await checkedAddress(policy, url);
      response = await request(url, pinned, policy, controller.signal).catch((err: unknown) => {
        throw controller.signal.aborted ? timedOut() : failed(describe(err));
      });
      const location = response.headers.location;
      if (response.statusCode && [301, 302, 303, 307, 308].includes(response.statusCode) && location) {
        response.resume();
        if (hop >= MAX_REDIRECTS) throw failed("too many redirects");
        let next: URL;
        try {
          next = new URL(location, url);
        } catch {
          throw failed("the redirect's location is not a URL");
        }
        url = checkUrl(policy, next.href);
        continue;
      }
      const status = response.statusCode ?? 0;
      if (status < 200 || status > 299) {
        throw new MatrixError(ErrCode.Unknown, `Got error ${status}`, { status: 502 });
      }
      const mediaType = response.headers["content-type"] ?? "application/octet-stream";
      if (!isPreviewable(mediaType)) {
        throw new MatrixError(
          ErrCode.Unknown,
          `Requested file's content type not allowed for this operation: ${mediaType}`,
          { status: 502 },
        );
      }
      const tooLarge = () =>
        new MatrixError(ErrCode.TooLarge, `Requested file is too large > ${policy.maxBytes} bytes`, { status: 502 });
      const declared = Number(response.headers["content-length"] ?? NaN);
      if (declared > policy.maxBytes) throw tooLarge();
      const staged = await storage.stage(response, policy.maxBytes).catch((err: unknown) => {
        if (err instanceof MatrixError && err.errcode === ErrCode.TooLarge) throw tooLarge();
        throw controller.signal.aborted ? timedOut() : failed(describe(err));
      });
      return {
        url: url.href,
        status,
        mediaType,
        etag: response.headers.etag ?? null,
        downloadName: dispositionName(response.headers["content-disposition"]),
        staged,
      };
    }
  } finally {
    clearTimeout(timer);
    response?.destroy();
  }
}

function describe(err: unknown): string {
  const code = (err as { code?: unknown }).code;
  return typeof code === "string" ? code : "the connection failed";
}
