/**
 * @module Turns merged YAML into a `Config`, reporting every problem at once.
 *
 * Each problem names the file the key came from and the key's path, so an operator with several `-c` files knows
 * which one to edit. Unknown keys are warnings, not errors: a Synapse `homeserver.yaml` carries many keys Gatehouse
 * has no use for, and refusing to start over them would make migrating harder than it needs to be.
 */
import { dirname, join, resolve } from "node:path";
import type {
  Argon2Config,
  Config,
  DatabaseConfig,
  ListenerConfig,
  OldSigningKeyConfig,
  PasswordAlgorithm,
  PasswordConfig,
  PasswordPolicyConfig,
  RoomDirectoryRule,
  ServerNoticesConfig,
} from "./schema.js";
import { DEFAULT_ARGON2, DEFAULT_PASSWORD_POLICY } from "./schema.js";
import { isValidUserId } from "../matrix/ids.js";
import { CREATABLE_ROOM_VERSIONS, DEFAULT_ROOM_VERSION } from "../matrix/room-versions.js";
import { MEDIA_KEYS, readMediaConfig } from "./validate-media.js";
import { MODULE_KEYS, readModules } from "./ldap-config.js";
import { CAPTCHA_KEYS, readCaptchaConfig } from "./validate-captcha.js";
import { readSsoConfig, SSO_KEYS } from "./validate-sso.js";
import { THREEPID_KEYS, readThreepidConfig } from "./validate-email.js";
import { CONSENT_KEYS, readConsentConfig } from "./validate-consent.js";

export type RawConfig = Record<string, unknown>;

/** Which file set each top-level key (later files win, as Synapse merges them). */
export type KeyOrigins = Map<string, string>;

export interface ConfigProblem {
  file: string;
  key: string;
  message: string;
}

export class ConfigError extends Error {
  constructor(readonly problems: ConfigProblem[]) {
    super(problems.map(formatProblem).join("\n"));
    this.name = "ConfigError";
  }
}

export function formatProblem(p: ConfigProblem): string {
  return `${p.file}: ${p.key}: ${p.message}`;
}

const TOP_LEVEL_KEYS = new Set([
  "server_name",
  "public_baseurl",
  "listeners",
  "database",
  "enable_registration",
  "enable_registration_without_verification",
  "registration_requires_token",
  "registration_shared_secret",
  "registration_shared_secret_path",
  "bcrypt_rounds",
  "password_config",
  "allow_underscore_prefixed_localpart",
  "allow_underscore_prefixed_registration",
  "tls_certificate_path",
  "tls_private_key_path",
  "max_request_body_size",
  "log_level",
  "allow_guest_access",
  "inhibit_user_in_use_error",
  "session_lifetime",
  "refreshable_access_token_lifetime",
  "refresh_token_lifetime",
  "nonrefreshable_access_token_lifetime",
  "rc_registration",
  "rc_registration_token_validity",
  "rc_login",
  "rc_message",
  "rc_joins",
  "default_room_version",
  "login_via_existing_session",
  "registration_sessions",
  "web",
  "enable_metrics",
  "workers",
  "background_jobs",
  "signing_key",
  "signing_key_path",
  "old_signing_keys",
  "key_refresh_interval",
  "room_list_publication_rules",
  "alias_creation_rules",
  "allow_public_rooms_without_auth",
  "user_directory",
  "server_notices",
  "presence",
]);

const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "silent"];

/** A reader over one raw object that records problems instead of throwing, so all of them are reported. */
export class Reader {
  constructor(
    private readonly problems: ConfigProblem[],
    readonly warnings: ConfigProblem[],
    private readonly fileOf: (key: string) => string,
  ) {}

  problem(key: string, message: string): void {
    this.problems.push({ file: this.fileOf(key), key, message });
  }

  warn(key: string, message: string): void {
    this.warnings.push({ file: this.fileOf(key), key, message });
  }

  unknown(key: string): void {
    this.warning(key, "unknown key, ignored");
  }

  warning(key: string, message: string): void {
    this.warnings.push({ file: this.fileOf(key), key, message });
  }

  /** Warns about every key of `obj` not in `known`; `prefix` is the dotted path of `obj`. */
  checkKeys(obj: Record<string, unknown>, known: Iterable<string>, prefix: string): void {
    const allowed = new Set(known);
    for (const key of Object.keys(obj)) if (!allowed.has(key)) this.unknown(prefix ? `${prefix}.${key}` : key);
  }

  string(obj: Record<string, unknown>, key: string, path: string, fallback: string | null): string | null {
    const v = obj[key];
    if (v === undefined || v === null) return fallback;
    if (typeof v !== "string") {
      this.problem(path, `must be a string (got ${describe(v)})`);
      return fallback;
    }
    return v;
  }

  bool(obj: Record<string, unknown>, key: string, path: string, fallback: boolean): boolean {
    const v = obj[key];
    if (v === undefined || v === null) return fallback;
    if (typeof v !== "boolean") {
      this.problem(path, `must be true or false (got ${describe(v)})`);
      return fallback;
    }
    return v;
  }

