/**
 * @module Thumbnails of local media: which size answers a request, and making it once.
 *
 * - Which size: with `dynamic_thumbnails` off (Synapse's default) the best of `thumbnail_sizes`, chosen by
 *   Synapse's rule (`_select_thumbnail`: for `crop` the closest aspect that covers the request, for `scale` the
 *   closest size that covers it, a smaller one only when none does); with it on, exactly the size asked for.
 * - Made on the first request for that size and stored (a row in `local_media_repository_thumbnails` and a file),
 *   then served from the store. Synapse makes every configured size at upload; making them on demand keeps uploads
 *   fast and costs nothing for images nobody looks at, answers the same, and remakes a size whose file was removed.
 *   Rows are keyed by the size asked for (the configured box, or the request when dynamic), not the size made, so a
 *   request finds its thumbnail without opening the source image.
 * - Concurrent requests for the same thumbnail share one generation (in one process); a source that failed to
 *   decode is remembered (bounded), so a bad file is not decoded again on every request.
 */
import { buffer } from "node:stream/consumers";
import { Readable } from "node:stream";
import type { ThumbnailSize } from "../config/schema.js";
import type { MediaThumbnail } from "../db/media.js";
import { ErrCode, MatrixError } from "../errors.js";
import { commitBlob } from "./blobs.js";
import type { MediaContext } from "./context.js";
import { openServable, type ServableMedia } from "./read.js";
import type { OpenedBlob } from "./storage.js";
import {
  ANIMATED_TYPES,
  imageSize,
  keepsAnimation,
  makeThumbnail,
  outputSize,
  THUMBNAIL_TYPES,
  ThumbnailError,
  type ThumbnailRequest,
} from "./thumbnailer.js";

/** Sources known not to thumbnail (by file, type and pixel limit), with why; the oldest is forgotten first. */
const FAILED_MAX = 1000;
const failed = new Map<string, string>();
const inFlight = new Map<string, Promise<MediaThumbnail>>();

function noThumbnail(reason: string): MatrixError {
  return new MatrixError(ErrCode.Unknown, `Cannot find any thumbnails for the requested media: ${reason}`);
}

/** Synapse's `_select_thumbnail` over the configured sizes: null when none has the method asked for. */
export function selectSize(sizes: readonly ThumbnailSize[], req: ThumbnailRequest): ThumbnailSize | null {
  const dw = req.width;
  const dh = req.height;
  let best: { key: number[]; size: ThumbnailSize; covers: boolean } | null = null;
  for (const size of sizes) {
    if (size.method !== req.method) continue;
    const { width: tw, height: th } = size;
    const covers = tw >= dw || th >= dh;
    const sizeQuality = Math.abs((dw - tw) * (dh - th));
    const key =
      req.method === "crop" ? [Math.abs(dw * th - dh * tw), dw <= tw && dh <= th ? 0 : 1, sizeQuality] : [sizeQuality];
    if (best === null || (covers && !best.covers) || (covers === best.covers && lexLess(key, best.key))) {
      best = { key, size, covers };
    }
  }
  return best?.size ?? null;
}

function lexLess(a: number[], b: number[]): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! < b[i]!;
  return false;
}

export interface ServedThumbnail {
  thumbnail: MediaThumbnail;
  blob: OpenedBlob;
}

