/**
 * @module Terms (Synapse's `user_consent`): the links to the policy, the MAC that lets a link act for one user
 * (Synapse's `ConsentURIBuilder`: HMAC-SHA256 of the `u` parameter, a localpart, with `form_secret`), the
 * `m.login.terms` parameters, and whether a user still has to accept the current version.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Config, UserConsentConfig } from "../config/schema.js";
import { CONSENT_LANGUAGE, isPolicyVersion } from "../config/validate-consent.js";
import type { User } from "../db/users.js";
import { ErrCode, MatrixError } from "../errors.js";
import type { AccountsContext } from "./context.js";

export const CONSENT_PATH = "/_matrix/consent";

/** What consent needs at run time; null when `user_consent` is not configured. */
export interface ConsentSettings {
  config: UserConsentConfig;
  formSecret: string;
  /** `public_baseurl`, else Synapse's default `https://<server_name>/`; ends with `/`. */
  baseUrl: string;
}

export function consentSettings(
  config: Pick<Config, "user_consent" | "form_secret" | "public_baseurl" | "server_name">,
): ConsentSettings | null {
  if (config.user_consent === null || config.form_secret === null) return null;
  return {
    config: config.user_consent,
    formSecret: config.form_secret,
    baseUrl: config.public_baseurl ?? `https://${config.server_name}/`,
  };
}

export function consentMac(s: ConsentSettings, u: string): string {
  return createHmac("sha256", s.formSecret).update(u, "utf8").digest("hex");
}

/** Synapse's `_check_hash`: compared in constant time; a wrong MAC is 403 "HMAC incorrect". */
export function checkConsentMac(s: ConsentSettings, u: string, h: string): void {
  const want = Buffer.from(consentMac(s, u), "utf8");
  const given = Buffer.from(h, "utf8");
  if (given.length !== want.length || !timingSafeEqual(given, want)) {
    throw new MatrixError(ErrCode.Unknown, "HMAC incorrect", { status: 403 });
  }
}

/** The policy of `version` for anyone: `<base>_matrix/consent?v=<version>`. */
export function policyUrl(s: ConsentSettings, version = s.config.version): string {
  return `${s.baseUrl}_matrix/consent?v=${encodeURIComponent(version)}`;
}

/** The link that lets `localpart` accept the current version (Synapse's `build_user_consent_uri`). */
export function userConsentUri(s: ConsentSettings, localpart: string): string {
  const q = new URLSearchParams({ u: localpart, h: consentMac(s, localpart) });
  return `${s.baseUrl}_matrix/consent?${q.toString()}`;
}

/** Python's `template % {"consent_uri": uri}` for the one key Synapse gives these texts. */
export function fillConsentUri(template: string, uri: string): string {
  return template.replace(/%\(consent_uri\)s|%%/g, (m) => (m === "%%" ? "%" : uri));
}

/** Synapse's `copy_with_str_subst`: every string in the notice's content filled in, at any depth. */
export function fillConsentUriDeep(value: unknown, uri: string): unknown {
  if (typeof value === "string") return fillConsentUri(value, uri);
  if (Array.isArray(value)) return value.map((v) => fillConsentUriDeep(v, uri));
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fillConsentUriDeep(v, uri)]));
  }
  return value;
}

/** The 401's `params` entry for `m.login.terms` (Synapse's `_get_params_terms`). */
export function termsParams(s: ConsentSettings): Record<string, unknown> {
  const { version, policy_name: name } = s.config;
  return { policies: { privacy_policy: { version, en: { name, url: policyUrl(s, version) } } } };
}

function localpartOf(userId: string): string {
  return userId.slice(1, userId.indexOf(":"));
}

/**
 * Synapse's `assert_accepted_privacy_policy`: with `block_events_error` set, a user who has not accepted the current
 * version is refused with 403 `M_CONSENT_NOT_GIVEN` and their link. Support and bot users are exempt, as is the
 * notices user (the caller passes it); admins and guests are not, as in Synapse.
 */
export function assertConsented(s: ConsentSettings | null, user: User, noticesUserId: string | null): void {
  if (s === null || s.config.block_events_error === null) return;
  if (user.userId === noticesUserId) return;
  if (user.userType === "support" || user.userType === "bot") return;
  if (user.consentVersion === s.config.version) return;
  const uri = userConsentUri(s, localpartOf(user.userId));
  throw new MatrixError(ErrCode.ConsentNotGiven, fillConsentUri(s.config.block_events_error, uri), {
    extra: { consent_uri: uri },
  });
}