  int(
    obj: Record<string, unknown>,
    key: string,
    path: string,
    fallback: number | null,
    range: [number, number],
  ): number | null {
    const v = obj[key];
    if (v === undefined || v === null) return fallback;
    if (typeof v !== "number" || !Number.isInteger(v)) {
      this.problem(path, `must be a whole number (got ${describe(v)})`);
      return fallback;
    }
    if (v < range[0] || v > range[1]) {
      this.problem(path, `must be between ${range[0]} and ${range[1]} (got ${v})`);
      return fallback;
    }
    return v;
  }

  object(obj: Record<string, unknown>, key: string, path: string): Record<string, unknown> | null {
    const v = obj[key];
    if (v === undefined || v === null) return null;
    if (!isPlainObject(v)) {
      this.problem(path, `must be a mapping (got ${describe(v)})`);
      return null;
    }
    return v;
  }
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "a mapping";
  return JSON.stringify(v);
}

/** Synapse's server_name rule, loosely: a hostname or IP literal with an optional port. */
const SERVER_NAME_RE = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$/;

export interface ValidateOptions {
  /** Reads `registration_shared_secret_path`; injected so tests and the CLI report read errors their own way. */
  readSecretFile: (path: string) => string;
  /** The files read, in merge order: named for a problem no key's origin explains (all of them were empty). */
  files?: string[];
}

export interface ValidatedConfig {
  config: Config;
  warnings: ConfigProblem[];
}

