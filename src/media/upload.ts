/**
 * @module Uploads (spec "Content repository"): a new media ID with its content (`POST /_matrix/media/v3/upload`),
 * or an async upload's media ID reserved first (`POST /_matrix/media/v1/create`) and filled once later
 * (`PUT /_matrix/media/v3/upload/{serverName}/{mediaId}`). The bytes are streamed to storage, never held whole.
 *
 * Synapse's rules (`synapse/media/media_repository.py`): larger than `max_upload_size` → 413 `M_TOO_LARGE` (the
 * declared length before a byte is read, the bytes read too); over a `media_upload_limits` quota → 400
 * `M_RESOURCE_LIMIT_EXCEEDED`; bytes matching quarantined media are quarantined at once; only the creator fills a
 * reserved ID (403), only once (409 `M_CANNOT_OVERWRITE_MEDIA`), before it expires (404).
 */
import { randomInt } from "node:crypto";
import type { Readable } from "node:stream";
import { ErrCode, MatrixError } from "../errors.js";
import { commitBlob } from "./blobs.js";
import type { MediaContext } from "./context.js";
import { normaliseContentType } from "./headers.js";
import { MEDIA_ID_RE } from "./read.js";

const ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** Synapse's media IDs: 24 random letters. */
export function newMediaId(): string {
  let id = "";
  for (let i = 0; i < 24; i++) id += ID_ALPHABET.charAt(randomInt(ID_ALPHABET.length));
  return id;
}

export interface UploadInput {
  userId: string;
  source: Readable;
  /** The request's Content-Type; missing or malformed is stored as `application/octet-stream`. */
  contentType: string | undefined;
  /** The `filename` query parameter. */
  uploadName: string | null;
  /** The request's Content-Length, when it had one. */
  declaredLength: number | null;
}

function checkDeclaredLength(ctx: MediaContext, declared: number | null): void {
  if (declared !== null && declared > ctx.media.max_upload_size) {
    throw new MatrixError(ErrCode.TooLarge, "Upload request body is too large");
  }
}

function checkUploadName(name: string | null): void {
  if (name === null) return;
  if (name.includes("\u0000") || name.length > 1024) {
    throw new MatrixError(ErrCode.InvalidParam, "filename must be at most 1024 characters and contain no NUL");
  }
}

/** Throws when `size` more bytes would take the user over a `media_upload_limits` quota. */
async function checkQuota(ctx: MediaContext, userId: string, size: number): Promise<void> {
  let used: number | null = null;
  // Longest period first: under its limit, a shorter period (a subset of the same uploads) needs no query.
  for (const limit of ctx.media.media_upload_limits) {
    if (used === null || used + size > limit.max_bytes) {
      used = await ctx.stores.localMedia.uploadedBytesSince(userId, ctx.now() - limit.time_period_ms);
    }
    if (used + size > limit.max_bytes) {
      throw new MatrixError(ErrCode.ResourceLimitExceeded, "Media upload limit exceeded", { status: 400 });
    }
  }
}

/**
 * Streams the content to storage and records it: as a new media ID, or into the reserved `mediaId`. Nothing is
 * left behind when anything fails, the client going away mid-body included. Returns the media ID.
 */
export async function storeUpload(ctx: MediaContext, input: UploadInput, mediaId?: string): Promise<string> {
  checkDeclaredLength(ctx, input.declaredLength);
  checkUploadName(input.uploadName);
  if (mediaId !== undefined) await checkCanFill(ctx, mediaId, input.userId);
  const staged = await ctx.storage.stage(input.source, ctx.media.max_upload_size);
  try {
    await checkQuota(ctx, input.userId, staged.size);
    const content = {
      mediaType: normaliseContentType(input.contentType),
      mediaLength: staged.size,
      uploadName: input.uploadName,
      sha256: staged.sha256,
      quarantinedBy: (await ctx.stores.localMedia.isHashQuarantined(staged.sha256)) ? "system" : null,
    };
    const id = mediaId ?? newMediaId();
    await commitBlob(ctx, ctx.stores, staged, async () => {
      if (mediaId === undefined) {
        await ctx.stores.localMedia.insert({
          mediaId: id,
          userId: input.userId,
          createdTs: ctx.now(),
          authenticated: ctx.media.enable_authenticated_media,
          ...content,
        });
      } else if (!(await ctx.stores.localMedia.fill(mediaId, content))) {
        throw new MatrixError(ErrCode.CannotOverwriteMedia, "Media ID already has content");
      }
    });
    return id;
  } finally {
    await staged.discard();
  }
}

/** Synapse's `verify_can_upload`, before any byte is read. */
async function checkCanFill(ctx: MediaContext, mediaId: string, userId: string): Promise<void> {
  const media = MEDIA_ID_RE.test(mediaId) ? await ctx.stores.localMedia.get(mediaId) : null;
  if (media === null) throw new MatrixError(ErrCode.NotFound, "Unknown media ID");
  if (media.userId !== userId) {
    throw new MatrixError(ErrCode.Forbidden, "Only the creator of the media ID can upload to it");
  }
  if (media.mediaLength !== null) throw new MatrixError(ErrCode.CannotOverwriteMedia, "Media ID already has content");
  if (media.createdTs < ctx.now() - ctx.media.unused_expiration_time) {
    throw new MatrixError(ErrCode.NotFound, "Media ID has expired");
  }
}

/**
 * Reserves a media ID for an async upload; 429 `M_LIMIT_EXCEEDED` when the user already has
 * `max_pending_media_uploads` waiting (retry once the oldest expires, as Synapse says). Returns the ID and when it
 * expires.
 */
export async function createPending(
  ctx: MediaContext,
  userId: string,
): Promise<{ mediaId: string; expiresAt: number }> {
  const now = ctx.now();
  const expiry = ctx.media.unused_expiration_time;
  const pending = await ctx.stores.localMedia.countPending(userId, now - expiry);
  if (pending.count >= ctx.media.max_pending_media_uploads) {
    const retryAfter = Math.max(0, (pending.oldestCreatedTs ?? now) + expiry - now);
    throw new MatrixError(
      ErrCode.LimitExceeded,
      "You have too many uploads pending. Please finish uploading your existing files.",
      {
        extra: { retry_after_ms: retryAfter },
      },
    );
  }
  const mediaId = newMediaId();
  await ctx.stores.localMedia.insertPending({
    mediaId,
    userId,
    createdTs: now,
    authenticated: ctx.media.enable_authenticated_media,
  });
  return { mediaId, expiresAt: now + expiry };
}
