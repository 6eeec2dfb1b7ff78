/**
 * @module Thumbnails (spec "Content repository", `thumbnail`): the authenticated `/_matrix/client/v1/media` path and
 * the legacy `/_matrix/media/{v3,r0}` ones. Which media may be served is src/media/read.ts's rule; which size and
 * making it, src/media/thumbnails.ts's.
 */
import type { FastifyReply, FastifyRequest } from "fastify";
import { ErrCode, MatrixError } from "../../errors.js";
import { requireUser } from "../../http/auth.js";
import type { RouteModule } from "../../http/server.js";
import { mediaHeaders } from "../../media/headers.js";
import { findServable, parseTimeoutMs } from "../../media/read.js";
import { thumbnailFor } from "../../media/thumbnails.js";
import type { ThumbnailRequest } from "../../media/thumbnailer.js";

interface Params {
  serverName: string;
  mediaId: string;
}

type Query = Record<string, string | string[] | undefined>;

const THUMBNAIL_EXTENSIONS: Record<string, string> = {
  "image/jpeg": "jpg",
  "image/png": "png",
  "image/gif": "gif",
  "image/webp": "webp",
};

/** A single query value: a repeated parameter is refused rather than one of its values picked. */
function single(query: Query, name: string): string | undefined {
  const v = query[name];
  if (Array.isArray(v)) throw new MatrixError(ErrCode.InvalidParam, `Query parameter '${name}' given more than once`);
  return v;
}

/** `width` or `height`: required (Synapse's M_MISSING_PARAM), a whole number from 1. */
function dimension(query: Query, name: string): number {
  const v = single(query, name);
  if (v === undefined) throw new MatrixError(ErrCode.MissingParam, `Missing integer query parameter '${name}'`);
  const n = /^\d{1,9}$/.test(v) ? Number(v) : NaN;
  if (!(n >= 1)) throw new MatrixError(ErrCode.InvalidParam, `Query parameter '${name}' must be a positive integer`);
  return n;
}

/** The query of a thumbnail request; `method` defaults to `scale` as in Synapse, `animated` is checked. */
export function parseThumbnailQuery(query: Query): ThumbnailRequest & { timeoutMs: number } {
  const width = dimension(query, "width");
  const height = dimension(query, "height");
  const method = single(query, "method") ?? "scale";
  if (method !== "crop" && method !== "scale") {
    throw new MatrixError(ErrCode.InvalidParam, "Query parameter 'method' must be 'crop' or 'scale'");
  }
  const animated = single(query, "animated");
  if (animated !== undefined && animated !== "true" && animated !== "false") {
    throw new MatrixError(ErrCode.InvalidParam, "Query parameter 'animated' must be 'true' or 'false'");
  }
  return {
    width,
    height,
    method,
    animated: animated === "true",
    timeoutMs: parseTimeoutMs(single(query, "timeout_ms")),
  };
}

export const mediaThumbnailRoutes: RouteModule = (app, { accounts, media }) => {
  async function answer(request: FastifyRequest, reply: FastifyReply, legacy: boolean): Promise<FastifyReply> {
    const { serverName, mediaId } = request.params as Params;
    const q = parseThumbnailQuery(request.query as Query);
    const item = await findServable(media, { serverName, mediaId, timeoutMs: q.timeoutMs, legacy });
    const { thumbnail, blob } = await thumbnailFor(media, item, q);
    const headers = mediaHeaders({
      contentType: thumbnail.type,
      // The spec: `inline`, with a file name such as `thumbnail.png`.
      fileName: `thumbnail.${THUMBNAIL_EXTENSIONS[thumbnail.type] ?? "png"}`,
      sha256: thumbnail.sha256,
      authenticated: !legacy,
    });
    return reply.headers(headers).header("content-length", String(blob.size)).send(blob.stream);
  }

  /**
   * # `GET /_matrix/client/v1/media/thumbnail/{serverName}/{mediaId}`
   * - Requires an access token (guests too, as Synapse); `width`, `height` required, `method` `crop|scale`
   *   (default `scale`), `animated=true` keeps an animated GIF's or WebP's frames (same format), `timeout_ms` for
   *   async uploads.
   * - A type that is not thumbnailed, an image over `max_image_pixels` or one that does not decode: 400 `M_UNKNOWN`.
   */
  app.get("/_matrix/client/v1/media/thumbnail/:serverName/:mediaId", async (request, reply) => {
    await requireUser(request, accounts);
    return answer(request, reply, false);
  });

  /**
   * # `GET /_matrix/media/v3/thumbnail/{serverName}/{mediaId}`
   * - The legacy path, also at `r0`: no access token; media uploaded under authenticated media is not served here.
   */
  for (const version of ["r0", "v3"]) {
    app.get(`/_matrix/media/${version}/thumbnail/:serverName/:mediaId`, async (request, reply) =>
      answer(request, reply, true),
    );
  }
};