export function validateConfig(raw: RawConfig, origins: KeyOrigins, options: ValidateOptions): ValidatedConfig {
  const problems: ConfigProblem[] = [];
  const warnings: ConfigProblem[] = [];
  const fileOf = (key: string) =>
    // The top-level key is what ends at the first "." or "[" (listeners[0].port comes from the file that set listeners).
    origins.get(key.split(/[.[]/)[0]!) ?? origins.values().next().value ?? (options.files?.join(", ") || "<config>");
  const r = new Reader(problems, warnings, fileOf);

  // MEDIA_KEYS is read here, not where TOP_LEVEL_KEYS is built: the two modules import each other.
  r.checkKeys(
    raw,
    [...TOP_LEVEL_KEYS, ...MEDIA_KEYS, ...MODULE_KEYS, ...CAPTCHA_KEYS, ...SSO_KEYS, ...THREEPID_KEYS, ...CONSENT_KEYS],
    "",
  );

  const serverName = r.string(raw, "server_name", "server_name", null);
  if (serverName === null) {
    if (raw.server_name === undefined || raw.server_name === null) r.problem("server_name", "is required");
  } else if (!SERVER_NAME_RE.test(serverName)) {
    r.problem("server_name", `is not a valid server name: ${JSON.stringify(serverName)}`);
  }

  let publicBaseurl = r.string(raw, "public_baseurl", "public_baseurl", null);
  if (publicBaseurl !== null) {
    if (!/^https?:\/\/[^/]/.test(publicBaseurl)) {
      r.problem("public_baseurl", "must be an http:// or https:// URL");
    } else if (!publicBaseurl.endsWith("/")) {
      publicBaseurl += "/";
    }
  }

  const listeners = readListeners(r, raw);
  const database = readDatabase(r, raw);

  const enableRegistration = r.bool(raw, "enable_registration", "enable_registration", false);
  const withoutVerification = r.bool(
    raw,
    "enable_registration_without_verification",
    "enable_registration_without_verification",
    false,
  );
  const requiresToken = r.bool(raw, "registration_requires_token", "registration_requires_token", false);
  const captcha = readCaptchaConfig(r, raw, options.readSecretFile);
  const captchaOn = captcha.altcha.enabled || captcha.recaptcha.enabled;
  const threepid = readThreepidConfig(r, raw, publicBaseurl);
  const requiresEmail = threepid.registrations_require_3pid.includes("email");
  if (enableRegistration && !requiresToken && !withoutVerification && !captchaOn && !requiresEmail) {
    r.problem(
      "enable_registration",
      "open registration without any verification is a known vector for spam and abuse; set " +
        "registration_requires_token: true, turn on a CAPTCHA (altcha.enabled or enable_registration_captcha), " +
        "set registrations_require_3pid: [email], or set enable_registration_without_verification: true to allow it",
    );
  }

  const secret = readSharedSecret(r, raw, options, fileOf);

  const bcryptRounds = r.int(raw, "bcrypt_rounds", "bcrypt_rounds", 12, [4, 31]) ?? 12;
  const passwordConfig = readPasswordConfig(r, raw);

  const underscoreCode = r.bool(
    raw,
    "allow_underscore_prefixed_localpart",
    "allow_underscore_prefixed_localpart",
    false,
  );
  const underscoreDoc = r.bool(
    raw,
    "allow_underscore_prefixed_registration",
    "allow_underscore_prefixed_registration",
    false,
  );
  if (
    raw.allow_underscore_prefixed_localpart !== undefined &&
    raw.allow_underscore_prefixed_registration !== undefined &&
    underscoreCode !== underscoreDoc
  ) {
    r.problem(
      "allow_underscore_prefixed_registration",
      "contradicts allow_underscore_prefixed_localpart; set only allow_underscore_prefixed_localpart",
    );
  }

  const tlsCert = r.string(raw, "tls_certificate_path", "tls_certificate_path", null);
  const tlsKey = r.string(raw, "tls_private_key_path", "tls_private_key_path", null);
  if (listeners.some((l) => l.tls) && (tlsCert === null || tlsKey === null)) {
    r.problem(
      "listeners",
      "a listener has tls: true but tls_certificate_path and tls_private_key_path are not both set",
    );
  }

  const maxBody =
    r.int(raw, "max_request_body_size", "max_request_body_size", 1024 * 1024, [1024, 1024 * 1024 * 1024]) ??
    1024 * 1024;
  const logLevel = r.string(raw, "log_level", "log_level", "info") ?? "info";
  if (!LOG_LEVELS.includes(logLevel)) r.problem("log_level", `must be one of ${LOG_LEVELS.join(", ")}`);

  const allowGuests = r.bool(raw, "allow_guest_access", "allow_guest_access", false);
  const inhibitInUse = r.bool(raw, "inhibit_user_in_use_error", "inhibit_user_in_use_error", false);
  const sessions = readSessionLifetimes(r, raw);
  const rc = readRateLimits(r, raw);
  const defaultRoomVersion = r.string(raw, "default_room_version", "default_room_version", DEFAULT_ROOM_VERSION);
  if (defaultRoomVersion !== null && !CREATABLE_ROOM_VERSIONS.includes(defaultRoomVersion)) {
    r.problem("default_room_version", `must be one of ${CREATABLE_ROOM_VERSIONS.join(", ")}`);
  }
  const lves = r.object(raw, "login_via_existing_session", "login_via_existing_session") ?? {};
  r.checkKeys(lves, ["enabled", "require_ui_auth", "token_timeout"], "login_via_existing_session");
  const loginViaExistingSession = {
    enabled: r.bool(lves, "enabled", "login_via_existing_session.enabled", false),
    require_ui_auth: r.bool(lves, "require_ui_auth", "login_via_existing_session.require_ui_auth", true),
    token_timeout:
      readDuration(r, lves, "token_timeout", "login_via_existing_session.token_timeout", 5 * 60_000) ?? 5 * 60_000,
  };

  const rsRaw = r.object(raw, "registration_sessions", "registration_sessions") ?? {};
  r.checkKeys(rsRaw, ["per_ip", "total"], "registration_sessions");
  const registrationSessions = {
    per_ip: r.int(rsRaw, "per_ip", "registration_sessions.per_ip", 50, [1, 1_000_000]) ?? 50,
    total: r.int(rsRaw, "total", "registration_sessions.total", 10_000, [1, 100_000_000]) ?? 10_000,
  };

  const webRaw = r.object(raw, "web", "web") ?? {};
  r.checkKeys(webRaw, ["console", "signup"], "web");
  const web = {
    console: r.bool(webRaw, "console", "web.console", true),
    signup: r.bool(webRaw, "signup", "web.signup", true),
  };

  const enableMetrics = r.bool(raw, "enable_metrics", "enable_metrics", false);
  if (!enableMetrics && listeners.some((l) => l.type === "metrics")) {
    warnings.push({
      file: fileOf("listeners"),
      key: "listeners",
      message: "a listener has type: metrics but enable_metrics is not true; it is not opened",
    });
  }
  const workers = r.int(raw, "workers", "workers", 1, [1, 256]) ?? 1;
  const jobsRaw = r.object(raw, "background_jobs", "background_jobs") ?? {};
  r.checkKeys(jobsRaw, ["enabled"], "background_jobs");
  const backgroundJobs = { enabled: r.bool(jobsRaw, "enabled", "background_jobs.enabled", true) };
  const presenceRaw = r.object(raw, "presence", "presence") ?? {};
  r.checkKeys(presenceRaw, ["enabled"], "presence");
  const presence = { enabled: r.bool(presenceRaw, "enabled", "presence.enabled", true) };

  const signingKeyPath = readSigningKeyPath(r, raw, serverName, options.files ?? []);
  const oldSigningKeys = readOldSigningKeys(r, raw);
  const keyRefreshInterval = readDuration(r, raw, "key_refresh_interval", "key_refresh_interval", DAY_MS) ?? DAY_MS;
  if (keyRefreshInterval < 60_000) r.problem("key_refresh_interval", "must be at least 1m");
  const publicationRules = readDirectoryRules(r, raw, "room_list_publication_rules", []);
  // Absent: anyone may create aliases, Synapse's default; an empty list lets no one.
  const aliasRules = readDirectoryRules(r, raw, "alias_creation_rules", [
    { user_id: "*", alias: "*", room_id: "*", action: "allow" },
  ]);
  const publicRoomsWithoutAuth = r.bool(
    raw,
    "allow_public_rooms_without_auth",
    "allow_public_rooms_without_auth",
    false,
  );
  const udRaw = r.object(raw, "user_directory", "user_directory") ?? {};
  r.checkKeys(udRaw, ["enabled", "search_all_users"], "user_directory");
  const userDirectory = {
    enabled: r.bool(udRaw, "enabled", "user_directory.enabled", true),
    search_all_users: r.bool(udRaw, "search_all_users", "user_directory.search_all_users", false),
  };
  const serverNotices = readServerNotices(r, raw, serverName);
  const media = readMediaConfig(r, raw, database, options.files ?? []);
  const modules = readModules(r, raw, options.readSecretFile);
  const sso = readSsoConfig(r, raw, options);
  const consent = readConsentConfig(r, raw, serverNotices !== null, options.readSecretFile);

  if (problems.length > 0) throw new ConfigError(problems);

  const config: Config = {
    server_name: serverName!,
    public_baseurl: publicBaseurl,
    listeners,
    database: database!,
    enable_registration: enableRegistration,
    enable_registration_without_verification: withoutVerification,
    registration_requires_token: requiresToken,
    registration_shared_secret: secret.value,
    registration_shared_secret_source: secret.source,
    bcrypt_rounds: bcryptRounds,
    password_config: passwordConfig,
    allow_underscore_prefixed_localpart: underscoreCode || underscoreDoc,
    tls_certificate_path: tlsCert,
    tls_private_key_path: tlsKey,
    allow_guest_access: allowGuests,
    inhibit_user_in_use_error: inhibitInUse,
    ...sessions,
    ...rc,
    default_room_version: defaultRoomVersion ?? DEFAULT_ROOM_VERSION,
    login_via_existing_session: loginViaExistingSession,
    registration_sessions: registrationSessions,
    max_request_body_size: maxBody,
    log_level: logLevel,
    web,
    enable_metrics: enableMetrics,
    workers,
    background_jobs: backgroundJobs,
    presence,
    signing_key_path: signingKeyPath,
    old_signing_keys: oldSigningKeys,
    key_refresh_interval: keyRefreshInterval,
    room_list_publication_rules: publicationRules,
    alias_creation_rules: aliasRules,
    allow_public_rooms_without_auth: publicRoomsWithoutAuth,
    user_directory: userDirectory,
    server_notices: serverNotices,
    ...media,
    ldap: modules.ldap,
    ...captcha,
    ...sso,
    ...threepid,
    ...consent,
  };
  return { config: deepFreeze(config), warnings };
}

/** Synapse's `server_notices`: absent or null turns notices off; present, `system_mxid_localpart` is required. */
function readServerNotices(r: Reader, raw: RawConfig, serverName: string | null): ServerNoticesConfig | null {
  const sn = r.object(raw, "server_notices", "server_notices");
  if (sn === null) return null;
  const known = [
    "system_mxid_localpart",
    "system_mxid_display_name",
    "system_mxid_avatar_url",
    "room_name",
    "room_avatar_url",
    "room_topic",
    "auto_join",
  ];
  r.checkKeys(sn, known, "server_notices");
  const text = (key: string, fallback: string | null = null) => r.string(sn, key, `server_notices.${key}`, fallback);
  const localpart = text("system_mxid_localpart");
  if (localpart === null) r.problem("server_notices.system_mxid_localpart", "is required when server_notices is set");
  else if (serverName !== null && !isValidUserId(`@${localpart}:${serverName}`)) {
    r.problem("server_notices.system_mxid_localpart", `@${localpart}:${serverName} is not a valid user ID`);
  }
  return {
    system_mxid_localpart: localpart ?? "",
    system_mxid_display_name: text("system_mxid_display_name"),
    system_mxid_avatar_url: text("system_mxid_avatar_url"),
    room_name: text("room_name", "Server Notices"),
    room_avatar_url: text("room_avatar_url"),
    room_topic: text("room_topic"),
    auto_join: r.bool(sn, "auto_join", "server_notices.auto_join", false),
  };
}

/**
 * Synapse's room directory rules: a list of `{user_id?, alias?, room_id?, action}`, globs defaulting to `*`.
 * Absent means `absent`: for `room_list_publication_rules` the empty list, since Synapse 1.126 made "no one may
 * publish" the default (its PR 18175); for `alias_creation_rules` one rule allowing everything.
 */
function readDirectoryRules(r: Reader, raw: RawConfig, key: string, absent: RoomDirectoryRule[]): RoomDirectoryRule[] {
  const v = raw[key];
  if (v === undefined || v === null) return absent;
  if (!Array.isArray(v)) {
    r.problem(key, `must be a list (got ${describe(v)})`);
    return [];
  }
  const rules: RoomDirectoryRule[] = [];
  v.forEach((entry: unknown, i) => {
    const path = `${key}[${i}]`;
    if (!isPlainObject(entry)) {
      r.problem(path, `must be a mapping (got ${describe(entry)})`);
      return;
    }
    r.checkKeys(entry, ["user_id", "alias", "room_id", "action"], path);
    const action = entry.action;
    if (action !== "allow" && action !== "deny") {
      r.problem(`${path}.action`, "rules can only have action of 'allow' or 'deny'");
      return;
    }
    rules.push({
      user_id: r.string(entry, "user_id", `${path}.user_id`, "*") ?? "*",
      alias: r.string(entry, "alias", `${path}.alias`, "*") ?? "*",
      room_id: r.string(entry, "room_id", `${path}.room_id`, "*") ?? "*",
      action,
    });
  });
  return rules;
}

const LISTENER_KEYS = ["port", "bind_addresses", "type", "tls", "x_forwarded", "resources", "path", "mode"];

function readListeners(r: Reader, raw: RawConfig): ListenerConfig[] {
  const v = raw.listeners;
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) {
    r.problem("listeners", `must be a list (got ${describe(v)})`);
    return [];
  }
  const out: ListenerConfig[] = [];
  v.forEach((item, i) => {
    const p = `listeners[${i}]`;
    if (!isPlainObject(item)) {
      r.problem(p, `must be a mapping (got ${describe(item)})`);
      return;
    }
    r.checkKeys(item, LISTENER_KEYS, p);
    const type = r.string(item, "type", `${p}.type`, "http") ?? "http";
    const port = r.int(item, "port", `${p}.port`, null, [0, 65535]);
    const path = r.string(item, "path", `${p}.path`, null);
    if (port === null && path === null && item.port === undefined && item.path === undefined) {
      r.problem(p, "needs either port (TCP) or path (UNIX socket)");
    }
    if (item.port !== undefined && item.path !== undefined) r.problem(p, "has both port and path; choose one");
    let mode: number | null = null;
    if (item.mode !== undefined && item.mode !== null) {
      // YAML reads 0666 as the decimal 666 and "0o666"/"666" as strings; accept each as the octal an operator meant.
      const m = typeof item.mode === "number" ? String(item.mode) : item.mode;
      if (typeof m === "string" && /^(0o)?[0-7]{3,4}$/.test(m)) mode = parseInt(m.replace(/^0o/, ""), 8);
      else r.problem(`${p}.mode`, `must be a file mode such as 0666 (got ${describe(item.mode)})`);
    }
    let bind: string[] = ["::", "0.0.0.0"];
    if (item.bind_addresses !== undefined && item.bind_addresses !== null) {
      if (Array.isArray(item.bind_addresses) && item.bind_addresses.every((a) => typeof a === "string")) {
        bind = item.bind_addresses;
      } else {
        r.problem(`${p}.bind_addresses`, "must be a list of addresses");
      }
    }
    const resources: ListenerConfig["resources"] = [];
    if (item.resources !== undefined && item.resources !== null) {
      if (!Array.isArray(item.resources)) {
        r.problem(`${p}.resources`, "must be a list");
      } else {
        item.resources.forEach((res, j) => {
          const rp = `${p}.resources[${j}]`;
          if (!isPlainObject(res)) {
            r.problem(rp, "must be a mapping");
            return;
          }
          r.checkKeys(res, ["names", "compress"], rp);
          const names = res.names;
          if (!Array.isArray(names) || !names.every((n) => typeof n === "string")) {
            r.problem(`${rp}.names`, "must be a list of resource names (client, federation, ...)");
            return;
          }
          resources.push({ names: names, compress: r.bool(res, "compress", `${rp}.compress`, false) });
        });
      }
    }
    out.push({
      type,
      port,
      bind_addresses: bind,
      path,
      mode,
      tls: r.bool(item, "tls", `${p}.tls`, false),
      x_forwarded: r.bool(item, "x_forwarded", `${p}.x_forwarded`, false),
      resources,
    });
  });
  return out;
}

