/**
 * @module URL previews (spec `GET /_matrix/client/v1/media/preview_url`), as Synapse's `UrlPreviewer` makes them.
 *
 * - A preview made within its validity (an hour, Synapse's) is answered from `local_media_repository_url_cache`,
 *   looked up as of the request's `ts`; concurrent requests for one URL share one fetch (in one process).
 * - Otherwise the URL is fetched (src/media/preview-fetch.ts, the SSRF rules) and the body kept as local media
 *   with `url_cache` set: an image previews as itself (`og:image` its mxc URI, with its size and type); an HTML
 *   page by its Open Graph data (src/media/open-graph.ts), whose `og:image` is fetched the same way and answered as
 *   an mxc URI too (dropped if it cannot be fetched or is not an image, as Synapse does). JSON is answered `{}`
 *   (Synapse reads oEmbed from it; Gatehouse does not do oEmbed).
 * - Fetched media and cache rows are deleted by the job `purge_url_cache` (`purgeUrlCache`): rows once expired,
 *   media two days after it was fetched (Synapse's `IMAGE_CACHE_EXPIRY_MS`).
 */
import { randomInt } from "node:crypto";
import { buffer } from "node:stream/consumers";
import { deleteMediaIds } from "./admin.js";
import type { MediaContext } from "./context.js";
import { keepFetched } from "./fetched-media.js";
import { normaliseContentType } from "./headers.js";
import { checkUrl, safeFetch, type Fetched } from "./preview-fetch.js";
import { previewPolicy, type PreviewPolicy } from "./preview-policy.js";
import { imageSize } from "./thumbnailer.js";

const HOUR = 3_600_000;
/** How long a preview is answered from the cache (Synapse: one hour, whatever the page's headers say). */
export const PREVIEW_VALID_MS = HOUR;
/** How long the pages and images previews fetched are kept (Synapse's `IMAGE_CACHE_EXPIRY_MS`). */
export const FETCHED_MEDIA_KEPT_MS = 48 * HOUR;
/** Synapse drops og: keys longer than this, and values whose text is longer than `OG_VALUE_MAX`. */
const OG_KEY_MAX = 50;
const OG_VALUE_MAX = 1000;

export type OpenGraph = Record<string, string | number>;

const policies = new WeakMap<MediaContext, PreviewPolicy>();
const inFlight = new Map<string, Promise<OpenGraph>>();

function policyOf(ctx: MediaContext): PreviewPolicy {
  let policy = policies.get(ctx);
  if (!policy) {
    policy = previewPolicy(ctx.media, ctx.previewTimeoutMs);
    policies.set(ctx, policy);
  }
  return policy;
}

const ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** Synapse's URL-cache media IDs: the day, then 16 random letters. */
function fetchedMediaId(now: number): string {
  let id = `${new Date(now).toISOString().slice(0, 10)}_`;
  for (let i = 0; i < 16; i++) id += ID_ALPHABET.charAt(randomInt(ID_ALPHABET.length));
  return id;
}

const isImage = (type: string) => type.trim().toLowerCase().startsWith("image/");
const isHtml = (type: string) => /^\s*(text\/html|application\/xhtml\+xml)\s*(;|$)/i.test(type);

interface Kept {
  mediaId: string;
  mediaType: string;
  length: number;
  sha256: string;
}

/** Records a fetched body as local media naming `url`; the staged file is committed or dropped. */
async function keep(ctx: MediaContext, userId: string, url: string, fetched: Fetched): Promise<Kept> {
  const { staged } = fetched;
  try {
    const mediaId = fetchedMediaId(ctx.now());
    const mediaType = normaliseContentType(fetched.mediaType);
    await keepFetched(ctx, userId, fetched, { mediaId, mediaType, urlCache: url });
    return { mediaId, mediaType, length: staged.size, sha256: staged.sha256 };
  } finally {
    await staged.discard();
  }
}

async function read(ctx: MediaContext, kept: Kept): Promise<Buffer | null> {
  const blob = await ctx.storage.open(kept.sha256);
  return blob ? buffer(blob.stream) : null;
}

