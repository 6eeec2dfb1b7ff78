/**
 * @module Single sign-on keys: Synapse's `oidc_providers` list and `sso` section (`synapse/config/oidc.py`,
 * `sso.py`), with its defaults. Templates are compiled here so a template outside the supported subset stops
 * start-up naming the construct. It and validate.ts import each other, so neither may use the other's exports
 * while it is being loaded, only when called.
 */
import { createPrivateKey } from "node:crypto";
import type {
  AttributeRequirement,
  ClientSecretJwtKey,
  OidcMappingConfig,
  OidcProviderConfig,
  SsoConfig,
} from "./schema.js";
import { compileTemplate, TemplateError, type CompiledTemplate } from "./sso-template.js";
import {
  describe,
  errorMessage,
  isPlainObject,
  type RawConfig,
  type Reader,
  type ValidateOptions,
} from "./validate.js";

export const SSO_KEYS = ["oidc_providers", "sso"];

const PROVIDER_KEYS = [
  "idp_id",
  "idp_name",
  "idp_icon",
  "idp_brand",
  "issuer",
  "discover",
  "client_id",
  "client_secret",
  "client_secret_path",
  "client_secret_jwt_key",
  "client_auth_method",
  "pkce_method",
  "scopes",
  "user_profile_method",
  "allow_existing_users",
  "enable_registration",
  "attribute_requirements",
  "backchannel_logout_enabled",
  "skip_verification",
  "authorization_endpoint",
  "token_endpoint",
  "userinfo_endpoint",
  "jwks_uri",
  "user_mapping_provider",
];

/** What a login answers itself: an `extra_attributes` name may not shadow one (Synapse would overwrite it). */
const LOGIN_RESPONSE_FIELDS = [
  "user_id",
  "access_token",
  "home_server",
  "device_id",
  "expires_in_ms",
  "refresh_token",
  "well_known",
];

/** Synapse's `idp_id` schema: 1 to 245 characters of these, so the prefixed ID fits its 250. */
const IDP_ID = /^[A-Za-z0-9._~-]{1,245}$/;
const CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"] as const;
const PKCE_METHODS = ["auto", "always", "never"] as const;
const PROFILE_METHODS = ["auto", "userinfo_endpoint"] as const;

export function readSsoConfig(r: Reader, raw: RawConfig, options: ValidateOptions): SsoConfig {
  const ssoRaw = r.object(raw, "sso", "sso") ?? {};
  r.checkKeys(ssoRaw, ["client_whitelist", "registration_when_closed", "update_profile_information"], "sso");
  const whitelist = ssoRaw.client_whitelist ?? [];
  if (!Array.isArray(whitelist) || !whitelist.every((x) => typeof x === "string" && x !== "")) {
    r.problem("sso.client_whitelist", "must be a list of URL prefixes");
  }
  const sso = {
    client_whitelist: Array.isArray(whitelist) ? whitelist.filter((x): x is string => typeof x === "string") : [],
    registration_when_closed: r.bool(ssoRaw, "registration_when_closed", "sso.registration_when_closed", true),
    update_profile_information: r.bool(ssoRaw, "update_profile_information", "sso.update_profile_information", false),
  };

  const list = raw.oidc_providers ?? [];
  if (!Array.isArray(list)) {
    r.problem("oidc_providers", `must be a list of providers (got ${describe(list)})`);
    return { oidc_providers: [], sso };
  }
  const providers: OidcProviderConfig[] = [];
  list.forEach((entry, i) => {
    const path = `oidc_providers[${i}]`;
    if (!isPlainObject(entry)) {
      r.problem(path, `must be a mapping (got ${describe(entry)})`);
      return;
    }
    const p = readProvider(r, entry, path, options);
    if (p === null) return;
    if (providers.some((o) => o.idp_id === p.idp_id)) r.problem(`${path}.idp_id`, `duplicate idp_id "${p.idp_id}"`);
    providers.push(p);
  });
  return { oidc_providers: providers, sso };
}

