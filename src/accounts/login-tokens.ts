/**
 * @module Login tokens (`m.login.token` via `POST /_matrix/client/v1/login/get_token`): a signed-in user gets a
 * short-lived, single-use token to sign in on another device, after proving their own password again.
 */
import type { AuthProviderSession } from "../db/login-tokens.js";
import { ErrCode, MatrixError } from "../errors.js";
import type { ServerContext } from "./context.js";
import { generateLoginToken, hashToken } from "./tokens.js";
import { validateUserViaUiAuth } from "./uia-password.js";

export interface GetLoginTokenCommand {
  uri: string;
  method: string;
  /** The request body (`auth` and nothing else the endpoint reads). */
  body: Record<string, unknown>;
}

/**
 * `POST /_matrix/client/v1/login/get_token`: only with `login_via_existing_session.enabled`; the requester proves
 * their own password (`validateUserViaUiAuth`) unless `require_ui_auth` is off; one token a minute per user.
 */
export async function getLoginToken(
  sc: ServerContext,
  requesterUserId: string,
  cmd: GetLoginTokenCommand,
): Promise<LoginTokenResponse> {
  const settings = sc.config.login_via_existing_session;
  if (!settings.enabled) throw new MatrixError(ErrCode.Unrecognized, "Unrecognized request");
  if (settings.require_ui_auth) {
    await validateUserViaUiAuth(sc, requesterUserId, { ...cmd, description: "log in on another device" });
  }
  await sc.limiter.check("login_get_token", requesterUserId, { per_second: 1 / 60, burst_count: 1 });
  return issueLoginToken(sc, requesterUserId);
}

/** https://spec.matrix.org/v1.16/client-server-api/#post_matrixclientv1loginget_token */
export interface LoginTokenResponse {
  login_token: string;
  expires_in_ms: number;
  expires_in: number;
}

/** A short-lived, single-use token for `m.login.token` (SSO hands off with its own, shorter `ttl`). */
export async function issueLoginToken(
  sc: ServerContext,
  userId: string,
  ttl: number = sc.config.login_via_existing_session.token_timeout,
  sso: AuthProviderSession | null = null,
): Promise<LoginTokenResponse> {
  const token = generateLoginToken();
  await sc.accounts.stores.loginTokens.insert(hashToken(token), userId, sc.accounts.now() + ttl, sso);
  return { login_token: token, expires_in_ms: ttl, expires_in: Math.floor(ttl / 1000) };
}