function readDatabase(r: Reader, raw: RawConfig): DatabaseConfig | null {
  const db = r.object(raw, "database", "database");
  if (db === null) {
    if (raw.database === undefined || raw.database === null) r.problem("database", "is required");
    return null;
  }
  r.checkKeys(db, ["name", "args", "allow_unsafe_locale", "txn_limit"], "database");
  const name = r.string(db, "name", "database.name", null);
  const args = r.object(db, "args", "database.args") ?? {};
  if (name === "sqlite3") {
    r.checkKeys(args, ["database", "cp_min", "cp_max"], "database.args");
    const file = r.string(args, "database", "database.args.database", null);
    if (file === null) {
      r.problem("database.args.database", "is required for sqlite3 (the database file path)");
      return null;
    }
    return { name: "sqlite3", args: { database: file } };
  }
  if (name === "psycopg2") {
    r.checkKeys(
      args,
      [
        "user",
        "password",
        "database",
        "dbname",
        "host",
        "port",
        "cp_min",
        "cp_max",
        "connect_timeout",
        "statement_timeout",
        "keepalives_idle",
        "keepalives_interval",
        "keepalives_count",
        "sslmode",
      ],
      "database.args",
    );
    const database = r.string(args, "database", "database.args.database", null);
    const dbname = r.string(args, "dbname", "database.args.dbname", null);
    if (database !== null && dbname !== null && database !== dbname) {
      r.problem("database.args.dbname", "contradicts database.args.database; set one of them");
    }
    const cpMin = r.int(args, "cp_min", "database.args.cp_min", 5, [0, 1000]) ?? 5;
    const cpMax = r.int(args, "cp_max", "database.args.cp_max", 10, [1, 1000]) ?? 10;
    if (cpMin > cpMax) r.problem("database.args.cp_min", `must not exceed cp_max (${cpMax})`);
    const connectTimeout = r.int(args, "connect_timeout", "database.args.connect_timeout", 5, [1, 3600]) ?? 5;
    const statementTimeout =
      r.int(args, "statement_timeout", "database.args.statement_timeout", 30_000, [100, 86_400_000]) ?? 30_000;
    return {
      name: "psycopg2",
      args: {
        user: r.string(args, "user", "database.args.user", null),
        password: r.string(args, "password", "database.args.password", null),
        database: database ?? dbname ?? "synapse",
        host: r.string(args, "host", "database.args.host", null),
        port: r.int(args, "port", "database.args.port", null, [1, 65535]),
        cp_min: cpMin,
        cp_max: cpMax,
        connect_timeout: connectTimeout,
        statement_timeout: statementTimeout,
      },
    };
  }
  if (name === null) r.problem("database.name", "is required: sqlite3 or psycopg2");
  else r.problem("database.name", `must be sqlite3 or psycopg2 (got ${JSON.stringify(name)})`);
  return null;
}

