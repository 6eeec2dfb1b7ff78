/**
 * @module Making one thumbnail with sharp: the image part of thumbnailing, without stores or HTTP.
 *
 * sharp decodes and encodes on libuv's thread pool, so the event loop never waits for an image; but each decode
 * takes threads and up to `max_image_pixels` × 4 bytes, so at most `MAX_CONCURRENT` run at once and the rest queue.
 * `limitInputPixels` makes sharp refuse an image whose header declares more pixels than allowed before it decodes
 * anything: a small file that declares a huge image (a decompression bomb) costs no memory.
 */
import { availableParallelism } from "node:os";
import type { Sharp } from "sharp";

/**
 * Synapse's THUMBNAIL_SUPPORTED_MEDIA_FORMAT_MAP: the types thumbnailed and their thumbnails' type. Only these
 * decoders are reached by uploaded bytes (sharp is told the format too); SVG is not here, as in Synapse.
 */
export const THUMBNAIL_TYPES: ReadonlyMap<string, "image/jpeg" | "image/png"> = new Map([
  ["image/jpeg", "image/jpeg"],
  ["image/jpg", "image/jpeg"],
  ["image/webp", "image/jpeg"],
  ["image/gif", "image/png"],
  ["image/png", "image/png"],
]);

/**
 * With `animated=true` (spec v1.11), the types whose animation a thumbnail keeps, and its type: the same format.
 * Animated PNG is not here: libvips reads only its first frame, so an APNG is thumbnailed as a still image.
 */
export const ANIMATED_TYPES: ReadonlyMap<string, "image/gif" | "image/webp"> = new Map([
  ["image/gif", "image/gif"],
  ["image/webp", "image/webp"],
]);

type ThumbnailType = "image/jpeg" | "image/png" | "image/gif" | "image/webp";

/** The decoders each type may use: a file whose bytes are another format than its type says is refused. */
const SHARP_FORMATS: Record<string, string> = {
  "image/jpeg": "jpeg",
  "image/jpg": "jpeg",
  "image/webp": "webp",
  "image/gif": "gif",
  "image/png": "png",
};

/** Why no thumbnail could be made; the route answers it as a 400. */
export class ThumbnailError extends Error {}

/** Generations at once in one process; the rest wait their turn. */
const MAX_CONCURRENT = Math.max(1, Math.min(4, availableParallelism() - 1));
let running = 0;
const waiting: (() => void)[] = [];

async function withSlot<T>(fn: () => Promise<T>): Promise<T> {
  if (running >= MAX_CONCURRENT) await new Promise<void>((resolve) => waiting.push(resolve));
  else running++;
  try {
    return await fn();
  } finally {
    const next = waiting.shift();
    if (next) next();
    else running--;
  }
}

export interface ThumbnailRequest {
  width: number;
  height: number;
  method: "crop" | "scale";
  /** `animated=true`: keep an animated GIF's or WebP's frames (`ANIMATED_TYPES`); a still source stays still. */
  animated?: boolean;
}

export interface MadeThumbnail {
  bytes: Buffer;
  type: ThumbnailType;
  width: number;
  height: number;
}

/**
 * The output size for `req` from a `srcW`×`srcH` image, never larger than the image. `scale`: the largest size of
 * the image's aspect within the box (Synapse's `aspect`). `crop`: the box itself, shrunk (keeping its aspect) when
 * the image is smaller than it, so a small avatar is cropped, not enlarged.
 */
export function outputSize(srcW: number, srcH: number, req: ThumbnailRequest): { width: number; height: number } {
  if (req.method === "scale") {
    const { width: w, height: h } =
      req.width * srcH < req.height * srcW
        ? { width: req.width, height: Math.max(Math.floor((req.width * srcH) / srcW), 1) }
        : { width: Math.max(Math.floor((req.height * srcW) / srcH), 1), height: req.height };
    return { width: Math.min(w, srcW), height: Math.min(h, srcH) };
  }
  const f = Math.min(1, srcW / req.width, srcH / req.height);
  return { width: Math.max(1, Math.floor(req.width * f)), height: Math.max(1, Math.floor(req.height * f)) };
}

function supportedType(mediaType: string): { essence: string; type: "image/jpeg" | "image/png" } {
  const essence = mediaType.split(";", 1)[0]!.trim().toLowerCase();
  const type = THUMBNAIL_TYPES.get(essence);
  if (type === undefined) {
    throw new ThumbnailError(`${essence} is not a supported media format (${[...THUMBNAIL_TYPES.keys()].join(", ")})`);
  }
  return { essence, type };
}

