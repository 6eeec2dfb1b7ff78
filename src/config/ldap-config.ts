/**
 * @module Synapse's `modules:` list, read for the one module Gatehouse runs itself: matrix-synapse-ldap3's
 * `ldap_auth_provider.LdapAuthProviderModule`, with that module's keys, so an operator's configuration carries over.
 * Any other module is Python code for Synapse's module API, which Gatehouse cannot load: a warning at start-up
 * names it, and the server starts without it (refusing would block a migration over, say, a spam checker that an
 * operator can live without for a while).
 *
 * It and validate.ts import each other, so neither may use the other's exports while it is being loaded, only when
 * called.
 */
import { FilterParser } from "ldapts";
import { describe, errorMessage, isPlainObject, readDuration, type RawConfig, type Reader } from "./validate.js";

export const MODULE_KEYS = ["modules"];

export const LDAP_MODULE = "ldap_auth_provider.LdapAuthProviderModule";
/** The module's older name, from Synapse's `password_providers` days; the same class underneath. */
const LDAP_MODULE_OLD = "ldap_auth_provider.LdapAuthProvider";

/** A slow directory answers within this many milliseconds or counts as unavailable (Gatehouse's `timeout` key). */
export const DEFAULT_LDAP_TIMEOUT_MS = 5_000;

export interface LdapConfig {
  /** `uri`: a string or a list; the first that accepts a connection is used. */
  uris: string[];
  start_tls: boolean;
  validate_cert: boolean;
  base: string;
  attributes: { uid: string; mail: string; name: string };
  /** `search` when `bind_dn` is set (the module's rule) or `mode: search` (anonymous search). */
  mode: "simple" | "search";
  bind_dn: string | null;
  /** From `bind_password`, or `bind_password_file` with trailing newlines removed. */
  bind_password: string | null;
  /** Extra filter ANDed into the search, parenthesised, e.g. `(objectClass=posixAccount)`. */
  filter: string | null;
  active_directory: boolean;
  default_domain: string | null;
  /** Gatehouse's own key `timeout`: for connecting and for each LDAP operation, in milliseconds. */
  timeout_ms: number;
  /** Gatehouse's own key `enable_registration`: false refuses directory users who have no account yet. */
  enable_registration: boolean;
}

const LDAP_KEYS = [
  "enabled",
  "uri",
  "start_tls",
  "validate_cert",
  "tls_options",
  "base",
  "attributes",
  "mode",
  "bind_dn",
  "bind_password",
  "bind_password_file",
  "filter",
  "active_directory",
  "default_domain",
  "timeout",
  "enable_registration",
];

export interface ModulesConfig {
  /** The enabled LDAP module's settings; null when there is none or it is not `enabled`. */
  ldap: LdapConfig | null;
}

/** Reads `modules:`; problems and warnings go to `r`. `readSecretFile` reads `bind_password_file`. */
export function readModules(r: Reader, raw: RawConfig, readSecretFile: (path: string) => string): ModulesConfig {
  const list = raw.modules;
  if (list === undefined || list === null) return { ldap: null };
  if (!Array.isArray(list)) {
    r.problem("modules", `must be a list (got ${describe(list)})`);
    return { ldap: null };
  }
  let ldap: LdapConfig | null = null;
  list.forEach((entry: unknown, i) => {
    const path = `modules[${i}]`;
    if (!isPlainObject(entry) || typeof entry.module !== "string") {
      r.problem(path, "must be a mapping with a `module` name");
      return;
    }
    if (entry.module !== LDAP_MODULE && entry.module !== LDAP_MODULE_OLD) {
      r.warning(
        `${path}.module`,
        `${JSON.stringify(entry.module)} is a Synapse Python module, which Gatehouse cannot run; ignored ` +
          `(only ${LDAP_MODULE} is built in)`,
      );
      return;
    }
    r.checkKeys(entry, ["module", "config"], path);
    const config = r.object(entry, "config", `${path}.config`) ?? {};
    const read = readLdap(r, config, `${path}.config`, readSecretFile);
    if (read === null) return;
    if (ldap !== null) r.problem(path, "a second LDAP module; configure one directory");
    ldap = read;
  });
  return { ldap };
}

