/**
 * @module URL previews (spec "Content repository", `preview_url`): the authenticated
 * `/_matrix/client/v1/media/preview_url` and the legacy `/_matrix/media/{v3,r0,v1}/preview_url`. Registered only
 * with `url_preview_enabled` (off by default), as Synapse does; otherwise the paths are unknown (404
 * `M_UNRECOGNIZED`). What is fetched and how is src/media/preview.ts's.
 */
import type { FastifyRequest } from "fastify";
import { ErrCode, MatrixError } from "../../errors.js";
import { requireNonGuest } from "../../http/auth.js";
import type { AppDeps, RouteModule } from "../../http/server.js";
import { previewUrl, type OpenGraph } from "../../media/preview.js";

type Query = Record<string, string | string[] | undefined>;

function single(query: Query, name: string): string | undefined {
  const v = query[name];
  if (Array.isArray(v)) throw new MatrixError(ErrCode.InvalidParam, `Query parameter '${name}' given more than once`);
  return v;
}

async function answer(deps: AppDeps, request: FastifyRequest): Promise<OpenGraph> {
  const requester = await requireNonGuest(request, deps.accounts);
  const query = request.query as Query;
  const url = single(query, "url");
  if (url === undefined) throw new MatrixError(ErrCode.MissingParam, "Missing string query parameter 'url'");
  const tsText = single(query, "ts");
  if (tsText !== undefined && !/^\d{1,16}$/.test(tsText)) {
    throw new MatrixError(ErrCode.InvalidParam, "Query parameter 'ts' must be an integer");
  }
  const ts = tsText === undefined ? deps.media.now() : Number(tsText);
  return previewUrl(deps.media, requester.userId, url, ts);
}

export const mediaPreviewRoutes: RouteModule = (app, deps) => {
  if (!deps.config.url_preview_enabled) return;

  /**
   * # `GET /_matrix/client/v1/media/preview_url`
   * - `url` required, `ts` (ms) the time the preview is wanted for (default now). Requires a non-guest access
   *   token. → Open Graph keys; `og:image` as an mxc URI of the image fetched, with `og:image:width`,
   *   `og:image:height`, `og:image:type` and `matrix:image:size`.
   * - Refusals as Synapse's: a URL matching `url_preview_url_blacklist` or an IP literal in the IP blacklist 403,
   *   a name resolving to a blocked address 502, the target's error status 502, too large 502 `M_TOO_LARGE`.
   */
  app.get("/_matrix/client/v1/media/preview_url", (request) => answer(deps, request));

  /**
   * # `GET /_matrix/media/v3/preview_url`
   * - The legacy path (also `r0` and `v1`): the same answer, and like Synapse's it requires an access token. The
   *   images it fetches are stored under `enable_authenticated_media` like uploads, so with it on (the default)
   *   their mxc URIs are served by the authenticated download paths only.
   */
  for (const v of ["r0", "v1", "v3"]) {
    app.get(`/_matrix/media/${v}/preview_url`, (request) => answer(deps, request));
  }
};