function readSharedSecret(
  r: Reader,
  raw: RawConfig,
  options: ValidateOptions,
  fileOf: (key: string) => string,
): { value: string | null; source: Config["registration_shared_secret_source"] } {
  const inline = r.string(raw, "registration_shared_secret", "registration_shared_secret", null);
  const path = r.string(raw, "registration_shared_secret_path", "registration_shared_secret_path", null);
  if (inline && path) {
    r.problem(
      "registration_shared_secret_path",
      "registration_shared_secret and registration_shared_secret_path are both set; they are mutually exclusive",
    );
    return { value: null, source: { kind: "none" } };
  }
  if (inline) return { value: inline, source: { kind: "inline", file: fileOf("registration_shared_secret") } };
  if (path) {
    let content: string;
    try {
      content = options.readSecretFile(path);
    } catch (err) {
      r.problem("registration_shared_secret_path", `cannot read ${path}: ${errorMessage(err)}`);
      return { value: null, source: { kind: "none" } };
    }
    const value = content.trim();
    if (value === "") {
      r.problem("registration_shared_secret_path", `the secret file ${path} is empty`);
      return { value: null, source: { kind: "none" } };
    }
    return { value, source: { kind: "path", path } };
  }
  return { value: null, source: { kind: "none" } };
}

const DAY_MS = 86_400_000;