function oneOf<T extends string>(
  r: Reader,
  obj: RawConfig,
  key: string,
  path: string,
  allowed: readonly T[],
  fallback: T,
): T {
  const v = r.string(obj, key, `${path}.${key}`, fallback);
  if (v !== null && !(allowed as readonly string[]).includes(v)) {
    r.problem(`${path}.${key}`, `must be one of ${allowed.join(", ")} (got ${JSON.stringify(v)})`);
    return fallback;
  }
  return (v ?? fallback) as T;
}

function url(r: Reader, obj: RawConfig, key: string, path: string, plainHttpAllowed: boolean): string | null {
  const v = r.string(obj, key, `${path}.${key}`, null);
  if (v === null) return null;
  let parsed: URL;
  try {
    parsed = new URL(v);
  } catch {
    r.problem(`${path}.${key}`, `is not a URL: ${JSON.stringify(v)}`);
    return null;
  }
  if (parsed.protocol !== "https:" && !(plainHttpAllowed && parsed.protocol === "http:")) {
    r.problem(`${path}.${key}`, "must be an https:// URL (http:// only with skip_verification: true)");
  }
  return v;
}

function readProvider(r: Reader, p: RawConfig, path: string, options: ValidateOptions): OidcProviderConfig | null {
  r.checkKeys(p, PROVIDER_KEYS, path);
  const rawId = r.string(p, "idp_id", `${path}.idp_id`, "oidc") ?? "oidc";
  if (!IDP_ID.test(rawId))
    r.problem(`${path}.idp_id`, "must be 1 to 245 characters of A-Z, a-z, 0-9, '.', '_', '~', '-'");
  // Synapse's prefix, so external IDs and `identity_providers` ids match a Synapse installation's.
  const idpId = rawId === "oidc" ? "oidc" : `oidc-${rawId}`;
  const skipVerification = r.bool(p, "skip_verification", `${path}.skip_verification`, false);
  const issuer = url(r, p, "issuer", path, skipVerification);
  if (issuer === null && (p.issuer === undefined || p.issuer === null)) r.problem(`${path}.issuer`, "is required");
  const clientId = r.string(p, "client_id", `${path}.client_id`, null);
  if (clientId === null && (p.client_id === undefined || p.client_id === null)) {
    r.problem(`${path}.client_id`, "is required");
  }
  const clientAuthMethod = oneOf(r, p, "client_auth_method", path, CLIENT_AUTH_METHODS, "client_secret_basic");
  const secret = readClientSecret(r, p, path, options);
  // Synapse's rule: a client_secret wins, the JWT key is ignored.
  const jwtKey = secret === null ? readClientSecretJwtKey(r, p, path, options) : null;
  if (secret === null && jwtKey === null && clientAuthMethod !== "none") {
    r.problem(
      `${path}.client_secret`,
      `client_secret, client_secret_path or client_secret_jwt_key is required with ${clientAuthMethod}`,
    );
  }
  const discover = r.bool(p, "discover", `${path}.discover`, true);
  const endpoints = {
    authorization_endpoint: url(r, p, "authorization_endpoint", path, skipVerification),
    token_endpoint: url(r, p, "token_endpoint", path, skipVerification),
    userinfo_endpoint: url(r, p, "userinfo_endpoint", path, skipVerification),
    jwks_uri: url(r, p, "jwks_uri", path, skipVerification),
  };
  if (!discover) {
    for (const key of ["authorization_endpoint", "token_endpoint"] as const) {
      if (endpoints[key] === null) r.problem(`${path}.${key}`, "is required when discover is false");
    }
  }
  const scopes = p.scopes ?? ["openid"];
  if (!Array.isArray(scopes) || !scopes.every((s) => typeof s === "string" && /^[\x21\x23-\x5b\x5d-\x7e]+$/.test(s))) {
    r.problem(`${path}.scopes`, "must be a list of scope names");
  } else if (!scopes.includes("openid")) {
    r.problem(`${path}.scopes`, 'must include "openid"');
  }
  const profileMethod = oneOf(r, p, "user_profile_method", path, PROFILE_METHODS, "auto");
  return {
    idp_id: idpId,
    idp_name: r.string(p, "idp_name", `${path}.idp_name`, "OIDC") ?? "OIDC",
    idp_icon: readIcon(r, p, path),
    idp_brand: r.string(p, "idp_brand", `${path}.idp_brand`, null),
    issuer: issuer ?? "",
    discover,
    client_id: clientId ?? "",
    client_secret: secret,
    client_secret_jwt_key: jwtKey,
    client_auth_method: clientAuthMethod,
    pkce_method: oneOf(r, p, "pkce_method", path, PKCE_METHODS, "auto"),
    scopes: Array.isArray(scopes) ? (scopes as string[]) : ["openid"],
    user_profile_method: profileMethod,
    allow_existing_users: r.bool(p, "allow_existing_users", `${path}.allow_existing_users`, false),
    enable_registration: r.bool(p, "enable_registration", `${path}.enable_registration`, true),
    attribute_requirements: readRequirements(r, p, path),
    backchannel_logout_enabled: r.bool(p, "backchannel_logout_enabled", `${path}.backchannel_logout_enabled`, false),
    skip_verification: skipVerification,
    ...endpoints,
    user_mapping_provider: readMapping(r, p, path),
  };
}

