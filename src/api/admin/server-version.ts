/**
 * @module `/_synapse/admin/v1/server_version`, which admin tools probe first.
 */
import { ADMIN } from "../../http/paths.js";
import type { RouteModule } from "../../http/server.js";
import { VERSION } from "../../version.js";

export interface ServerVersionResponse {
  server_version: string;
}

export const serverVersionRoutes: RouteModule = (app) => {
  /**
   * # `GET /_synapse/admin/v1/server_version`
   * - No authentication, as in Synapse.
   */
  app.get(`${ADMIN}/v1/server_version`, async (): Promise<ServerVersionResponse> => ({
    server_version: `Gatehouse ${VERSION}`,
  }));
};
