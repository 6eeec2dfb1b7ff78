/**
 * @module VoIP of the client-server API (spec "Voice over IP"). Closed to guests, as in Synapse.
 */
import { requireNonGuest } from "../../http/auth.js";
import { clientPaths } from "../../http/paths.js";
import type { RouteModule } from "../../http/server.js";

export const voipRoutes: RouteModule = (app, { accounts }) => {
  /**
   * # `GET /_matrix/client/v3/voip/turnServer`
   * - No TURN server is configured, so `{}`: what Synapse answers then, and what clients read as "no TURN" (calls
   *   fall back to STUN/host candidates).
   */
  for (const url of clientPaths("/voip/turnServer")) {
    app.get(url, async (request) => {
      await requireNonGuest(request, accounts);
      return {};
    });
  }
};