function readIcon(r: Reader, p: RawConfig, path: string): string | null {
  const icon = r.string(p, "idp_icon", `${path}.idp_icon`, null);
  if (icon !== null && !/^mxc:\/\/[^/]+\/[^/]+$/.test(icon)) r.problem(`${path}.idp_icon`, "must be an mxc:// URI");
  return icon;
}

function readClientSecret(r: Reader, p: RawConfig, path: string, options: ValidateOptions): string | null {
  const inline = r.string(p, "client_secret", `${path}.client_secret`, null);
  const file = r.string(p, "client_secret_path", `${path}.client_secret_path`, null);
  if (inline !== null && file !== null) {
    r.problem(`${path}.client_secret_path`, "client_secret and client_secret_path are both set; set one");
    return null;
  }
  if (file === null) return inline;
  try {
    const value = options.readSecretFile(file).trim();
    if (value === "") r.problem(`${path}.client_secret_path`, `the secret file ${file} is empty`);
    return value || null;
  } catch (err) {
    r.problem(`${path}.client_secret_path`, `cannot read ${file}: ${errorMessage(err)}`);
    return null;
  }
}

/** The algorithms a client-secret JWT may be signed with, by the key type each needs. */
const JWT_ALGS: Record<string, string> = {
  RS256: "rsa",
  RS384: "rsa",
  RS512: "rsa",
  PS256: "rsa",
  PS384: "rsa",
  PS512: "rsa",
  ES256: "ec",
  ES384: "ec",
  ES512: "ec",
  EdDSA: "ed25519",
};

function readClientSecretJwtKey(
  r: Reader,
  p: RawConfig,
  path: string,
  options: ValidateOptions,
): ClientSecretJwtKey | null {
  const at = `${path}.client_secret_jwt_key`;
  const raw = r.object(p, "client_secret_jwt_key", at);
  if (raw === null) return null;
  r.checkKeys(raw, ["key", "key_file", "jwt_header", "jwt_payload"], at);
  const inline = r.string(raw, "key", `${at}.key`, null);
  const file = r.string(raw, "key_file", `${at}.key_file`, null);
  let key = inline;
  if (inline !== null && file !== null) r.problem(`${at}.key_file`, "key and key_file are both set; set one");
  else if (file !== null) {
    try {
      key = options.readSecretFile(file);
    } catch (err) {
      r.problem(`${at}.key_file`, `cannot read ${file}: ${errorMessage(err)}`);
      return null;
    }
  } else if (inline === null) {
    r.problem(`${at}.key`, "key or key_file is required");
    return null;
  }
  const header = r.object(raw, "jwt_header", `${at}.jwt_header`);
  const payload = r.object(raw, "jwt_payload", `${at}.jwt_payload`) ?? {};
  const alg = header?.alg;
  if (typeof alg !== "string" || !(alg in JWT_ALGS)) {
    r.problem(`${at}.jwt_header.alg`, `must be one of ${Object.keys(JWT_ALGS).join(", ")}`);
    return null;
  }
  let type: string | undefined;
  try {
    type = createPrivateKey(key!).asymmetricKeyType;
  } catch (err) {
    r.problem(`${at}.key`, `is not a PEM private key: ${errorMessage(err)}`);
    return null;
  }
  if (type !== JWT_ALGS[alg]) r.problem(`${at}.jwt_header.alg`, `${alg} needs an ${JWT_ALGS[alg]} key, not ${type}`);
  return { key: key!, jwt_header: { ...header, alg }, jwt_payload: payload };
}