/**
 * `signing_key_path`, absolute; unset, Synapse's default: `<server_name>.signing.key` in the directory of the last
 * config file (Synapse's `config_dir_path`), so a Synapse installation's key is found where Synapse left it.
 */
function readSigningKeyPath(r: Reader, raw: RawConfig, serverName: string | null, files: string[]): string | null {
  if (raw.signing_key !== undefined) {
    r.problem(
      "signing_key",
      "an inline signing key is not supported; put the key line in a file of its own (chmod 600) and point " +
        "signing_key_path at it",
    );
  }
  const given = r.string(raw, "signing_key_path", "signing_key_path", null);
  if (given !== null) {
    if (given.trim() === "") r.problem("signing_key_path", "must not be empty");
    return resolve(given);
  }
  const last = files.at(-1);
  if (last === undefined || serverName === null) return null;
  return join(dirname(resolve(last)), `${serverName}.signing.key`);
}

/** Synapse's `old_signing_keys`: `{"ed25519:<version>": {key: <unpadded base64>, expired_ts: <ms>}}`. */
function readOldSigningKeys(r: Reader, raw: RawConfig): Record<string, OldSigningKeyConfig> {
  const obj = r.object(raw, "old_signing_keys", "old_signing_keys");
  const out: Record<string, OldSigningKeyConfig> = {};
  if (obj === null) return out;
  for (const [keyId, value] of Object.entries(obj)) {
    const p = `old_signing_keys.${keyId}`;
    if (!/^ed25519:[A-Za-z0-9_]+$/.test(keyId)) {
      r.problem(p, "must be an ed25519 key ID, ed25519:<version> (Synapse: unsupported signing algorithm)");
      continue;
    }
    if (!isPlainObject(value)) {
      r.problem(p, `must be a mapping with key and expired_ts (got ${describe(value)})`);
      continue;
    }
    r.checkKeys(value, ["key", "expired_ts"], p);
    const key = r.string(value, "key", `${p}.key`, null);
    const expired = r.int(value, "expired_ts", `${p}.expired_ts`, null, [0, Number.MAX_SAFE_INTEGER]);
    if (key === null || !/^[A-Za-z0-9+/]{43}=?$/.test(key) || Buffer.from(key, "base64").length !== 32) {
      if (key !== null || value.key === undefined || value.key === null) {
        r.problem(`${p}.key`, "must be the Base64 of a 32-byte ed25519 public key");
      }
      continue;
    }
    if (expired === null) {
      if (value.expired_ts === undefined || value.expired_ts === null)
        r.problem(`${p}.expired_ts`, "is required: when the key stopped being used, in milliseconds since the epoch");
      continue;
    }
    out[keyId] = { key: key.replace(/=$/, ""), expired_ts: expired };
  }
  return out;
}

