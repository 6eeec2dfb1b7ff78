/**
 * @module Synapse's `email:` section and the third-party-identifier keys beside it (`registrations_require_3pid`,
 * `request_token_inhibit_3pid_errors`, `enable_3pid_changes`, `allowed_local_3pids`, `rc_3pid_validation`), with
 * Synapse's names and defaults (`synapse/config/emailconfig.py`, `registration.py`, `ratelimiting.py`). It and
 * validate.ts import each other, so neither may use the other's exports while it is being loaded, only when called.
 */
import { canonicalEmail } from "../shared/email.js";
import { MailTemplateError, parseMailTemplate, readTemplateFile, type MailTemplate } from "./mail-template.js";
import type { EmailConfig, MailTemplateName, ThreepidConfig } from "./schema.js";
import {
  describe,
  errorMessage,
  isPlainObject,
  readDuration,
  readRateLimit,
  type RawConfig,
  type Reader,
} from "./validate.js";

export const THREEPID_KEYS = [
  "email",
  "registrations_require_3pid",
  "request_token_inhibit_3pid_errors",
  "enable_3pid_changes",
  "allowed_local_3pids",
  "rc_3pid_validation",
];

const EMAIL_KEYS = [
  "smtp_host",
  "smtp_port",
  "smtp_user",
  "smtp_pass",
  "force_tls",
  "require_transport_security",
  "enable_tls",
  "tlsname",
  "notif_from",
  "app_name",
  "validation_token_lifetime",
  "client_base_url",
  "subjects",
  "template_dir",
  "send_attempts",
  // Synapse's notification mails, which Gatehouse does not send: accepted so a Synapse file loads, and warned about.
  "enable_notifs",
  "notif_for_new_users",
  "notif_delay_before_mail",
  "invite_client_location",
];

/** Synapse's subjects for the mails Gatehouse sends; `%(server_name)s` and `%(app)s` are filled in. */
const DEFAULT_SUBJECTS = {
  email_validation: "[%(server_name)s] Validate your email",
  password_reset: "[%(server_name)s] Password reset",
  /** Gatehouse's own: the invitation a registration token bound to an address is sent with. */
  registration_invite: "[%(server_name)s] You are invited to join %(app)s",
};

/** Synapse's subjects for notification mails: accepted (so a Synapse file loads), never used. */
const NOTIFICATION_SUBJECTS = [
  "message_from_person_in_room",
  "message_from_person",
  "messages_from_person",
  "messages_in_room",
  "messages_in_room_and_others",
  "messages_from_person_and_others",
  "invite_from_person",
  "invite_from_person_to_room",
  "invite_from_person_to_space",
  "email_already_in_use",
];

const HOUR_MS = 3_600_000;
/** Synapse's `rc_3pid_validation` default: a request every 333 s, bursts of 5. */
const DEFAULT_RC_3PID_VALIDATION = { per_second: 0.003, burst_count: 5 };

/** A mail header's text must be one line: CR or LF would let it start a header of its own. */
function oneLine(r: Reader, path: string, value: string): string {
  if (/[\r\n]/.test(value)) r.problem(path, "must not contain line breaks");
  return value;
}

/** `notif_from`: `Name <address>` or a bare address, after `%(app)s` is filled in. */
function readNotifFrom(r: Reader, value: string, appName: string): { name: string; address: string } | null {
  const filled = oneLine(r, "email.notif_from", value).replaceAll("%(app)s", appName);
  const m = /^\s*(?:"?([^"<>]*?)"?\s*<([^<>\s]+)>|([^<>\s]+))\s*$/.exec(filled);
  const address = m ? canonicalEmail(m[2] ?? m[3]!) : null;
  if (!m || address === null) {
    r.problem("email.notif_from", `must be an address or "Name <address>" (got ${JSON.stringify(value)})`);
    return null;
  }
  return { name: (m[1] ?? "").trim(), address };
}

