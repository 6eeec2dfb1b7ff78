/**
 * @module Account endpoints of the client-server API (spec: "Account management").
 */
import { changePassword, deactivateOwnAccount } from "../../accounts/account.js";
import { resetPasswordByEmail } from "../../accounts/password-reset.js";
import { ownThreepids, type ThreepidsResponse } from "../../accounts/threepid-lookups.js";
import { requireNonGuest, requireUser } from "../../http/auth.js";
import { clientPaths } from "../../http/paths.js";
import { jsonObjectBody } from "../../http/request.js";
import type { RouteModule } from "../../http/server.js";

/** https://spec.matrix.org/v1.16/client-server-api/#get_matrixclientv3accountwhoami */
export interface WhoamiResponse {
  user_id: string;
  is_guest: boolean;
  device_id?: string;
}

/** https://spec.matrix.org/v1.16/client-server-api/#post_matrixclientv3accountdeactivate */
export interface DeactivateAccountResponse {
  id_server_unbind_result: "success" | "no-support";
}

export const accountRoutes: RouteModule = (app, deps) => {
  const { accounts } = deps;

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

  /**
   * # `GET /_matrix/client/v3/account/3pid`
   * - `{threepids: [{medium, address, validated_at, added_at}]}`: the addresses an admin attached to the account
   *   (Element's settings list them). Guests: 403 `M_GUEST_ACCESS_FORBIDDEN`, as in Synapse.
   */
  for (const url of clientPaths("/account/3pid")) {
    app.get(url, async (request): Promise<ThreepidsResponse> => {
      const requester = await requireNonGuest(request, accounts);
      return ownThreepids(accounts, requester.userId);
    });
  }

  /**
   * # `POST /_matrix/client/v3/account/password`
   * - With an access token (no guests): a password change.
   * - `new_password` (string, ≤ 512) is checked against the password policy before UIA; `logout_devices` must be
   *   a boolean (default true).
   * - 403 `M_FORBIDDEN` "Password change disabled" when `password_config.enabled` or `localdb_enabled` is false.
   * - UIA `[m.login.password]` ("modify your account password"); the new password is hashed into the session's
   *   server data, never stored as sent. None by the end: 400 `M_MISSING_PARAM` "Missing params: password".
   * - With `logout_devices`: every other device and every other token of the user goes, in the same transaction.
   * - Without an access token, when `email` is configured: password reset, UIA `[m.login.email.identity]` over a
   *   session from `/account/password/email/requestToken`; the account is the one holding the address, and with
   *   `logout_devices` (default true) every session of it ends.
   */
  for (const url of clientPaths("/account/password")) {
    app.post(url, async (request) => {
      const query = request.query as Record<string, unknown>;
      if (
        deps.config.email !== null &&
        request.headers.authorization === undefined &&
        query.access_token === undefined
      ) {
        await resetPasswordByEmail(deps, {
          uri: request.url.split("?")[0]!,
          method: request.method,
          body: jsonObjectBody(request),
        });
        return {};
      }
      const requester = await requireNonGuest(request, accounts);
      await changePassword(deps, requester, {
        uri: request.url.split("?")[0]!,
        method: request.method,
        body: jsonObjectBody(request),
      });
      return {};
    });
  }

  /**
   * # `POST /_matrix/client/v3/account/deactivate`
   * - UIA `[m.login.password]` ("deactivate your account"); `erase` (boolean, default false) also clears the
   *   display name and avatar; `id_server` (string) is accepted and ignored.
   * - Deletes every device, access, refresh and login token and the password hash, and flags the account, in one
   *   transaction. `{"id_server_unbind_result": "no-support"}`: no identity server is ever bound.
   */
  for (const url of clientPaths("/account/deactivate")) {
    app.post(url, async (request): Promise<DeactivateAccountResponse> => {
      const requester = await requireNonGuest(request, accounts);
      const result = await deactivateOwnAccount(deps, requester, {
        uri: request.url.split("?")[0]!,
        method: request.method,
        body: jsonObjectBody(request),
      });
      return { id_server_unbind_result: result.idServerUnbindResult };
    });
  }
};