const DURATION_UNITS: Record<string, number> = {
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
  y: 31_536_000_000,
};

/** Synapse's durations: a number of milliseconds, or a string such as "5m", "24h", "7d". */
export function readDuration(
  r: Reader,
  obj: Record<string, unknown>,
  key: string,
  path: string,
  fallback: number | null,
): number | null {
  const v = obj[key];
  if (v === undefined) return fallback;
  if (v === null) return null;
  if (typeof v === "number" && Number.isInteger(v) && v >= 0) return v;
  if (typeof v === "string") {
    const m = /^(\d+)([smhdwy]?)$/.exec(v.trim());
    if (m) return Number(m[1]) * (m[2] ? DURATION_UNITS[m[2]]! : 1);
  }
  r.problem(path, `must be a duration such as 5m, 24h or 7d, or a number of milliseconds (got ${describe(v)})`);
  return fallback;
}

function readSessionLifetimes(r: Reader, raw: RawConfig) {
  const session = readDuration(r, raw, "session_lifetime", "session_lifetime", null);
  const lifetimes = {
    session_lifetime: session,
    refreshable_access_token_lifetime: readDuration(
      r,
      raw,
      "refreshable_access_token_lifetime",
      "refreshable_access_token_lifetime",
      5 * 60_000,
    ),
    refresh_token_lifetime: readDuration(r, raw, "refresh_token_lifetime", "refresh_token_lifetime", null),
    nonrefreshable_access_token_lifetime: readDuration(
      r,
      raw,
      "nonrefreshable_access_token_lifetime",
      "nonrefreshable_access_token_lifetime",
      null,
    ),
  };
  if (session !== null) {
    // Synapse's start-up check: no token may be set to outlive the session it belongs to.
    for (const key of ["refresh_token_lifetime", "nonrefreshable_access_token_lifetime"] as const) {
      const v = lifetimes[key];
      if (raw[key] !== undefined && v !== null && v > session) {
        r.problem(key, `must not be longer than session_lifetime`);
      }
    }
  }
  return lifetimes;
}

export function readRateLimit(
  r: Reader,
  obj: Record<string, unknown>,
  key: string,
  path: string,
  fallback: { per_second: number; burst_count: number },
): { per_second: number; burst_count: number } {
  const o = r.object(obj, key, path);
  if (o === null) return fallback;
  r.checkKeys(o, ["per_second", "burst_count"], path);
  const num = (k: "per_second" | "burst_count") => {
    const v = o[k];
    if (v === undefined || v === null) return fallback[k];
    if (typeof v !== "number" || !(v >= 0)) {
      r.problem(`${path}.${k}`, `must be a number of 0 or more (got ${describe(v)})`);
      return fallback[k];
    }
    return v;
  };
  return { per_second: num("per_second"), burst_count: num("burst_count") };
}

function readRateLimits(r: Reader, raw: RawConfig) {
  const login = r.object(raw, "rc_login", "rc_login") ?? {};
  r.checkKeys(login, ["address", "account", "failed_attempts"], "rc_login");
  return {
    rc_registration: readRateLimit(r, raw, "rc_registration", "rc_registration", { per_second: 0.17, burst_count: 3 }),
    rc_registration_token_validity: readRateLimit(
      r,
      raw,
      "rc_registration_token_validity",
      "rc_registration_token_validity",
      { per_second: 0.1, burst_count: 5 },
    ),
    rc_login: {
      address: readRateLimit(r, login, "address", "rc_login.address", { per_second: 0.003, burst_count: 5 }),
      account: readRateLimit(r, login, "account", "rc_login.account", { per_second: 0.003, burst_count: 5 }),
      failed_attempts: readRateLimit(r, login, "failed_attempts", "rc_login.failed_attempts", {
        per_second: 0.17,
        burst_count: 3,
      }),
    },
    rc_message: readRateLimit(r, raw, "rc_message", "rc_message", { per_second: 0.2, burst_count: 10 }),
    rc_joins: readJoinLimits(r, raw),
  };
}