function readEmail(r: Reader, raw: RawConfig, publicBaseurl: string | null): EmailConfig | null {
  const e = r.object(raw, "email", "email");
  if (e === null) return null;
  r.checkKeys(e, EMAIL_KEYS, "email");
  if (e.enable_notifs !== undefined && e.enable_notifs !== null && e.enable_notifs !== false) {
    r.warn("email.enable_notifs", "ignored: Gatehouse sends no notification mails");
  }
  const forceTls = r.bool(e, "force_tls", "email.force_tls", false);
  const enableTls = r.bool(e, "enable_tls", "email.enable_tls", true);
  const requireTransportSecurity = r.bool(e, "require_transport_security", "email.require_transport_security", false);
  if (requireTransportSecurity && !enableTls) {
    r.problem("email.require_transport_security", "requires email.enable_tls");
  }
  const appName = oneLine(r, "email.app_name", r.string(e, "app_name", "email.app_name", "Matrix") ?? "Matrix");
  const notifFromRaw = r.string(e, "notif_from", "email.notif_from", null);
  if (notifFromRaw === null) r.problem("email.notif_from", "is required when the email section is present");
  const notifFrom = notifFromRaw === null ? null : readNotifFrom(r, notifFromRaw, appName);
  if (publicBaseurl === null) {
    r.problem("public_baseurl", "is required when email is configured: the validation links are under it");
  }
  const lifetime = readDuration(r, e, "validation_token_lifetime", "email.validation_token_lifetime", HOUR_MS);
  if (lifetime !== null && lifetime < 60_000) r.problem("email.validation_token_lifetime", "must be at least 1m");
  const clientBaseUrl = r.string(e, "client_base_url", "email.client_base_url", null);
  if (clientBaseUrl !== null && !/^https?:\/\/[^/]/.test(clientBaseUrl)) {
    r.problem("email.client_base_url", "must be an http:// or https:// URL");
  }
  const subjects = { ...DEFAULT_SUBJECTS };
  const s = r.object(e, "subjects", "email.subjects") ?? {};
  r.checkKeys(s, [...Object.keys(DEFAULT_SUBJECTS), ...NOTIFICATION_SUBJECTS], "email.subjects");
  for (const key of Object.keys(DEFAULT_SUBJECTS) as (keyof typeof DEFAULT_SUBJECTS)[]) {
    const v = r.string(s, key, `email.subjects.${key}`, null);
    if (v !== null) subjects[key] = oneLine(r, `email.subjects.${key}`, v);
  }
  const smtpUser = r.string(e, "smtp_user", "email.smtp_user", null);
  const smtpPass = r.string(e, "smtp_pass", "email.smtp_pass", null);
  if ((smtpUser === null) !== (smtpPass === null)) {
    r.problem("email.smtp_pass", "smtp_user and smtp_pass must be set together");
  }
  return {
    smtp_host: r.string(e, "smtp_host", "email.smtp_host", "localhost") ?? "localhost",
    smtp_port: r.int(e, "smtp_port", "email.smtp_port", forceTls ? 465 : 25, [1, 65535]) ?? 25,
    smtp_user: smtpUser,
    smtp_pass: smtpPass,
    force_tls: forceTls,
    require_transport_security: requireTransportSecurity,
    enable_tls: enableTls,
    tlsname: r.string(e, "tlsname", "email.tlsname", null),
    notif_from: notifFrom ?? { name: "", address: "" },
    app_name: appName,
    validation_token_lifetime: lifetime ?? HOUR_MS,
    client_base_url: clientBaseUrl,
    subjects,
    send_attempts: r.int(e, "send_attempts", "email.send_attempts", 10, [1, 100]) ?? 10,
    templates: readTemplates(r, r.string(e, "template_dir", "email.template_dir", null)),
  };
}

const TEMPLATE_NAMES: MailTemplateName[] = ["registration", "add_threepid", "password_reset", "registration_invite"];

/**
 * Synapse's template files (`registration`, `add_threepid`, `password_reset`, each `.html` and `.txt`) and
 * Gatehouse's `registration_invite`, read and checked at start-up: a template this server cannot render exactly
 * stops it here, not at the first mail.
 */
function readTemplates(r: Reader, dir: string | null): EmailConfig["templates"] {
  const templates = {} as EmailConfig["templates"];
  let unreadable = false;
  for (const name of TEMPLATE_NAMES) {
    const one = (file: string): MailTemplate | null => {
      if (dir === null || unreadable) return null;
      let source: string | null;
      try {
        source = readTemplateFile(dir, file);
      } catch (err) {
        // One line for a directory that is not there, not one per file.
        unreadable = true;
        r.problem("email.template_dir", `${file}: ${errorMessage(err)}`);
        return null;
      }
      if (source === null) return null;
      try {
        return parseMailTemplate(file, source, (parent) => readTemplateFile(dir, parent));
      } catch (err) {
        if (err instanceof MailTemplateError) r.problem("email.template_dir", err.message);
        else throw err;
        return null;
      }
    };
    templates[name] = { html: one(`${name}.html`), text: one(`${name}.txt`) };
  }
  return templates;
}

function readAllowed3pids(r: Reader, raw: RawConfig): ThreepidConfig["allowed_local_3pids"] {
  const v = raw.allowed_local_3pids;
  if (v === undefined || v === null) return null;
  if (!Array.isArray(v)) {
    r.problem("allowed_local_3pids", `must be a list (got ${describe(v)})`);
    return null;
  }
  const out: { medium: string; pattern: string }[] = [];
  v.forEach((entry, i) => {
    const path = `allowed_local_3pids[${i}]`;
    if (!isPlainObject(entry) || typeof entry.medium !== "string" || typeof entry.pattern !== "string") {
      r.problem(path, "must be a mapping with medium and pattern strings");
      return;
    }
    try {
      new RegExp(entry.pattern);
      out.push({ medium: entry.medium, pattern: entry.pattern });
    } catch {
      r.problem(`${path}.pattern`, "is not a valid regular expression");
    }
  });
  return out;
}

export function readThreepidConfig(r: Reader, raw: RawConfig, publicBaseurl: string | null): ThreepidConfig {
  const email = readEmail(r, raw, publicBaseurl);
  const required: "email"[] = [];
  const req = raw.registrations_require_3pid;
  if (req !== undefined && req !== null) {
    if (!Array.isArray(req)) r.problem("registrations_require_3pid", `must be a list (got ${describe(req)})`);
    else
      for (const m of req) {
        if (m === "email") {
          if (email === null) r.problem("registrations_require_3pid", "email needs the email section");
          required.push("email");
        } else if (m === "msisdn") {
          r.problem("registrations_require_3pid", "msisdn is not supported: Gatehouse sends no text messages");
        } else r.problem("registrations_require_3pid", `unknown medium ${describe(m)}`);
      }
  }
  return {
    email,
    registrations_require_3pid: required,
    request_token_inhibit_3pid_errors: r.bool(
      raw,
      "request_token_inhibit_3pid_errors",
      "request_token_inhibit_3pid_errors",
      false,
    ),
    enable_3pid_changes: r.bool(raw, "enable_3pid_changes", "enable_3pid_changes", true),
    allowed_local_3pids: readAllowed3pids(r, raw),
    rc_3pid_validation: readRateLimit(r, raw, "rc_3pid_validation", "rc_3pid_validation", DEFAULT_RC_3PID_VALIDATION),
  };
}
