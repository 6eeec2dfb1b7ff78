/**
 * @module Account endpoints of the client-server API (spec: "Account management").
 */
import { requireUser } from "../../http/auth.js";
import { clientPaths } from "../../http/paths.js";
import type { RouteModule } from "../../http/server.js";

/** https://spec.matrix.org/v1.16/client-server-api/#get_matrixclientv3accountwhoami */
export interface WhoamiResponse {
  user_id: string;
  is_guest: boolean;
  device_id?: string;
}

export const accountRoutes: RouteModule = (app, { accounts }) => {
  /**
   * # `GET /_matrix/client/v3/account/whoami`
   * - The token from `Authorization: Bearer` or `?access_token=`; both, neither or an unknown one is a 401.
   * - `device_id` is omitted for tokens that have no device (admin puppet tokens).
   */
  for (const url of clientPaths("/account/whoami")) {
    app.get(url, async (request): Promise<WhoamiResponse> => {
      const requester = await requireUser(request, accounts);
      const body: WhoamiResponse = { user_id: requester.userId, is_guest: requester.isGuest };
      if (requester.deviceId !== null) body.device_id = requester.deviceId;
      return body;
    });
  }
};
