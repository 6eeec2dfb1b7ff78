/**
 * @module The response headers of every media file served (downloads and thumbnails), in one place. Synapse's
 * rules (`synapse/media/_base.py`, `download_resource.py`): only an allow-list of types a browser shows safely is
 * `inline`, everything else (HTML, SVG, scripts) is an `attachment`; a sandboxing Content-Security-Policy and
 * `nosniff` keep a file from running as a page even if opened directly.
 */

/** Synapse's INLINE_CONTENT_TYPES: shown in the browser; SVG and HTML are deliberately absent. */
const INLINE_CONTENT_TYPES = new Set([
  "text/css",
  "text/plain",
  "text/csv",
  "application/json",
  "application/ld+json",
  "image/jpeg",
  "image/gif",
  "image/png",
  "image/apng",
  "image/webp",
  "image/avif",
  "video/mp4",
  "video/webm",
  "video/ogg",
  "video/quicktime",
  "audio/mp4",
  "audio/webm",
  "audio/aac",
  "audio/mpeg",
  "audio/ogg",
  "audio/wave",
  "audio/wav",
  "audio/x-wav",
  "audio/x-pn-wav",
  "audio/flac",
  "audio/x-flac",
]);

/** Synapse's TEXT_CONTENT_TYPES: given `charset=UTF-8` when the type names no charset. */
const TEXT_CONTENT_TYPES = new Set([
  "text/css",
  "text/csv",
  "text/html",
  "text/calendar",
  "text/plain",
  "text/javascript",
  "application/json",
  "application/ld+json",
  "application/rtf",
  "image/svg+xml",
  "text/xml",
]);

/** Synapse's policy for media: nothing runs, nothing loads, even when a file is opened as a page. */
export const MEDIA_CSP =
  "sandbox; default-src 'none'; script-src 'none'; plugin-types application/pdf; style-src 'unsafe-inline'; " +
  "media-src 'self'; object-src 'self';";

/** `type/subtype` with optional `; parameters`, in the characters RFC 9110 allows: anything else is not sent. */
const CONTENT_TYPE_RE = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+\/[A-Za-z0-9!#$%&'*+.^_`|~-]+(\s*;\s*[\x20-\x7e]*)?$/;

/** A client's Content-Type as stored: its own when well-formed, else `application/octet-stream` (as Synapse). */
export function normaliseContentType(value: string | undefined): string {
  const v = value?.trim();
  return v && v.length <= 255 && CONTENT_TYPE_RE.test(v) ? v : "application/octet-stream";
}

/** RFC 2616 separators: a name with any of these (or spaces, controls, non-ASCII) needs `filename*`. */
const SEPARATORS = new Set('()<>@,;:\\"/[]?={}');

function isToken(name: string): boolean {
  for (const c of name) {
    const code = c.codePointAt(0)!;
    if (code <= 32 || code >= 127 || SEPARATORS.has(c)) return false;
  }
  return true;
}

/** RFC 5987 `value-chars`: UTF-8 percent-encoded, `'()*` too (encodeURIComponent leaves them). */
function rfc5987(name: string): string {
  return encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** `inline` or `attachment`, with the file name as a token or as RFC 5987 `filename*` (never a quoted string). */
export function contentDisposition(contentType: string, fileName: string | null): string {
  const essence = contentType.split(";", 1)[0]!.trim().toLowerCase();
  const kind = INLINE_CONTENT_TYPES.has(essence) ? "inline" : "attachment";
  if (!fileName) return kind;
  return isToken(fileName) ? `${kind}; filename=${fileName}` : `${kind}; filename*=utf-8''${rfc5987(fileName)}`;
}

export interface ServedFile {
  contentType: string;
  /** The name for Content-Disposition: the one in the request's path, else the uploaded one. */
  fileName: string | null;
  /** The stored file's SHA-256, which is its entity tag: the same bytes, the same tag. */
  sha256: string;
  /** Served to an authenticated request (`/_matrix/client/v1/media`): caches shared between users must not keep it. */
  authenticated: boolean;
}

/** Every header of a served media file but the length and range ones. */
export function mediaHeaders(file: ServedFile): Record<string, string> {
  const type = normaliseContentType(file.contentType);
  return {
    "content-type": TEXT_CONTENT_TYPES.has(type.toLowerCase()) ? `${type}; charset=UTF-8` : type,
    "content-disposition": contentDisposition(type, file.fileName),
    "content-security-policy": MEDIA_CSP,
    "x-content-security-policy": "sandbox;",
    "x-content-type-options": "nosniff",
    "cross-origin-resource-policy": "cross-origin",
    "x-robots-tag": "noindex, nofollow, noarchive, noimageindex",
    "cache-control": file.authenticated ? "private, max-age=86400" : "public, max-age=86400, s-maxage=86400",
    etag: `"${file.sha256}"`,
    "accept-ranges": "bytes",
  };
}
