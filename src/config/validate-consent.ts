/**
 * @module Synapse's `user_consent:` section (`synapse/config/consent.py`) and the `form_secret` its links are signed
 * with. Synapse refuses to serve consent without `form_secret`, and to send consent notices without server notices;
 * Gatehouse refuses both at start-up. It and validate.ts import each other, so neither may use the other's exports
 * while it is being loaded, only when called.
 */
import { existsSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import type { ConsentConfig, UserConsentConfig } from "./schema.js";
import { readKey } from "./validate-captcha.js";
import { describe, isPlainObject, type RawConfig, type Reader } from "./validate.js";

export const CONSENT_KEYS = ["user_consent", "form_secret", "form_secret_path"];

const USER_CONSENT_KEYS = [
  "version",
  "template_dir",
  "policy_name",
  "require_at_registration",
  "server_notice_content",
  "block_events_error",
  "send_server_notice_to_guests",
];

/** The one language Synapse's consent resource serves (`TEMPLATE_LANGUAGE`). */
export const CONSENT_LANGUAGE = "en";

/** Where the policy text of `version` is: Synapse's layout, `<template_dir>/en/<version>.html`. */
export function policyFile(templateDir: string, version: string): string {
  return join(templateDir, CONSENT_LANGUAGE, `${version}.html`);
}

/** A version names a file: no path separators or dot-names, so `?v=` can never leave the template directory. */
export function isPolicyVersion(v: string): boolean {
  return /^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}$/.test(v);
}

function readUserConsent(r: Reader, raw: RawConfig, hasServerNotices: boolean): UserConsentConfig | null {
  const c = r.object(raw, "user_consent", "user_consent");
  if (c === null) return null;
  r.checkKeys(c, USER_CONSENT_KEYS, "user_consent");
  // Synapse takes `str(version)`, but YAML has already made `1.0` the number 1: which was meant cannot be known.
  let version: string | null = null;
  if (c.version === undefined || c.version === null) {
    r.problem("user_consent.version", "is required when user_consent is set");
  } else if (typeof c.version === "number") {
    const n = String(c.version);
    r.problem(
      "user_consent.version",
      `must be text: quote it (version: "${n}.0" or "${n}"), as YAML reads 1.0 as a number`,
    );
  } else {
    version = r.string(c, "version", "user_consent.version", null);
    if (version !== null && !isPolicyVersion(version)) {
      r.problem("user_consent.version", "must be letters, digits, '.', '_' or '-' (it names the policy's file)");
      version = null;
    }
  }
  const dir = r.string(c, "template_dir", "user_consent.template_dir", null);
  let templateDir = "";
  if (dir === null) r.problem("user_consent.template_dir", "is required when user_consent is set");
  else {
    templateDir = resolve(dir);
    if (!existsSync(templateDir) || !statSync(templateDir).isDirectory()) {
      r.problem("user_consent.template_dir", `could not find template directory '${templateDir}'`);
    } else if (version !== null && !existsSync(policyFile(templateDir, version))) {
      r.problem("user_consent.template_dir", `has no ${policyFile(templateDir, version)} for version ${version}`);
    }
  }
  let notice: Record<string, unknown> | null = null;
  const n = c.server_notice_content;
  if (n !== undefined && n !== null) {
    if (!isPlainObject(n)) r.problem("user_consent.server_notice_content", `must be a mapping (got ${describe(n)})`);
    else if (typeof n.body !== "string")
      r.problem("user_consent.server_notice_content", "must contain a 'body' string");
    else if (!hasServerNotices) {
      r.problem("user_consent.server_notice_content", "needs server notices: set server_notices.system_mxid_localpart");
    } else notice = n;
  }
  return {
    version: version ?? "",
    template_dir: templateDir,
    policy_name: r.string(c, "policy_name", "user_consent.policy_name", "Privacy Policy") ?? "Privacy Policy",
    require_at_registration: r.bool(c, "require_at_registration", "user_consent.require_at_registration", false),
    server_notice_content: notice,
    block_events_error: r.string(c, "block_events_error", "user_consent.block_events_error", null),
    send_server_notice_to_guests: r.bool(
      c,
      "send_server_notice_to_guests",
      "user_consent.send_server_notice_to_guests",
      false,
    ),
  };
}

export function readConsentConfig(
  r: Reader,
  raw: RawConfig,
  hasServerNotices: boolean,
  readSecretFile: (path: string) => string,
): ConsentConfig {
  const formSecret = readKey(r, raw, "form_secret", readSecretFile);
  const userConsent = readUserConsent(r, raw, hasServerNotices);
  if (userConsent !== null && formSecret === null) {
    r.problem("user_consent", "needs form_secret (or form_secret_path): the consent links are signed with it");
  }
  return { user_consent: userConsent, form_secret: formSecret };
}
