/**
 * @module Account registration of the client-server API (spec: "Account registration and management").
 */
import { registerClient, type RegisterResponse } from "../../accounts/client-registration.js";
import { passwordPolicyDescription } from "../../accounts/password-policy.js";
import { checkUsername } from "../../accounts/username.js";
import { ErrCode, MatrixError } from "../../errors.js";
import { clientPaths } from "../../http/paths.js";
import { clientIp, jsonObjectBody } from "../../http/request.js";
import type { RouteModule } from "../../http/server.js";

/** Typing a username in a sign-up form asks once per keystroke; this allows that and stops enumeration. */
const AVAILABILITY_LIMIT = { per_second: 1, burst_count: 10 };

function stringQuery(query: unknown, name: string): string {
  const v = (query as Record<string, unknown> | undefined)?.[name];
  const s: unknown = Array.isArray(v) ? v[0] : v;
  if (typeof s !== "string") throw new MatrixError(ErrCode.MissingParam, `Missing string query parameter '${name}'`);
  return s;
}

function hasAccessToken(headers: Record<string, unknown>, query: unknown): boolean {
  return (
    headers.authorization !== undefined || (query as Record<string, unknown> | undefined)?.access_token !== undefined
  );
}

export const registerClientRoutes: RouteModule = (app, deps) => {
  const { config, accounts, limiter } = deps;

  /**
   * # `POST /_matrix/client/v3/register`
   * - `kind=user` (default) runs User-Interactive Auth with Synapse's flows: `m.login.dummy`, preceded by
   *   `m.login.registration_token` when `registration_requires_token`.
   * - `kind=guest` makes a guest when `allow_guest_access` (even with registration closed, as in Synapse).
   * - 403 `M_FORBIDDEN` "Registration has been disabled" when `enable_registration` is false.
   * - The account, its device, its tokens and the registration token's use are written in one transaction.
   */
  for (const url of clientPaths("/register")) {
    app.post(url, async (request): Promise<RegisterResponse> => {
      const query = request.query as Record<string, unknown>;
      return registerClient(deps, {
        kind: query.kind,
        body: jsonObjectBody(request),
        uri: request.url.split("?")[0]!,
        method: request.method,
        ip: clientIp(request),
        hasAccessToken: hasAccessToken(request.headers, request.query),
      });
    });
  }

  /**
   * # `GET /_matrix/client/v3/register/available`
   * - 403 when registration is closed (to stop user enumeration), as in Synapse.
   * - The username is checked as given (not lower-cased); taken → 400 `M_USER_IN_USE`. Never `available: false`.
   */
  for (const url of clientPaths("/register/available")) {
    app.get(url, async (request) => {
      if (!config.enable_registration) throw new MatrixError(ErrCode.Forbidden, "Registration has been disabled");
      await limiter.check("register_available", clientIp(request), AVAILABILITY_LIMIT);
      if (config.inhibit_user_in_use_error) return { available: true };
      const username = stringQuery(request.query, "username");
      await checkUsername(username, accounts.usernameRules, accounts.stores.users);
      return { available: true };
    });
  }

  /**
   * # `GET /_matrix/client/v1/register/m.login.registration_token/validity`
   * - Rate-limited by `rc_registration_token_validity` first; does not reserve a use.
   */
  for (const url of [
    "/_matrix/client/v1/register/m.login.registration_token/validity",
    "/_matrix/client/unstable/org.matrix.msc3231/register/org.matrix.msc3231.login.registration_token/validity",
  ]) {
    app.get(url, async (request) => {
      await limiter.check("rc_registration_token_validity", clientIp(request), config.rc_registration_token_validity);
      if (!config.enable_registration) throw new MatrixError(ErrCode.Forbidden, "Registration has been disabled");
      const token = stringQuery(request.query, "token");
      return { valid: await accounts.stores.registrationTokens.isValid(token, accounts.now()) };
    });
  }

  /**
   * # `GET /_matrix/client/v3/password_policy`
   * - The configured rules only; `{}` when the policy is off.
   */
  for (const url of clientPaths("/password_policy")) {
    app.get(url, async () => passwordPolicyDescription(config.password_config.policy));
  }
};
