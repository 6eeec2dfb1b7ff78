/**
 * @module Account registration of the client-server API (spec: "Account registration and management").
 */
import {
  registerClient,
  registrationTokenValidity,
  usernameAvailable,
  type RegisterResponse,
} from "../../accounts/client-registration.js";
import { passwordPolicyDescription } from "../../accounts/password-policy.js";
import { clientPaths } from "../../http/paths.js";
import { clientIp, jsonObjectBody } from "../../http/request.js";
import type { RouteModule } from "../../http/server.js";

/** A string query parameter, or null when absent (the service decides whether that is an error, and when). */
function stringQuery(query: unknown, name: string): string | null {
  const v = (query as Record<string, unknown> | undefined)?.[name];
  const s: unknown = Array.isArray(v) ? v[0] : v;
  return typeof s === "string" ? s : null;
}

function hasAccessToken(headers: Record<string, unknown>, query: unknown): boolean {
  return (
    headers.authorization !== undefined || (query as Record<string, unknown> | undefined)?.access_token !== undefined
  );
}

export const registerClientRoutes: RouteModule = (app, deps) => {
  const { config } = deps;

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
   * - `usernameAvailable`: 403 when registration is closed; taken → 400 `M_USER_IN_USE`; never `available: false`.
   */
  for (const url of clientPaths("/register/available")) {
    app.get(url, async (request) =>
      usernameAvailable(deps, { username: stringQuery(request.query, "username"), ip: clientIp(request) }),
    );
  }

  /**
   * # `GET /_matrix/client/v1/register/m.login.registration_token/validity`
   * - `registrationTokenValidity`: rate-limited by `rc_registration_token_validity` first; reserves no use.
   */
  for (const url of [
    "/_matrix/client/v1/register/m.login.registration_token/validity",
    "/_matrix/client/unstable/org.matrix.msc3231/register/org.matrix.msc3231.login.registration_token/validity",
  ]) {
    app.get(url, async (request) =>
      registrationTokenValidity(deps, { token: stringQuery(request.query, "token"), ip: clientIp(request) }),
    );
  }

  /**
   * # `GET /_matrix/client/v3/password_policy`
   * - The configured rules only; `{}` when the policy is off.
   */
  for (const url of clientPaths("/password_policy")) {
    app.get(url, async () => passwordPolicyDescription(config.password_config.policy));
  }
};
