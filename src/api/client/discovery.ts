/**
 * @module Server discovery (spec: "Server Discovery"): `.well-known/matrix/client` and the OAuth 2.0 metadata
 * that clients probe for before falling back to the Matrix login API.
 */
import { ErrCode, MatrixError } from "../../errors.js";
import type { RouteModule } from "../../http/server.js";

/** https://spec.matrix.org/v1.16/client-server-api/#getwell-knownmatrixclient */
export interface DiscoveryInformation {
  "m.homeserver": { base_url: string };
}

const ALL_METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH"] as const;

export const discoveryRoutes: RouteModule = (app, { config }) => {
  /**
   * # `GET /.well-known/matrix/client`
   * - `{"m.homeserver": {"base_url": public_baseurl}}` when `public_baseurl` is set; otherwise 404 `M_NOT_FOUND`
   *   ".well-known not available" (Synapse serves it only when told to). Served on `client` listeners only.
   */
  app.get("/.well-known/matrix/client", async (): Promise<DiscoveryInformation> => {
    if (!config.public_baseurl) throw new MatrixError(ErrCode.NotFound, ".well-known not available");
    return { "m.homeserver": { base_url: config.public_baseurl } };
  });

  /**
   * # `GET /_matrix/client/v1/auth_metadata`
   * - Also `/_matrix/client/unstable/org.matrix.msc2965/auth_metadata`. No OAuth 2.0 authorisation server is
   *   delegated to, so 404 `M_UNRECOGNIZED` for every method, as Synapse answers when it does not register these:
   *   clients then use the Matrix login API.
   */
  for (const url of ["/_matrix/client/v1/auth_metadata", "/_matrix/client/unstable/org.matrix.msc2965/auth_metadata"]) {
    app.route({
      method: [...ALL_METHODS],
      url,
      handler: async () => {
        throw new MatrixError(ErrCode.Unrecognized, "Unrecognized request");
      },
    });
  }
};
