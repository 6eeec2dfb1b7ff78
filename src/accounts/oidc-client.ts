/**
 * @module The relying party's side of one `oidc_providers` entry, on openid-client: the provider's metadata
 * (discovered once, or the configured endpoints), the authorization URL with state, nonce and PKCE, the code
 * exchange with the ID token checked (signature against the provider's keys, issuer, audience, expiry, nonce), and
 * the userinfo call.
 */
import * as oidc from "openid-client";
import type { OidcProviderConfig } from "../config/schema.js";
import { jwtClientSecret } from "./oidc-client-secret.js";

const configurations = new WeakMap<OidcProviderConfig, Promise<oidc.Configuration>>();

function clientAuth(p: OidcProviderConfig): oidc.ClientAuth {
  if (p.client_auth_method === "none") return oidc.None();
  if (p.client_secret === null && p.client_secret_jwt_key !== null) {
    const secret = jwtClientSecret(p.client_secret_jwt_key, p.client_id, p.issuer);
    const method = p.client_auth_method === "client_secret_post" ? oidc.ClientSecretPost : oidc.ClientSecretBasic;
    return (as, client, body, headers) => {
      method(secret())(as, client, body, headers);
    };
  }
  if (p.client_auth_method === "client_secret_post") return oidc.ClientSecretPost(p.client_secret ?? undefined);
  return oidc.ClientSecretBasic(p.client_secret ?? undefined);
}

async function load(p: OidcProviderConfig): Promise<oidc.Configuration> {
  // With skip_verification (Synapse's testing switch) a plain-HTTP issuer is allowed; otherwise HTTPS only.
  // eslint-disable-next-line @typescript-eslint/no-deprecated -- deprecated only to stand out; skip_verification is that.
  const insecure = oidc.allowInsecureRequests;
  const execute = p.skip_verification ? [insecure] : [];
  let config: oidc.Configuration;
  if (p.discover) {
    config = await oidc.discovery(new URL(p.issuer), p.client_id, undefined, clientAuth(p), { execute });
  } else {
    config = new oidc.Configuration(
      {
        issuer: p.issuer,
        authorization_endpoint: p.authorization_endpoint ?? undefined,
        token_endpoint: p.token_endpoint ?? undefined,
        userinfo_endpoint: p.userinfo_endpoint ?? undefined,
        jwks_uri: p.jwks_uri ?? undefined,
      },
      p.client_id,
      undefined,
      clientAuth(p),
    );
    // eslint-disable-next-line @typescript-eslint/no-deprecated -- as above
    if (p.skip_verification) insecure(config);
  }
  // The ID token's signature is checked too, not only trusted for having come over TLS from the token endpoint.
  if (config.serverMetadata().jwks_uri) oidc.enableNonRepudiationChecks(config);
  return config;
}

/** The provider's configuration, fetched once per server; a failed discovery is tried again on the next login. */
export function providerConfiguration(p: OidcProviderConfig): Promise<oidc.Configuration> {
  let pending = configurations.get(p);
  if (!pending) {
    pending = load(p);
    configurations.set(p, pending);
    pending.catch(() => configurations.delete(p));
  }
  return pending;
}

export interface AuthorizationRequest {
  url: URL;
  state: string;
  nonce: string;
  codeVerifier: string | null;
}

/** Synapse's `pkce_method`: `auto` uses PKCE when the provider advertises S256. */
function usePkce(p: OidcProviderConfig, config: oidc.Configuration): boolean {
  if (p.pkce_method === "always") return true;
  if (p.pkce_method === "never") return false;
  return config.serverMetadata().code_challenge_methods_supported?.includes("S256") ?? false;
}

export async function authorizationRequest(p: OidcProviderConfig, redirectUri: string): Promise<AuthorizationRequest> {
  const config = await providerConfiguration(p);
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const params: Record<string, string> = { redirect_uri: redirectUri, scope: p.scopes.join(" "), state, nonce };
  let codeVerifier: string | null = null;
  if (usePkce(p, config)) {
    codeVerifier = oidc.randomPKCECodeVerifier();
    params.code_challenge = await oidc.calculatePKCECodeChallenge(codeVerifier);
    params.code_challenge_method = "S256";
  }
  return { url: oidc.buildAuthorizationUrl(config, params), state, nonce, codeVerifier };
}

export interface CodeExchange {
  /** The callback URL as the provider sent the browser to it (code, state, iss). */
  callbackUrl: URL;
  state: string;
  nonce: string;
  codeVerifier: string | null;
}

/**
 * The code exchanged and the ID token checked; the claims are the ID token's, merged under the userinfo response's
 * when `user_profile_method: userinfo_endpoint` or when the ID token lacks a claim in `wanted`.
 */
export async function exchangeCode(
  p: OidcProviderConfig,
  x: CodeExchange,
  wanted: readonly string[],
): Promise<Record<string, unknown>> {
  const config = await providerConfiguration(p);
  const tokens = await oidc.authorizationCodeGrant(config, x.callbackUrl, {
    expectedState: x.state,
    expectedNonce: x.nonce,
    idTokenExpected: true,
    ...(x.codeVerifier === null ? {} : { pkceCodeVerifier: x.codeVerifier }),
  });
  const idClaims = tokens.claims();
  if (!idClaims) throw new Error("no ID token in the token response");
  const claims: Record<string, unknown> = { ...idClaims };
  const missing = wanted.some((c) => !(c in claims));
  if ((p.user_profile_method === "userinfo_endpoint" || missing) && config.serverMetadata().userinfo_endpoint) {
    const info = await oidc.fetchUserInfo(config, tokens.access_token, idClaims.sub);
    Object.assign(claims, info);
  }
  return claims;
}
