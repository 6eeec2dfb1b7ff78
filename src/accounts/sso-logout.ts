/**
 * @module OpenID Connect Back-Channel Logout 1.0: the provider posts a signed `logout_token`; once it is checked
 * (signature against the provider's keys, `iss`, `aud`, `iat`, the logout event, `sid` or `sub`, no `nonce`), every
 * device logged in through that provider session (or, with `sub` alone, through any session of that user) is
 * deleted with its tokens.
 */
import { createPublicKey, verify, type JsonWebKey, type KeyObject } from "node:crypto";
import type { OidcProviderConfig } from "../config/schema.js";
import { ErrCode, MatrixError } from "../errors.js";
import { withDeviceListChange } from "../keys/device-lists.js";
import type { ServerContext } from "./context.js";
import { providerConfiguration } from "./oidc-client.js";

const LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout";

function invalid(why: string): MatrixError {
  return new MatrixError(ErrCode.InvalidParam, `Invalid logout_token: ${why}`);
}

function decodePart(part: string | undefined): Record<string, unknown> {
  try {
    const v: unknown = JSON.parse(Buffer.from(part ?? "", "base64url").toString("utf8"));
    if (typeof v === "object" && v !== null && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // Refused below.
  }
  throw invalid("not a JWT");
}

const jwksCache = new WeakMap<OidcProviderConfig, JsonWebKey[]>();

async function providerKeys(p: OidcProviderConfig, refresh: boolean): Promise<JsonWebKey[]> {
  const cached = jwksCache.get(p);
  if (cached && !refresh) return cached;
  const uri = (await providerConfiguration(p)).serverMetadata().jwks_uri;
  if (!uri) throw invalid("the provider publishes no keys");
  const res = await fetch(uri, { signal: AbortSignal.timeout(10_000) });
  const body = (await res.json()) as { keys?: JsonWebKey[] };
  const keys = Array.isArray(body.keys) ? body.keys : [];
  jwksCache.set(p, keys);
  return keys;
}

function verifySignature(alg: unknown, key: KeyObject, data: Buffer, sig: Buffer): boolean {
  if (alg === "RS256") return verify("sha256", data, key, sig);
  if (alg === "PS256") return verify("sha256", data, { key, padding: 6, saltLength: 32 }, sig);
  if (alg === "ES256") return verify("sha256", data, { key, dsaEncoding: "ieee-p1363" }, sig);
  if (alg === "EdDSA") return verify(null, data, key, sig);
  throw invalid(`unsupported algorithm ${JSON.stringify(alg)}`);
}

/** `POST /_synapse/client/oidc/backchannel_logout`: the devices made through the provider's session go. */
export async function backchannelLogout(sc: ServerContext, logoutToken: string | null): Promise<number> {
  if (!logoutToken) throw new MatrixError(ErrCode.MissingParam, "Missing logout_token");
  const parts = logoutToken.split(".");
  if (parts.length !== 3) throw invalid("not a JWT");
  const header = decodePart(parts[0]);
  const claims = decodePart(parts[1]);
  const aud = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  const p = sc.config.oidc_providers.find(
    (x) => x.backchannel_logout_enabled && x.issuer === claims.iss && aud.includes(x.client_id),
  );
  if (!p) throw invalid("no provider with back-channel logout has this issuer and audience");

  const data = Buffer.from(`${parts[0]}.${parts[1]}`);
  const sig = Buffer.from(parts[2]!, "base64url");
  let keys = await providerKeys(p, false);
  if (!keys.some((k) => (k as { kid?: unknown }).kid === header.kid)) keys = await providerKeys(p, true);
  const candidates = keys.filter((k) => header.kid === undefined || (k as { kid?: unknown }).kid === header.kid);
  const ok = candidates.some((jwk) => {
    try {
      return verifySignature(header.alg, createPublicKey({ key: jwk, format: "jwk" }), data, sig);
    } catch (err) {
      if (err instanceof MatrixError) throw err;
      return false;
    }
  });
  if (!ok) throw invalid("bad signature");

  const now = sc.accounts.now() / 1000;
  if (typeof claims.iat !== "number") throw invalid("no iat");
  if (typeof claims.exp === "number" && claims.exp < now - 60) throw invalid("expired");
  const events = claims.events;
  if (typeof events !== "object" || events === null || !(LOGOUT_EVENT in events)) throw invalid("no logout event");
  if ("nonce" in claims) throw invalid("a logout token must not carry a nonce");
  const sid = typeof claims.sid === "string" ? claims.sid : null;
  const sub = typeof claims.sub === "string" ? claims.sub : null;
  if (sid === null && sub === null) throw invalid("neither sid nor sub");

  const devices = await sc.accounts.stores.loginTokens.devicesOfSession(p.idp_id, sub, sid);
  for (const d of devices) {
    await withDeviceListChange(sc.accounts.stores, d.userId, async (t) =>
      (await t.devices.delete(d.userId, d.deviceId)) ? [d.deviceId] : [],
    );
  }
  return devices.length;
}
