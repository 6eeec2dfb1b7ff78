/**
 * @module The content repository (spec "Content repository"): the configuration, uploads (`/_matrix/media/v3`,
 * also `r0`, and async uploads), and downloads on the authenticated `/_matrix/client/v1/media` paths and the legacy
 * unauthenticated `/_matrix/media/{v3,r0}` ones. Which media may be served is decided in src/media/read.ts, the
 * headers in src/media/headers.ts; upload bodies reach the handlers as unread streams (`request.raw`).
 */
import type { Readable } from "node:stream";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { ErrCode, MatrixError } from "../../errors.js";
import { requireNonGuest, requireUser } from "../../http/auth.js";
import type { AppDeps, RouteModule } from "../../http/server.js";
import { mediaHeaders } from "../../media/headers.js";
import { parseRange } from "../../media/range.js";
import { findServable, openServable, parseTimeoutMs } from "../../media/read.js";
import { createPending, storeUpload } from "../../media/upload.js";

/** https://spec.matrix.org/v1.16/client-server-api/#get_matrixclientv1mediaconfig */
export interface MediaConfigResponse {
  "m.upload.size": number;
}

type Query = Record<string, string | undefined>;
type DownloadParams = { serverName: string; mediaId: string; fileName?: string };

/** The Content-Length of a request, or null when it has none (a chunked body). */
function declaredLength(request: FastifyRequest): number | null {
  const v = request.headers["content-length"];
  if (v === undefined) return null;
  if (!/^\d+$/.test(v)) throw new MatrixError(ErrCode.Unknown, "Content-Length value is invalid");
  return Number(v);
}

/** The body, unread: the catch-all parser below hands it over as it came. */
function bodyStream(request: FastifyRequest): Readable {
  return request.body as Readable;
}

/**
 * Upload requests' own Content-Type, replaced before fastify parses by it: fastify refuses a malformed one (415)
 * and skips the parser without one, where Synapse stores either as `application/octet-stream`.
 */
const uploadTypes = new WeakMap<FastifyRequest, string | undefined>();

async function upload(deps: AppDeps, request: FastifyRequest, reply: FastifyReply, mediaId?: string) {
  const requester = await requireNonGuest(request, deps.accounts);
  // A refusal before the body is read closes the connection, so the unread body is not taken as the next request.
  reply.header("connection", "close");
  const filename = (request.query as Query).filename ?? null;
  const id = await storeUpload(
    deps.media,
    {
      userId: requester.userId,
      source: bodyStream(request),
      contentType: uploadTypes.get(request),
      uploadName: filename === "" ? null : filename,
      declaredLength: declaredLength(request),
    },
    mediaId,
  );
  reply.removeHeader("connection");
  return id;
}

async function download(
  deps: AppDeps,
  request: FastifyRequest<{ Params: DownloadParams }>,
  reply: FastifyReply,
  legacy: boolean,
) {
  const { serverName, mediaId, fileName } = request.params;
  const media = await findServable(deps.media, {
    serverName,
    mediaId,
    legacy,
    timeoutMs: parseTimeoutMs((request.query as Query).timeout_ms),
  });
  const headers = mediaHeaders({
    contentType: media.mediaType,
    fileName: fileName ?? media.uploadName,
    sha256: media.sha256,
    authenticated: !legacy,
  });
  reply.headers(headers);
  if (request.headers["if-none-match"]?.split(",").some((t) => t.trim() === headers.etag)) {
    return reply.code(304).send();
  }
  const range = parseRange(request.headers.range, media.mediaLength);
  if (range === "unsatisfiable") {
    reply.header("content-range", `bytes */${media.mediaLength}`);
    throw new MatrixError(ErrCode.Unknown, "Requested range not satisfiable", { status: 416 });
  }
  const blob = await openServable(deps.media, media, range ?? undefined);
  if (range) {
    reply.code(206).header("content-range", `bytes ${range.start}-${range.end}/${blob.size}`);
    reply.header("content-length", range.end - range.start + 1);
  } else {
    reply.header("content-length", blob.size);
  }
  return reply.send(blob.stream);
}