/** Synapse's `rc_joins`: `local` limits joins to this server's rooms; `remote` is read (federation has none yet). */
function readJoinLimits(r: Reader, raw: RawConfig) {
  const joins = r.object(raw, "rc_joins", "rc_joins") ?? {};
  r.checkKeys(joins, ["local", "remote"], "rc_joins");
  return {
    local: readRateLimit(r, joins, "local", "rc_joins.local", { per_second: 0.1, burst_count: 10 }),
    remote: readRateLimit(r, joins, "remote", "rc_joins.remote", { per_second: 0.01, burst_count: 10 }),
  };
}

function readPasswordConfig(r: Reader, raw: RawConfig): PasswordConfig {
  const pc = r.object(raw, "password_config", "password_config") ?? {};
  r.checkKeys(
    pc,
    ["enabled", "localdb_enabled", "pepper", "policy", "algorithm", "argon2", "hashing_threads", "hashing_queue_limit"],
    "password_config",
  );
  // Synapse's "only_for_reauth" keeps passwords for re-authentication; Gatehouse has no other login to prefer.
  const enabled = pc.enabled === "only_for_reauth" ? true : r.bool(pc, "enabled", "password_config.enabled", true);
  const algorithm = r.string(pc, "algorithm", "password_config.algorithm", "argon2id") ?? "argon2id";
  if (algorithm !== "argon2id" && algorithm !== "bcrypt") {
    r.problem("password_config.algorithm", `must be argon2id or bcrypt (got ${JSON.stringify(algorithm)})`);
  }
  const a2 = r.object(pc, "argon2", "password_config.argon2") ?? {};
  r.checkKeys(a2, Object.keys(DEFAULT_ARGON2), "password_config.argon2");
  const argon2Int = (key: keyof Argon2Config, range: [number, number]) =>
    r.int(a2, key, `password_config.argon2.${key}`, DEFAULT_ARGON2[key], range) ?? DEFAULT_ARGON2[key];
  const argon2: Argon2Config = {
    memory_cost: argon2Int("memory_cost", [8, 4_194_304]),
    time_cost: argon2Int("time_cost", [1, 100]),
    parallelism: argon2Int("parallelism", [1, 16]),
  };
  // argon2 needs 8 KiB per lane.
  if (argon2.memory_cost < 8 * argon2.parallelism) {
    r.problem(
      "password_config.argon2.memory_cost",
      `must be at least 8 KiB per lane (${8 * argon2.parallelism} for parallelism ${argon2.parallelism})`,
    );
  }
  const pol = r.object(pc, "policy", "password_config.policy") ?? {};
  const keys = Object.keys(DEFAULT_PASSWORD_POLICY);
  r.checkKeys(pol, keys, "password_config.policy");
  const policy: PasswordPolicyConfig = {
    enabled: r.bool(pol, "enabled", "password_config.policy.enabled", false),
    minimum_length: r.int(pol, "minimum_length", "password_config.policy.minimum_length", 0, [0, 512]) ?? 0,
    require_digit: r.bool(pol, "require_digit", "password_config.policy.require_digit", false),
    require_symbol: r.bool(pol, "require_symbol", "password_config.policy.require_symbol", false),
    require_lowercase: r.bool(pol, "require_lowercase", "password_config.policy.require_lowercase", false),
    require_uppercase: r.bool(pol, "require_uppercase", "password_config.policy.require_uppercase", false),
  };
  return {
    enabled,
    localdb_enabled: r.bool(pc, "localdb_enabled", "password_config.localdb_enabled", true),
    pepper: r.string(pc, "pepper", "password_config.pepper", "") ?? "",
    policy,
    algorithm: algorithm as PasswordAlgorithm,
    argon2,
    hashing_threads: r.int(pc, "hashing_threads", "password_config.hashing_threads", null, [1, 256]),
    hashing_queue_limit:
      r.int(pc, "hashing_queue_limit", "password_config.hashing_queue_limit", 64, [1, 1_000_000]) ?? 64,
  };
}

export function errorMessage(err: unknown): string {
  if (err && typeof err === "object" && "code" in err && "message" in err) {
    const e = err as { code: string; message: string };
    if (e.code === "ENOENT") return "no such file";
    if (e.code === "EACCES") return "permission denied";
    if (e.code === "EISDIR") return "is a directory";
    return e.message;
  }
  return err instanceof Error ? err.message : String(err);
}

function deepFreeze<T>(obj: T): T {
  if (obj && typeof obj === "object") {
    for (const v of Object.values(obj)) deepFreeze(v);
    Object.freeze(obj);
  }
  return obj;
}
