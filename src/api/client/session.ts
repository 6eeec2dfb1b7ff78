/**
 * @module Session management of the client-server API: login, refresh, logout, login tokens.
 */
import {
  login,
  loginFlows,
  logout,
  logoutAll,
  refresh,
  type LoginFlowsResponse,
  type LoginResponse,
  type RefreshResponse,
} from "../../accounts/login.js";
import { getLoginToken, type LoginTokenResponse } from "../../accounts/login-tokens.js";
import { ErrCode, MatrixError } from "../../errors.js";
import { requireUser } from "../../http/auth.js";
import { clientPaths } from "../../http/paths.js";
import { clientIp, jsonObjectBody, optionalJsonObjectBody } from "../../http/request.js";
import type { RouteModule } from "../../http/server.js";

export const sessionRoutes: RouteModule = (app, deps) => {
  /**
   * # `GET /_matrix/client/v3/login`
   * - `m.login.token` (when `login_via_existing_session` is on), `m.login.password` (when password login is on),
   *   `m.login.application_service`, in Synapse's order.
   */
  for (const url of clientPaths("/login", { apiV1: true })) {
    app.get(url, async (): Promise<LoginFlowsResponse> => loginFlows(deps));
  }

  /**
   * # `POST /_matrix/client/v3/login`
   * - `m.login.password` with `identifier` `m.id.user` (or legacy `user`), looked up ignoring case.
   * - `m.login.token`: single use. `device_id` is reused if known (its other tokens stay), `null` is tolerated.
   * - 403 `M_FORBIDDEN` for bad credentials, 403 `M_USER_DEACTIVATED`, 401 `M_USER_LOCKED`; rate-limited by
   *   `rc_login.address`, `rc_login.account` and `rc_login.failed_attempts`.
   * - With an LDAP module the directory is asked first; 503 `M_UNKNOWN` when it cannot be asked and no local
   *   password matched.
   */
  for (const url of clientPaths("/login", { apiV1: true })) {
    app.post(url, async (request): Promise<LoginResponse> =>
      login(deps, jsonObjectBody(request), clientIp(request), (m) => request.log.warn(m)),
    );
  }

  /**
   * # `POST /_matrix/client/v3/refresh`
   * - Swaps a refresh token for a new access and refresh token. The old refresh token works until the new access
   *   token is first used, so a lost response can be retried.
   */
  for (const url of clientPaths("/refresh")) {
    app.post(url, async (request): Promise<RefreshResponse> => refresh(deps, jsonObjectBody(request)));
  }

  /**
   * # `POST /_matrix/client/v3/logout`
   * - Deletes the token's device (and with it the device's tokens); accepts expired tokens and locked users.
   */
  for (const url of clientPaths("/logout", { apiV1: true })) {
    app.post(url, async (request) => {
      const r = await requireUser(request, deps.accounts, { allowExpired: true, allowLocked: true });
      await logout(deps, r.userId, r.deviceId, r.tokenHash);
      return {};
    });
  }

  /**
   * # `POST /_matrix/client/v3/logout/all`
   * - Deletes every device and token of the user.
   */
  for (const url of clientPaths("/logout/all", { apiV1: true })) {
    app.post(url, async (request) => {
      const r = await requireUser(request, deps.accounts, { allowExpired: true, allowLocked: true });
      await logoutAll(deps, r.userId);
      return {};
    });
  }

  /**
   * # `POST /_matrix/client/v1/login/get_token`
   * - Only with `login_via_existing_session.enabled`; UIA (`m.login.password`) unless `require_ui_auth: false`.
   */
  app.post("/_matrix/client/v1/login/get_token", async (request): Promise<LoginTokenResponse> => {
    // Unrecognized before the token is looked at, as in Synapse where the servlet is not registered at all.
    if (!deps.config.login_via_existing_session.enabled) {
      throw new MatrixError(ErrCode.Unrecognized, "Unrecognized request");
    }
    const r = await requireUser(request, deps.accounts);
    return getLoginToken(deps, r.userId, {
      uri: request.url.split("?")[0]!,
      method: request.method,
      body: optionalJsonObjectBody(request),
    });
  });
};