/** Whether `user` should get the consent server notice now (Synapse's `ConsentServerNotices`). */
export function needsConsentNotice(s: ConsentSettings | null, user: User): boolean {
  if (s === null || s.config.server_notice_content === null) return false;
  if (user.isGuest && !s.config.send_server_notice_to_guests) return false;
  if (user.deactivated) return false;
  return user.consentVersion !== s.config.version && user.consentServerNoticeSent !== s.config.version;
}

/** The notice's content with this user's link filled in. */
export function consentNoticeContent(s: ConsentSettings, userId: string): Record<string, unknown> {
  return fillConsentUriDeep(s.config.server_notice_content, userConsentUri(s, localpartOf(userId))) as Record<
    string,
    unknown
  >;
}

/** The query (GET) or form (POST) of `/_matrix/consent`. */
export interface ConsentRequest {
  v: string | null;
  u: string | null;
  h: string | null;
}

/** What the consent page shows: the policy, and for a user given by a good MAC, whether they accepted it. */
export interface ConsentView {
  version: string;
  /** The operator's HTML (the `<body>`'s content when the file is a whole document). */
  policyHtml: string;
  /** The `u` and `h` to post back to accept; null for the public page (no `u`). */
  user: { u: string; h: string } | null;
  hasConsented: boolean;
}

function qualified(ctx: AccountsContext, u: string): string {
  return u.startsWith("@") ? u : `@${u}:${ctx.serverName}`;
}

async function readTemplate(s: ConsentSettings, name: string): Promise<string | null> {
  try {
    return await readFile(join(s.config.template_dir, CONSENT_LANGUAGE, `${name}.html`), "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  }
}

function bodyOf(html: string): string {
  return /<body[^>]*>([\s\S]*)<\/body>/i.exec(html)?.[1] ?? html;
}

async function policyHtml(s: ConsentSettings, version: string): Promise<string> {
  const html = isPolicyVersion(version) && version !== "success" ? await readTemplate(s, version) : null;
  if (html === null) throw new MatrixError(ErrCode.NotFound, "Unknown policy version");
  return bodyOf(html);
}

/** Synapse's `ConsentResource._async_render_GET`: `v` defaults to the current version; `u` needs its `h`. */
export async function viewConsent(ctx: AccountsContext, s: ConsentSettings, q: ConsentRequest): Promise<ConsentView> {
  const version = q.v ?? s.config.version;
  let user: ConsentView["user"] = null;
  let hasConsented = false;
  if (q.u !== null && q.u !== "") {
    if (q.h === null) throw new MatrixError(ErrCode.MissingParam, "Missing string query parameter 'h'");
    checkConsentMac(s, q.u, q.h);
    const found = await ctx.stores.users.get(qualified(ctx, q.u));
    if (!found) throw new MatrixError(ErrCode.NotFound, "Unknown user");
    hasConsented = found.consentVersion === version;
    user = { u: q.u, h: q.h };
  }
  return { version, policyHtml: await policyHtml(s, version), user, hasConsented };
}

/**
 * Synapse's `_async_render_POST`: records `v` as the user's accepted version, now. The version must be one whose
 * policy exists (Synapse stores any), so no one records acceptance of a text never shown. Returns the operator's
 * `en/success.html` body, or null for Gatehouse's own thank-you page.
 */
export async function acceptConsent(
  ctx: AccountsContext,
  s: ConsentSettings,
  q: ConsentRequest,
): Promise<string | null> {
  for (const [name, value] of Object.entries(q)) {
    if (value === null) throw new MatrixError(ErrCode.MissingParam, `Missing string query parameter '${name}'`);
  }
  checkConsentMac(s, q.u!, q.h!);
  await policyHtml(s, q.v!);
  if (!(await ctx.stores.users.setConsentVersion(qualified(ctx, q.u!), q.v!, ctx.now()))) {
    throw new MatrixError(ErrCode.NotFound, "Unknown user");
  }
  const success = await readTemplate(s, "success");
  return success === null ? null : bodyOf(success);
}
