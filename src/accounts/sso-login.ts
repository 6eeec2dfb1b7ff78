/**
 * @module Single sign-on through OpenID Connect, Synapse's flow (`synapse/rest/client/login.py`,
 * `handlers/sso.py`, `handlers/oidc.py`): the redirect to the provider with the flow's secrets in a signed cookie,
 * the callback (code exchange, ID token, userinfo, `attribute_requirements`, mapping to an account), and the hand-off
 * to the client as a short-lived, single-use login token for `m.login.token`.
 */
import type { OidcProviderConfig } from "../config/schema.js";
import type { AuthProviderSession } from "../db/login-tokens.js";
import { ErrCode, MatrixError } from "../errors.js";
import type { ServerContext } from "./context.js";
import { issueLoginToken } from "./login-tokens.js";
import { authorizationRequest, exchangeCode } from "./oidc-client.js";
import { openCookie, sealCookie } from "./sso-cookies.js";
import { AuthType, loadSession, UIA_REQUEST_USER_ID } from "./uia.js";
import {
  findOrCreateSsoUser,
  mapAttributes,
  meetsRequirements,
  refreshSsoProfile,
  SsoError,
  type MappedAttributes,
} from "./sso-users.js";

/** Synapse's cookie names, so a reverse proxy's rules written for Synapse still apply. */
export const OIDC_SESSION_COOKIE = "oidc_session";
export const MAPPING_SESSION_COOKIE = "username_mapping_session";
/** Synapse's: the OIDC session lives an hour, the username-mapping session 15 minutes, the login token 2. */
export const OIDC_SESSION_MS = 60 * 60_000;
export const MAPPING_SESSION_MS = 15 * 60_000;
export const SSO_LOGIN_TOKEN_MS = 2 * 60_000;

export const CALLBACK_PATH = "/_synapse/client/oidc/callback";

/** https://spec.matrix.org/v1.16/client-server-api/#client-login-via-sso: one `identity_providers` entry. */
export interface IdentityProvider {
  id: string;
  name: string;
  icon?: string;
  brand?: string;
}

export function identityProviders(sc: ServerContext): IdentityProvider[] {
  return sc.config.oidc_providers.map((p) => ({
    id: p.idp_id,
    name: p.idp_name,
    ...(p.idp_icon ? { icon: p.idp_icon } : {}),
    ...(p.idp_brand ? { brand: p.idp_brand } : {}),
  }));
}

export function ssoEnabled(sc: ServerContext): boolean {
  return sc.config.oidc_providers.length > 0;
}

export function findProvider(sc: ServerContext, idpId: string): OidcProviderConfig {
  const p = sc.config.oidc_providers.find((x) => x.idp_id === idpId);
  if (!p) throw new MatrixError(ErrCode.NotFound, "Unknown identity provider ID");
  return p;
}

/** Where the server is reached: `public_baseurl`, else Synapse's default `https://<server_name>/`. */
export function publicBaseUrl(sc: ServerContext): string {
  return sc.config.public_baseurl ?? `https://${sc.config.server_name}/`;
}

export function callbackUri(sc: ServerContext): string {
  return publicBaseUrl(sc) + CALLBACK_PATH.slice(1);
}

/** A client's `redirectUrl`: any absolute URL (apps use their own schemes) but none a page could run as script. */
export function checkRedirectUrl(redirectUrl: string | null): string {
  if (redirectUrl === null) throw new MatrixError(ErrCode.MissingParam, "Missing string query parameter 'redirectUrl'");
  let url: URL;
  try {
    url = new URL(redirectUrl);
  } catch {
    throw new MatrixError(ErrCode.InvalidParam, "redirectUrl must be an absolute URL");
  }
  if (["javascript:", "data:", "vbscript:", "blob:"].includes(url.protocol)) {
    throw new MatrixError(ErrCode.InvalidParam, "redirectUrl must not be a script or data URL");
  }
  return redirectUrl;
}

/** What the signed `oidc_session` cookie holds between the redirect and the callback. */
export interface OidcSession {
  idp: string;
  state: string;
  nonce: string;
  verifier: string | null;
  /** The client's redirectUrl (login) or null (a UIA stage, whose session is `uia`). */
  redirect: string | null;
  uia: string | null;
}

export interface SsoRedirect {
  location: string;
  cookie: string;
}