/** The thumbnail of `media` answering `req`, made and stored if it is not yet; refusals are MatrixErrors. */
export async function thumbnailFor(
  ctx: MediaContext,
  media: ServableMedia,
  req: ThumbnailRequest,
): Promise<ServedThumbnail> {
  const essence = media.mediaType.split(";", 1)[0]!.trim().toLowerCase();
  const stillType = THUMBNAIL_TYPES.get(essence);
  if (stillType === undefined) {
    throw noThumbnail(`${media.mediaType} is not a supported media format (${[...THUMBNAIL_TYPES.keys()].join(", ")})`);
  }
  // An animated request looks for the animated thumbnail; whether the source moves at all is known only once it
  // is read (`generate`), which then serves the still one of a still source.
  const type = (req.animated ? ANIMATED_TYPES.get(essence) : undefined) ?? stillType;
  const find = async (box: ThumbnailRequest, wanted: string = type): Promise<ServedThumbnail | null> => {
    const stored = (await ctx.stores.mediaThumbnails.forMedia(media.mediaId)).find(
      (t) => t.width === box.width && t.height === box.height && t.method === box.method && t.type === wanted,
    );
    const blob = stored ? await ctx.storage.open(stored.sha256) : null;
    return stored && blob ? { thumbnail: stored, blob } : null;
  };
  let box: ThumbnailRequest = req;
  if (!ctx.media.dynamic_thumbnails) {
    if (ctx.media.thumbnail_sizes.length === 0) throw noThumbnail("no thumbnail sizes are configured");
    const size = selectSize(ctx.media.thumbnail_sizes, req);
    // Synapse answers a method none of the configured sizes has with a plain 404.
    if (size === null) throw new MatrixError(ErrCode.NotFound, "Not found");
    box = { ...size, animated: req.animated };
  }
  const found = await find(box);
  if (found) return found;
  const key = `${media.mediaId}\n${box.width}x${box.height}\n${box.method}\n${type}`;
  let pending = inFlight.get(key);
  if (!pending) {
    pending = generate(ctx, media, box, { still: stillType, moving: type }, find).finally(() => inFlight.delete(key));
    inFlight.set(key, pending);
  }
  const thumbnail = await pending;
  const blob = await ctx.storage.open(thumbnail.sha256);
  if (!blob) throw new MatrixError(ErrCode.NotFound, "Not found");
  return { thumbnail, blob };
}

/**
 * Makes and stores the thumbnail for `box`. A configured size is stored under its box; a dynamic one under the size
 * made (as Synapse), so the sizes stored for an image are bounded by its own size whatever clients ask for, and
 * one made already for another request of the same outcome is served instead.
 */
async function generate(
  ctx: MediaContext,
  media: ServableMedia,
  box: ThumbnailRequest,
  types: { still: string; moving: string },
  find: (box: ThumbnailRequest, type: string) => Promise<ServedThumbnail | null>,
): Promise<MediaThumbnail> {
  const failKey = `${media.sha256}\n${media.mediaType}\n${ctx.media.max_image_pixels}\n${box.animated === true}`;
  const known = failed.get(failKey);
  if (known !== undefined) throw noThumbnail(known);
  const source = await buffer((await openServable(ctx, media)).stream);
  let made;
  let key = box;
  try {
    const src = await imageSize(source, media.mediaType, ctx.media.max_image_pixels);
    // The still thumbnail answers an animated request for a source with one frame: it may be stored already.
    const still = !(await keepsAnimation(source, media.mediaType, box, ctx.media.max_image_pixels));
    if (ctx.media.dynamic_thumbnails) {
      key = { ...outputSize(src.width, src.height, box), method: box.method, animated: box.animated };
    }
    const found =
      ctx.media.dynamic_thumbnails || (still && box.animated)
        ? await find(key, still ? types.still : types.moving)
        : null;
    if (found) {
      found.blob.stream.destroy();
      return found.thumbnail;
    }
    const exact = ctx.media.dynamic_thumbnails ? key : undefined;
    made = await makeThumbnail(source, media.mediaType, key, ctx.media.max_image_pixels, exact);
  } catch (err) {
    if (!(err instanceof ThumbnailError)) throw err;
    failed.set(failKey, err.message);
    if (failed.size > FAILED_MAX) failed.delete(failed.keys().next().value!);
    throw noThumbnail(err.message);
  }
  const staged = await ctx.storage.stage(Readable.from([made.bytes]), made.bytes.length);
  const thumbnail: MediaThumbnail = {
    mediaId: media.mediaId,
    width: key.width,
    height: key.height,
    method: key.method,
    type: made.type,
    length: staged.size,
    sha256: staged.sha256,
  };
  await commitBlob(ctx, ctx.stores, staged, () => ctx.stores.mediaThumbnails.insert(thumbnail));
  return thumbnail;
}