function readLdap(
  r: Reader,
  c: Record<string, unknown>,
  prefix: string,
  readSecretFile: (path: string) => string,
): LdapConfig | null {
  r.checkKeys(c, LDAP_KEYS, prefix);
  const key = (k: string) => `${prefix}.${k}`;
  const enabled = r.bool(c, "enabled", key("enabled"), false);
  const uris = readUris(r, c.uri, key("uri"));
  const base = r.string(c, "base", key("base"), null);
  if (base === null) r.problem(key("base"), "is required");
  const attrs = r.object(c, "attributes", key("attributes"));
  if (attrs === null) r.problem(key("attributes"), "is required (uid, mail and name)");
  else r.checkKeys(attrs, ["uid", "mail", "name"], key("attributes"));
  const attr = (name: string) => {
    const v = attrs ? r.string(attrs, name, key(`attributes.${name}`), null) : null;
    if (attrs && (v === null || v === "")) r.problem(key(`attributes.${name}`), "is required");
    return v ?? "";
  };
  const attributes = { uid: attr("uid"), mail: attr("mail"), name: attr("name") };
  if (c.validate_cert !== undefined && c.tls_options !== undefined) {
    r.problem(key("tls_options"), "cannot be set together with validate_cert");
  } else if (c.tls_options !== undefined) {
    r.problem(key("tls_options"), "is ldap3's (Python) TLS settings, not supported; use validate_cert");
  }
  const bindDn = r.string(c, "bind_dn", key("bind_dn"), null);
  const bindPassword = readBindPassword(r, c, prefix, readSecretFile);
  if (bindDn !== null && bindPassword === null && c.bind_password_file === undefined) {
    r.problem(key("bind_password"), "is required with bind_dn (or bind_password_file)");
  }
  const modeRaw = r.string(c, "mode", key("mode"), "simple") ?? "simple";
  if (modeRaw !== "simple" && modeRaw !== "search") r.problem(key("mode"), "must be simple or search");
  const mode = bindDn !== null || modeRaw === "search" ? "search" : "simple";
  const filter = r.string(c, "filter", key("filter"), null);
  if (filter !== null) {
    let ok = /^\(.*\)$/s.test(filter.trim());
    if (ok) {
      try {
        FilterParser.parseString(filter.trim());
      } catch {
        ok = false;
      }
    }
    if (!ok) r.problem(key("filter"), `is not an LDAP filter such as (objectClass=posixAccount): ${filter}`);
    if (mode === "simple") {
      r.warning(key("filter"), "is used only in search mode (set bind_dn or mode: search); ignored");
    }
  }
  const activeDirectory = r.bool(c, "active_directory", key("active_directory"), false);
  const defaultDomain = r.string(c, "default_domain", key("default_domain"), null);
  const timeout = readDuration(r, c, "timeout", key("timeout"), DEFAULT_LDAP_TIMEOUT_MS) ?? DEFAULT_LDAP_TIMEOUT_MS;
  if (timeout < 100 || timeout > 120_000) r.problem(key("timeout"), "must be between 100ms and 2m");
  const enableRegistration = r.bool(c, "enable_registration", key("enable_registration"), true);
  if (!enabled) return null;
  return {
    uris,
    start_tls: r.bool(c, "start_tls", key("start_tls"), false),
    validate_cert: r.bool(c, "validate_cert", key("validate_cert"), true),
    base: base ?? "",
    attributes,
    mode,
    bind_dn: bindDn,
    bind_password: bindPassword,
    filter: filter?.trim() ?? null,
    active_directory: activeDirectory,
    default_domain: activeDirectory ? defaultDomain : null,
    timeout_ms: timeout,
    enable_registration: enableRegistration,
  };
}

function readUris(r: Reader, v: unknown, path: string): string[] {
  const list = typeof v === "string" ? [v] : Array.isArray(v) && v.every((u) => typeof u === "string") ? v : null;
  if (list === null || list.length === 0) {
    r.problem(path, "is required: an ldap:// or ldaps:// URI, or a list of them");
    return [];
  }
  for (const uri of list) {
    if (!/^ldaps?:\/\/[^/]+\/?$/i.test(uri)) r.problem(path, `must be ldap://host[:port] or ldaps://… (got ${uri})`);
  }
  return list;
}

function readBindPassword(
  r: Reader,
  c: Record<string, unknown>,
  prefix: string,
  readSecretFile: (path: string) => string,
): string | null {
  const inline = r.string(c, "bind_password", `${prefix}.bind_password`, null);
  const file = r.string(c, "bind_password_file", `${prefix}.bind_password_file`, null);
  if (inline !== null && file !== null) {
    r.problem(`${prefix}.bind_password_file`, "cannot be set together with bind_password");
    return inline;
  }
  if (file === null) return inline;
  let password: string;
  try {
    password = readSecretFile(file).replace(/[\r\n]+$/, "");
  } catch (err) {
    r.problem(`${prefix}.bind_password_file`, `cannot read ${file}: ${errorMessage(err)}`);
    return null;
  }
  // An empty password makes the service bind an anonymous one (RFC 4513 §5.1.2), which the operator did not ask for.
  if (password === "") {
    r.problem(`${prefix}.bind_password_file`, `${file} is empty`);
    return null;
  }
  return password;
}