function readRequirements(r: Reader, p: RawConfig, path: string): AttributeRequirement[] {
  const list = p.attribute_requirements ?? [];
  if (!Array.isArray(list)) {
    r.problem(`${path}.attribute_requirements`, "must be a list");
    return [];
  }
  const out: AttributeRequirement[] = [];
  list.forEach((req, i) => {
    const at = `${path}.attribute_requirements[${i}]`;
    if (!isPlainObject(req)) {
      r.problem(at, "must be a mapping with attribute and value or one_of");
      return;
    }
    r.checkKeys(req, ["attribute", "value", "one_of"], at);
    const attribute = r.string(req, "attribute", `${at}.attribute`, null);
    if (attribute === null) r.problem(`${at}.attribute`, "is required");
    const value = r.string(req, "value", `${at}.value`, null);
    const oneOfRaw = req.one_of;
    let oneOfList: string[] | null = null;
    if (oneOfRaw !== undefined && oneOfRaw !== null) {
      if (!Array.isArray(oneOfRaw) || !oneOfRaw.every((x) => typeof x === "string")) {
        r.problem(`${at}.one_of`, "must be a list of strings");
      } else oneOfList = oneOfRaw;
    }
    if (value !== null && oneOfList !== null) r.problem(at, "set value or one_of, not both");
    out.push({ attribute: attribute ?? "", value, one_of: oneOfList });
  });
  return out;
}

function readMapping(r: Reader, p: RawConfig, path: string): OidcMappingConfig {
  const at = `${path}.user_mapping_provider`;
  const ump = r.object(p, "user_mapping_provider", at) ?? {};
  r.checkKeys(ump, ["module", "config"], at);
  const module = r.string(ump, "module", `${at}.module`, null);
  if (module !== null && module !== "synapse.handlers.oidc.JinjaOidcMappingProvider") {
    r.problem(`${at}.module`, "only the built-in JinjaOidcMappingProvider is supported");
  }
  const c = r.object(ump, "config", `${at}.config`) ?? {};
  const keys = [
    "subject_template",
    "localpart_template",
    "confirm_localpart",
    "display_name_template",
    "email_template",
    "picture_template",
    "extra_attributes",
  ];
  // Synapse's other keys are accepted and ignored with a warning (checkKeys), not refused.
  r.checkKeys(c, keys, `${at}.config`);
  const template = (key: string): CompiledTemplate | null => {
    const source = r.string(c, key, `${at}.config.${key}`, null);
    if (source === null) return null;
    try {
      return compileTemplate(source);
    } catch (err) {
      if (err instanceof TemplateError) r.problem(`${at}.config.${key}`, `cannot be rendered: ${err.message}`);
      else throw err;
      return null;
    }
  };
  const extra: Record<string, CompiledTemplate> = {};
  const extraRaw = r.object(c, "extra_attributes", `${at}.config.extra_attributes`) ?? {};
  for (const [name, source] of Object.entries(extraRaw)) {
    const key = `${at}.config.extra_attributes.${name}`;
    if (LOGIN_RESPONSE_FIELDS.includes(name)) {
      r.problem(key, "is a field of the login response itself; choose another name");
    } else if (typeof source !== "string") {
      r.problem(key, "must be a template string");
    } else {
      try {
        extra[name] = compileTemplate(source);
      } catch (err) {
        if (err instanceof TemplateError) r.problem(key, `cannot be rendered: ${err.message}`);
        else throw err;
      }
    }
  }
  return {
    subject_template: template("subject_template") ?? compileTemplate("{{ user.sub }}"),
    localpart_template: template("localpart_template"),
    confirm_localpart: r.bool(c, "confirm_localpart", `${at}.config.confirm_localpart`, false),
    display_name_template: template("display_name_template"),
    email_template: template("email_template"),
    picture_template: template("picture_template"),
    extra_attributes: extra,
  };
}