/** The provider's authorization URL, and the cookie that lets only this browser finish the flow. */
export async function startSsoLogin(
  sc: ServerContext,
  idpId: string,
  target: { redirect: string } | { uia: string },
): Promise<SsoRedirect> {
  const p = findProvider(sc, idpId);
  const req = await withProvider("reach the identity provider", () => authorizationRequest(p, callbackUri(sc)));
  const session: OidcSession = {
    idp: p.idp_id,
    state: req.state,
    nonce: req.nonce,
    verifier: req.codeVerifier,
    redirect: "redirect" in target ? target.redirect : null,
    uia: "uia" in target ? target.uia : null,
  };
  const cookie = sealCookie(sc.accounts, OIDC_SESSION_COOKIE, session, sc.accounts.now() + OIDC_SESSION_MS);
  return { location: req.url.href, cookie };
}

/** A provider-side failure as a refusal the browser is shown; the cause (never a token) goes with it to the log. */
async function withProvider<T>(what: string, f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (err) {
    if (err instanceof MatrixError) throw err;
    let cause = err instanceof Error ? err.message : String(err);
    // openid-client's message is generic ("unexpected JWT claim value"); its cause names the claim (nonce, iss, aud).
    const inner = (err as { cause?: unknown }).cause;
    if (inner instanceof Error && inner.message !== cause) cause += `: ${inner.message}`;
    throw new SsoError(`Could not ${what}: ${cause}`, ErrCode.Unknown);
  }
}

/** How a callback ends: a login to hand off, a name to pick first, or a UIA stage passed by this user. */
export type CallbackOutcome =
  | { kind: "login"; completion: SsoCompletion }
  | { kind: "pick"; cookie: string }
  | { kind: "uia"; session: string; userId: string };

/** What the username picker's cookie holds: the provider's user, waiting for a name. */
export interface MappingSession {
  idp: string;
  attrs: MappedAttributes;
  redirect: string;
  sso: AuthProviderSession;
}

/** `GET /_synapse/client/oidc/callback`: everything between the provider's answer and the account. */
export async function oidcCallback(
  sc: ServerContext,
  callbackUrl: URL,
  cookie: string | undefined,
  ip: string,
): Promise<CallbackOutcome> {
  const q = callbackUrl.searchParams;
  const session = openCookie(sc.accounts, OIDC_SESSION_COOKIE, cookie) as OidcSession | null;
  if (q.get("error")) {
    const description = q.get("error_description");
    throw new SsoError(`The identity provider refused: ${q.get("error")}${description ? ` (${description})` : ""}`);
  }
  if (!session) throw new SsoError("No session cookie found: the login took too long or began in another browser");
  if (q.get("state") !== session.state) throw new SsoError("The state does not match this browser's login session");
  const p = findProvider(sc, session.idp);
  const m = p.user_mapping_provider;
  const extra = Object.entries(m.extra_attributes);
  const wanted = [
    m.subject_template,
    m.localpart_template,
    m.display_name_template,
    m.email_template,
    m.picture_template,
  ]
    .concat(extra.map(([, t]) => t))
    .flatMap((t) => t?.claims ?? [])
    .concat(p.attribute_requirements.map((r) => r.attribute));
  const claims = await withProvider("complete the login with the identity provider", () =>
    exchangeCode(
      p,
      { callbackUrl, state: session.state, nonce: session.nonce, codeVerifier: session.verifier },
      wanted,
    ),
  );
  if (!meetsRequirements(p.attribute_requirements, claims)) {
    throw new SsoError("You are not authorised to log in here: the identity provider's attributes do not qualify");
  }
  const attrs = mapAttributes(p, claims);
  const sso: AuthProviderSession = {
    authProviderId: p.idp_id,
    subject: String(claims.sub),
    sessionId: typeof claims.sid === "string" ? claims.sid : null,
    // Synapse's `get_extra_attributes`: each template's text, trimmed.
    ...(extra.length > 0
      ? { extraAttributes: Object.fromEntries(extra.map(([name, t]) => [name, t.render(claims).trim()])) }
      : {}),
  };

  if (session.uia !== null) {
    const owner = await sc.accounts.stores.externalIds.owner(p.idp_id, attrs.subject);
    if (owner === null) throw new SsoError("This identity provider account is not linked to any user here");
    return { kind: "uia", session: session.uia, userId: owner };
  }
  const redirect = session.redirect!;
  const outcome = await findOrCreateSsoUser(sc, p, attrs, ip);
  if ("pick" in outcome) {
    const mapping: MappingSession = { idp: p.idp_id, attrs, redirect, sso };
    const expires = sc.accounts.now() + MAPPING_SESSION_MS;
    return { kind: "pick", cookie: sealCookie(sc.accounts, MAPPING_SESSION_COOKIE, mapping, expires) };
  }
  if (outcome.existing) await refreshSsoProfile(sc, outcome.userId, attrs);
  // Synapse sets the picture on a new account, and on every login with `update_profile_information`.
  const picture = !outcome.existing || sc.config.sso.update_profile_information ? attrs.picture : null;
  return { kind: "login", completion: await completeSsoLogin(sc, outcome.userId, redirect, sso, picture) };
}

