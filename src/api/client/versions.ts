/**
 * @module Discovery: which versions of the client-server spec this server speaks.
 */
import type { RouteModule } from "../../http/server.js";

/** https://spec.matrix.org/v1.16/client-server-api/#get_matrixclientversions */
export interface VersionsResponse {
  versions: string[];
  unstable_features: Record<string, boolean>;
}

export const SUPPORTED_VERSIONS = [
  "r0.0.1",
  "r0.1.0",
  "r0.2.0",
  "r0.3.0",
  "r0.4.0",
  "r0.5.0",
  "r0.6.0",
  "r0.6.1",
  "v1.1",
  "v1.2",
  "v1.3",
  "v1.4",
  "v1.5",
  "v1.6",
  "v1.7",
  "v1.8",
  "v1.9",
  "v1.10",
  "v1.11",
  "v1.12",
];

export const versionsRoutes: RouteModule = (app) => {
  /**
   * # `GET /_matrix/client/versions`
   * - No authentication. `org.matrix.e2e_cross_signing`: the cross-signing endpoints are served (older clients
   *   look for it before they set cross-signing up).
   */
  app.get("/_matrix/client/versions", async (): Promise<VersionsResponse> => ({
    versions: SUPPORTED_VERSIONS,
    unstable_features: { "org.matrix.e2e_cross_signing": true },
  }));
};
