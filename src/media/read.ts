/**
 * @module THE rule for serving a media item, used by downloads and thumbnails alike: whether the item may be
 * served, waiting for an async upload's content if asked to, and opening its file.
 *
 * Synapse's answers (`synapse/media/media_repository.py` `get_local_media_info`): unknown, quarantined or expired
 * before its content came → 404 `M_NOT_FOUND`; still waiting after `timeout_ms` → 504 `M_NOT_YET_UPLOADED`; on the
 * legacy unauthenticated paths, media uploaded while `enable_authenticated_media` was on → 404. Media of another
 * server is 404 too: Gatehouse does not federate yet.
 */
import { ErrCode, MatrixError } from "../errors.js";
import type { LocalMedia } from "../db/media.js";
import { noteAccess } from "./access.js";
import type { MediaContext } from "./context.js";
import type { ByteRange, OpenedBlob } from "./storage.js";

/** Synapse's default and largest `timeout_ms` for downloads and thumbnails. */
export const DEFAULT_TIMEOUT_MS = 20_000;
export const MAX_TIMEOUT_MS = 60_000;
/** How often a request waiting for an async upload looks again (Synapse's interval). */
const POLL_MS = 500;

/** Media IDs this server makes (and Synapse's): anything else cannot name a stored item. */
export const MEDIA_ID_RE = /^[A-Za-z0-9_-]{1,255}$/;

/** A media item that has content: what `findServable` returns. */
export type ServableMedia = LocalMedia & { mediaType: string; mediaLength: number; sha256: string };

export interface MediaLookup {
  serverName: string;
  mediaId: string;
  /** How long to wait for an async upload's content; Synapse's default when absent, at most `MAX_TIMEOUT_MS`. */
  timeoutMs?: number;
  /** A legacy `/_matrix/media/*` path, which does not serve media uploaded under authenticated media. */
  legacy: boolean;
}

function notFound(): MatrixError {
  return new MatrixError(ErrCode.NotFound, "Media not found");
}

/** `timeout_ms` from a query string: Synapse's default when absent, clamped to [0, MAX_TIMEOUT_MS]. */
export function parseTimeoutMs(value: unknown): number {
  if (value === undefined) return DEFAULT_TIMEOUT_MS;
  const n = typeof value === "string" && /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isFinite(n)) throw new MatrixError(ErrCode.InvalidParam, "timeout_ms must be a whole number");
  return Math.min(n, MAX_TIMEOUT_MS);
}

/** The media item if it may be served now, else the refusal. Waits (polling) for an async upload's content. */
export async function findServable(ctx: MediaContext, lookup: MediaLookup): Promise<ServableMedia> {
  if (lookup.serverName !== ctx.serverName || !MEDIA_ID_RE.test(lookup.mediaId)) throw notFound();
  // The wait is measured on the monotonic clock: `ctx.now` may be a test's clock, which need not move.
  const waitUntil = performance.now() + Math.min(lookup.timeoutMs ?? DEFAULT_TIMEOUT_MS, MAX_TIMEOUT_MS);
  for (;;) {
    const media = await ctx.stores.localMedia.get(lookup.mediaId);
    if (media === null || media.quarantinedBy !== null) throw notFound();
    if (lookup.legacy && ctx.media.enable_authenticated_media && media.authenticated) throw notFound();
    if (media.mediaLength !== null && media.sha256 !== null) {
      noteAccess(ctx, media.mediaId);
      return { ...media, mediaType: media.mediaType ?? "application/octet-stream" } as ServableMedia;
    }
    if (media.createdTs < ctx.now() - ctx.media.unused_expiration_time) throw notFound();
    const left = waitUntil - performance.now();
    if (left <= 0) throw new MatrixError(ErrCode.NotYetUploaded, "Media has not been uploaded yet");
    await ctx.sleep(Math.min(POLL_MS, left));
  }
}

/** Opens a servable item's file (a `range` of it); a file missing from the store is answered as unknown media. */
export async function openServable(ctx: MediaContext, media: ServableMedia, range?: ByteRange): Promise<OpenedBlob> {
  const blob = await ctx.storage.open(media.sha256, range);
  if (blob === null) throw notFound();
  return blob;
}