export interface SsoCompletion {
  userId: string;
  /** The client's redirectUrl with `loginToken` added. */
  url: string;
  /** A `sso.client_whitelist` prefix: redirect at once; otherwise the confirmation page asks first. */
  trusted: boolean;
  /** A picture URL to make the account's avatar (`picture_template`) before the hand-off, or null. */
  picture: string | null;
}

/** The hand-off: a deactivated account is refused (Synapse's page), anyone else gets a 2-minute login token. */
export async function completeSsoLogin(
  sc: ServerContext,
  userId: string,
  redirect: string,
  sso: AuthProviderSession,
  picture: string | null = null,
): Promise<SsoCompletion> {
  const user = await sc.accounts.stores.users.get(userId);
  if (!user) throw new SsoError("The account this identity is linked to no longer exists");
  if (user.deactivated) throw new SsoError("This account has been deactivated", ErrCode.UserDeactivated);
  const { login_token } = await issueLoginToken(sc, userId, SSO_LOGIN_TOKEN_MS, sso);
  const url = new URL(redirect);
  url.searchParams.append("loginToken", login_token);
  // Synapse always trusts its own fallback login page.
  const trusted = [...sc.config.sso.client_whitelist, `${publicBaseUrl(sc)}_matrix/static/client/login/`].some((w) =>
    redirect.startsWith(w),
  );
  return { userId, url: url.href, trusted, picture };
}

/** The username picker's session, or a refusal when it is missing or over 15 minutes old. */
export function mappingSession(sc: ServerContext, cookie: string | undefined): MappingSession {
  const s = openCookie(sc.accounts, MAPPING_SESSION_COOKIE, cookie) as MappingSession | null;
  if (!s) throw new SsoError("Unknown or expired username-mapping session: start the login again", ErrCode.Unknown);
  return s;
}

/** `GET /auth/m.login.sso/fallback/web`: through the provider the requester's account is linked to. */
export async function startSsoUia(sc: ServerContext, sessionId: string | null): Promise<SsoRedirect> {
  if (!sessionId) throw new MatrixError(ErrCode.MissingParam, "Missing string query parameter 'session'");
  const session = await loadSession(sc.accounts, sessionId);
  if (!session) throw new SsoError(`Unknown session ID: ${sessionId}`, ErrCode.Unknown);
  const userId = session.serverdict[UIA_REQUEST_USER_ID];
  if (typeof userId !== "string") throw new SsoError("This session cannot be completed by single sign-on");
  const configured = new Set(sc.config.oidc_providers.map((p) => p.idp_id));
  const link = (await sc.accounts.stores.externalIds.listForUser(userId)).find((e) => configured.has(e.authProvider));
  if (!link) throw new SsoError("Your account is not linked to any identity provider of this server");
  return startSsoLogin(sc, link.authProvider, { uia: sessionId });
}

/** The provider vouched for `userId`: the stage is done only if that is whom the session is for. */
export async function completeSsoUia(sc: ServerContext, sessionId: string, userId: string): Promise<void> {
  const session = await loadSession(sc.accounts, sessionId);
  if (!session) throw new SsoError(`Unknown session ID: ${sessionId}`, ErrCode.Unknown);
  if (session.serverdict[UIA_REQUEST_USER_ID] !== userId) {
    throw new SsoError("The identity provider's account is not the one that asked to confirm its identity");
  }
  await sc.accounts.stores.uiAuthSessions.markStageComplete(sessionId, AuthType.Sso, userId);
}
