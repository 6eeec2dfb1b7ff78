/**
 * @module Media repository configuration (spec "Content repository"). There is no media repository yet: only its
 * configuration is answered, which web clients read on start. Closed to guests, as in Synapse.
 */
import { requireNonGuest } from "../../http/auth.js";
import type { RouteModule } from "../../http/server.js";

/** Synapse's default `max_upload_size` (50M); becomes configurable when uploads exist. */
export const MAX_UPLOAD_SIZE = 50 * 1024 * 1024;

/** https://spec.matrix.org/v1.16/client-server-api/#get_matrixclientv1mediaconfig */
export interface MediaConfigResponse {
  "m.upload.size": number;
}

export const mediaRoutes: RouteModule = (app, { accounts }) => {
  /**
   * # `GET /_matrix/client/v1/media/config`
   * - `{"m.upload.size": bytes}`; requires an access token.
   */
  app.get("/_matrix/client/v1/media/config", async (request): Promise<MediaConfigResponse> => {
    await requireNonGuest(request, accounts);
    return { "m.upload.size": MAX_UPLOAD_SIZE };
  });

  /**
   * # `GET /_matrix/media/v3/config`
   * - The legacy (unauthenticated-media era) path, also at `r0`: the same answer, and like Synapse's it requires
   *   an access token.
   */
  for (const url of ["/_matrix/media/r0/config", "/_matrix/media/v3/config"]) {
    app.get(url, async (request): Promise<MediaConfigResponse> => {
      await requireNonGuest(request, accounts);
      return { "m.upload.size": MAX_UPLOAD_SIZE };
    });
  }
};