/** Upload routes: their bodies are not parsed (nor buffered) but handed over as streams. */
function uploadRoutes(app: FastifyInstance, deps: AppDeps): void {
  app.addHook("onRequest", (request, _reply, done) => {
    uploadTypes.set(request, request.headers["content-type"]);
    request.headers["content-type"] = "application/octet-stream";
    done();
  });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", (_request, payload, done) => {
    done(null, payload);
  });
  // The limit is the media one, checked by the upload itself on the declared length and on the bytes read.
  const bodyLimit = Math.max(deps.config.max_upload_size, 1);

  /**
   * # `POST /_matrix/media/v3/upload`
   * - Also at `r0`. Raw body, `Content-Type` as the media's type (missing: `application/octet-stream`), `filename`
   *   query. Streamed to storage. → `{content_uri}`.
   */
  for (const v of ["r0", "v3"]) {
    app.post(`/_matrix/media/${v}/upload`, { bodyLimit }, async (request, reply) => {
      const mediaId = await upload(deps, request, reply);
      return { content_uri: `mxc://${deps.config.server_name}/${mediaId}` };
    });
  }

  /**
   * # `PUT /_matrix/media/v3/upload/{serverName}/{mediaId}`
   * - Fills a media ID reserved by `POST /_matrix/media/v1/create`: only its creator, only once, before it expires.
   */
  app.put<{ Params: { serverName: string; mediaId: string } }>(
    "/_matrix/media/v3/upload/:serverName/:mediaId",
    { bodyLimit },
    async (request, reply) => {
      const { serverName, mediaId } = request.params;
      await requireNonGuest(request, deps.accounts);
      if (serverName !== deps.config.server_name) {
        throw new MatrixError(ErrCode.NotFound, "Cannot upload to media of another server");
      }
      await upload(deps, request, reply, mediaId);
      return {};
    },
  );
}

export const mediaRoutes: RouteModule = (app, deps) => {
  const { accounts, config } = deps;
  const configResponse = (): MediaConfigResponse => ({ "m.upload.size": config.max_upload_size });

  /**
   * # `GET /_matrix/client/v1/media/config`
   * - `{"m.upload.size": max_upload_size}`; requires an access token.
   */
  app.get("/_matrix/client/v1/media/config", async (request): Promise<MediaConfigResponse> => {
    await requireNonGuest(request, accounts);
    return configResponse();
  });

  /**
   * # `GET /_matrix/media/v3/config`
   * - The legacy path, also at `r0`: the same answer, and like Synapse's it requires an access token.
   */
  for (const url of ["/_matrix/media/r0/config", "/_matrix/media/v3/config"]) {
    app.get(url, async (request): Promise<MediaConfigResponse> => {
      await requireNonGuest(request, accounts);
      return configResponse();
    });
  }

  void app.register(async (scope) => uploadRoutes(scope, deps));

  /**
   * # `POST /_matrix/media/v1/create`
   * - Reserves a media ID for an async upload → `{content_uri, unused_expires_at}`; `rc_media_create` limits how
   *   often, `max_pending_media_uploads` how many wait at once (429 either way).
   */
  app.post("/_matrix/media/v1/create", async (request) => {
    const requester = await requireNonGuest(request, accounts);
    await deps.limiter.checkUser("rc_media_create", requester.userId, config.rc_media_create);
    const { mediaId, expiresAt } = await createPending(deps.media, requester.userId);
    return { content_uri: `mxc://${config.server_name}/${mediaId}`, unused_expires_at: expiresAt };
  });

  /**
   * # `GET /_matrix/client/v1/media/download/{serverName}/{mediaId}`
   * - Also with `/{fileName}` (the name for Content-Disposition). Requires an access token. `timeout_ms` waits for
   *   an async upload; `Range` for part of the file (206, 416); `If-None-Match` with the ETag → 304. HEAD too.
   */
  for (const suffix of ["", "/:fileName"]) {
    app.get<{ Params: DownloadParams }>(
      `/_matrix/client/v1/media/download/:serverName/:mediaId${suffix}`,
      async (request, reply) => {
        await requireUser(request, accounts);
        return download(deps, request, reply, false);
      },
    );
  }

  /**
   * # `GET /_matrix/media/v3/download/{serverName}/{mediaId}`
   * - Also at `r0` and with `/{fileName}`. No access token: with `enable_authenticated_media` on (the default),
   *   media uploaded while it was on is 404 here, as in Synapse; older media is served.
   */
  for (const v of ["r0", "v3"]) {
    for (const suffix of ["", "/:fileName"]) {
      app.get<{ Params: DownloadParams }>(
        `/_matrix/media/${v}/download/:serverName/:mediaId${suffix}`,
        async (request, reply) => download(deps, request, reply, true),
      );
    }
  }
};