/** The Open Graph keys of an image kept as media: Synapse's `og:image*` and `matrix:image:size`. */
async function imageKeys(ctx: MediaContext, kept: Kept): Promise<OpenGraph> {
  const og: OpenGraph = {
    "og:image": `mxc://${ctx.serverName}/${kept.mediaId}`,
    "og:image:type": kept.mediaType,
    "matrix:image:size": kept.length,
  };
  const bytes = await read(ctx, kept);
  // Sizes are read from the header only (within `max_image_pixels`); an image sharp cannot read has none.
  const size = bytes ? await imageSize(bytes, kept.mediaType, ctx.media.max_image_pixels).catch(() => null) : null;
  if (size) {
    og["og:image:width"] = size.width;
    og["og:image:height"] = size.height;
  }
  return og;
}

/** The page's `og:image`, fetched and kept; its keys, or none when it cannot be (the preview stands without). */
async function pageImage(ctx: MediaContext, userId: string, pageUrl: string, image: string): Promise<OpenGraph> {
  let target: string;
  try {
    target = new URL(image, pageUrl).href;
  } catch {
    return {};
  }
  try {
    const fetched = await safeFetch(policyOf(ctx), ctx.storage, target);
    if (!isImage(fetched.mediaType)) {
      await fetched.staged.discard();
      return {};
    }
    return await imageKeys(ctx, await keep(ctx, userId, target, fetched));
  } catch {
    return {};
  }
}

function pruned(og: OpenGraph): OpenGraph {
  const out: OpenGraph = {};
  for (const [k, v] of Object.entries(og)) {
    if (k.length <= OG_KEY_MAX && String(v).length <= OG_VALUE_MAX) out[k] = v;
  }
  return out;
}

async function makePreview(ctx: MediaContext, userId: string, url: string, ts: number): Promise<OpenGraph> {
  const cached = await ctx.stores.urlCache.get(url, ts);
  if (cached && cached.expiresTs > ts && Math.floor(cached.responseCode / 100) === 2) {
    return JSON.parse(cached.og) as OpenGraph;
  }
  const fetched = await safeFetch(policyOf(ctx), ctx.storage, url);
  const kept = await keep(ctx, userId, url, fetched);
  let og: OpenGraph = {};
  if (isImage(kept.mediaType)) {
    og = await imageKeys(ctx, kept);
    if (fetched.downloadName !== null) og["og:description"] = fetched.downloadName;
  } else if (isHtml(kept.mediaType)) {
    const body = await read(ctx, kept);
    // Loaded by the first page previewed: its HTML parser is more than most processes ever need.
    const { decodeHtml, parseOpenGraph } = await import("./open-graph.js");
    const { "og:image": image, ...page } = body ? parseOpenGraph(decodeHtml(body, kept.mediaType)) : {};
    og = page;
    if (image) Object.assign(og, await pageImage(ctx, userId, fetched.url, image));
  }
  og = pruned(og);
  const now = ctx.now();
  await ctx.stores.urlCache.insert({
    url,
    responseCode: fetched.status,
    etag: fetched.etag,
    expiresTs: now + PREVIEW_VALID_MS,
    og: JSON.stringify(og),
    mediaId: kept.mediaId,
    downloadTs: now,
  });
  return og;
}

/**
 * The preview of `url` as of `ts` for `userId`. Refusals (a blocked URL or address, a failed fetch) are
 * MatrixErrors with Synapse's statuses.
 */
export async function previewUrl(ctx: MediaContext, userId: string, url: string, ts: number): Promise<OpenGraph> {
  checkUrl(policyOf(ctx), url);
  let pending = inFlight.get(url);
  if (!pending) {
    pending = makePreview(ctx, userId, url, ts).finally(() => inFlight.delete(url));
    inFlight.set(url, pending);
  }
  return pending;
}

/** Deletes up to `limit` expired previews and fetched media older than `FETCHED_MEDIA_KEPT_MS`; returns how many. */
export async function purgeUrlCache(ctx: MediaContext, limit: number): Promise<number> {
  const rows = await ctx.stores.urlCache.deleteExpired(ctx.now(), limit);
  if (rows >= limit) return rows;
  const ids = await ctx.stores.urlCache.fetchedMediaBefore(ctx.now() - FETCHED_MEDIA_KEPT_MS, limit - rows);
  return rows + (await deleteMediaIds(ctx, null, ids)).total;
}
