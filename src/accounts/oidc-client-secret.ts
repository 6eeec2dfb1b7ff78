/**
 * @module Synapse's `client_secret_jwt_key` (`JwtClientSecret` in `synapse/handlers/oidc.py`, made for Sign in with
 * Apple): the client secret is a JWT the server signs with its key, `sub` the client ID, `aud` the issuer, valid an
 * hour, plus the configured header and claims. It is sent where `client_auth_method` puts a secret (Basic or the
 * form), as Synapse does, not as an RFC 7523 `client_assertion`. A secret is reused until ten minutes before it
 * expires.
 */
import { constants, createPrivateKey, sign, type KeyObject } from "node:crypto";
import type { ClientSecretJwtKey } from "../config/schema.js";

/** Synapse's `CLIENT_SECRET_VALIDITY_SECONDS` and `CLIENT_SECRET_MIN_VALIDITY_SECONDS`. */
const VALIDITY_S = 3600;
const MIN_VALIDITY_S = 600;

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

/** A compact JWS over `header` and `payload` (the algorithms config validation allows). */
export function signJwt(header: { alg: string }, payload: Record<string, unknown>, key: KeyObject): string {
  const data = Buffer.from(`${b64(header)}.${b64(payload)}`);
  const { alg } = header;
  const hash = alg === "EdDSA" ? null : `sha${alg.slice(2)}`;
  let signature: Buffer;
  if (alg.startsWith("PS")) {
    signature = sign(hash, data, {
      key,
      padding: constants.RSA_PKCS1_PSS_PADDING,
      saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
    });
  } else if (alg.startsWith("ES")) {
    // JWS wants r‖s, not the DER node produces by default.
    signature = sign(hash, data, { key, dsaEncoding: "ieee-p1363" });
  } else {
    signature = sign(hash, data, key);
  }
  return `${data.toString()}.${signature.toString("base64url")}`;
}

/** The current client secret for a provider, made (or remade) when needed; `nowMs` is the wall clock. */
export function jwtClientSecret(
  jwtKey: ClientSecretJwtKey,
  clientId: string,
  issuer: string,
  nowMs: () => number = Date.now,
): () => string {
  const key = createPrivateKey(jwtKey.key);
  let cached = "";
  let replaceAt = 0;
  return () => {
    const now = Math.floor(nowMs() / 1000);
    if (now < replaceAt) return cached;
    const payload = { sub: clientId, aud: issuer, iat: now, exp: now + VALIDITY_S, ...jwtKey.jwt_payload };
    cached = signJwt(jwtKey.jwt_header, payload, key);
    replaceAt = now + VALIDITY_S - MIN_VALIDITY_S;
    return cached;
  };
}