/**
 * sharp (with libvips) is loaded by the first image, not at start: it is a fifth of the CPU a `serve` or a CLI spends
 * loading its modules, and most processes never touch an image.
 */
let sharpModule: Promise<typeof import("sharp")> | undefined;

/**
 * An animated source is read whole (`animated`): its frames are stacked into one image, so `limitInputPixels`
 * bounds all the frames together and a thousand-frame GIF costs no more than one image of the allowed size.
 */
async function open(source: Buffer, maxPixels: number, animated = false): Promise<Sharp> {
  const { default: sharp } = await (sharpModule ??= import("sharp"));
  return sharp(source, { limitInputPixels: maxPixels, failOn: "error", animated });
}

/** Whether `source` (already accepted by `imageSize`) has more than one frame and `req` wants them kept. */
export async function keepsAnimation(
  source: Buffer,
  mediaType: string,
  req: ThumbnailRequest,
  maxPixels: number,
): Promise<boolean> {
  if (!req.animated || !ANIMATED_TYPES.has(supportedType(mediaType).essence)) return false;
  const meta = await (await open(source, maxPixels)).metadata().catch((err: unknown) => {
    throw decodeError(err, maxPixels);
  });
  return (meta.pages ?? 1) > 1;
}

/**
 * The upright size of the image in `source` (EXIF orientation applied), read from its header only. Refuses
 * (ThumbnailError) an unsupported type, more than `maxPixels` pixels, and bytes of another format than the type.
 */
export async function imageSize(
  source: Buffer,
  mediaType: string,
  maxPixels: number,
): Promise<{ width: number; height: number }> {
  const { essence } = supportedType(mediaType);
  const meta = await (await open(source, maxPixels)).metadata().catch((err: unknown) => {
    throw decodeError(err, maxPixels);
  });
  if (meta.format !== SHARP_FORMATS[essence] || !meta.width || !meta.height) {
    throw new ThumbnailError(`the file is not an image of type ${essence}`);
  }
  return meta.autoOrient;
}

/**
 * A thumbnail of `source` (of type `mediaType`) for `req`, of `outputSize` unless `exact` gives the size (one
 * already computed by the caller). Refuses (ThumbnailError) what `imageSize` refuses and bytes that do not decode.
 */
export async function makeThumbnail(
  source: Buffer,
  mediaType: string,
  req: ThumbnailRequest,
  maxPixels: number,
  exact?: { width: number; height: number },
): Promise<MadeThumbnail> {
  const { essence, type } = supportedType(mediaType);
  return withSlot(async () => {
    const src = await imageSize(source, mediaType, maxPixels);
    const size = exact ?? outputSize(src.width, src.height, req);
    if (await keepsAnimation(source, mediaType, req, maxPixels)) {
      return makeAnimated(source, ANIMATED_TYPES.get(essence)!, req, maxPixels, size);
    }
    const pipeline = (await open(source, maxPixels))
      .rotate()
      .resize(size.width, size.height, { fit: req.method === "crop" ? "cover" : "fill", position: "centre" });
    // JPEG has no transparency: transparent parts become white rather than black.
    const encoded =
      type === "image/jpeg" ? pipeline.flatten({ background: "#ffffff" }).jpeg({ quality: 80 }) : pipeline.png();
    try {
      const { data, info } = await encoded.toBuffer({ resolveWithObject: true });
      return { bytes: data, type, width: info.width, height: info.height };
    } catch (err) {
      throw decodeError(err, maxPixels);
    }
  });
}

/** Every frame resized as one (sharp resizes each page of a stacked animation), in the source's own format. */
async function makeAnimated(
  source: Buffer,
  type: "image/gif" | "image/webp",
  req: ThumbnailRequest,
  maxPixels: number,
  size: { width: number; height: number },
): Promise<MadeThumbnail> {
  const resized = (await open(source, maxPixels, true)).resize(size.width, size.height, {
    fit: req.method === "crop" ? "cover" : "fill",
    position: "centre",
  });
  const encoded = type === "image/gif" ? resized.gif() : resized.webp({ quality: 80 });
  try {
    const { data, info } = await encoded.toBuffer({ resolveWithObject: true });
    return { bytes: data, type, width: info.width, height: info.pageHeight ?? info.height };
  } catch (err) {
    throw decodeError(err, maxPixels);
  }
}

function decodeError(err: unknown, maxPixels: number): ThumbnailError {
  const message = err instanceof Error ? err.message : String(err);
  if (/pixel limit/i.test(message)) return new ThumbnailError(`the image has more than ${maxPixels} pixels`);
  return new ThumbnailError("the image could not be decoded");
}
