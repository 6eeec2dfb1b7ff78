/**
 * @module The validated, defaulted shape of a Gatehouse configuration.
 *
 * Key names are Synapse's (`homeserver.yaml`), so an operator's existing file works; Gatehouse's own additions are
 * marked as such. Everything here is produced by `validateConfig` and frozen; nothing else builds a `Config`.
 */
import type { LdapConfig } from "./ldap-config.js";
import type { MailTemplate } from "./mail-template.js";

import type { CompiledTemplate } from "./sso-template.js";

export type PasswordAlgorithm = "argon2id" | "bcrypt";

export interface ListenerResource {
  names: string[];
  compress: boolean;
}

/** A TCP listener has `port`; a UNIX-socket listener has `path` (and an optional file `mode`). */
export interface ListenerConfig {
  type: string;
  port: number | null;
  bind_addresses: string[];
  path: string | null;
  mode: number | null;
  tls: boolean;
  x_forwarded: boolean;
  resources: ListenerResource[];
}

export interface SqliteDatabaseConfig {
  name: "sqlite3";
  args: { database: string };
}

export interface PostgresDatabaseConfig {
  name: "psycopg2";
  args: {
    user: string | null;
    password: string | null;
    database: string;
    host: string | null;
    port: number | null;
    cp_min: number;
    cp_max: number;
    /** Seconds to wait for a connection (a new one, or a free one from a full pool) before giving up. */
    connect_timeout: number;
    /** Milliseconds a statement may run before PostgreSQL cancels it. */
    statement_timeout: number;
  };
}

export type DatabaseConfig = SqliteDatabaseConfig | PostgresDatabaseConfig;

export interface PasswordPolicyConfig {
  enabled: boolean;
  minimum_length: number;
  require_digit: boolean;
  require_symbol: boolean;
  require_lowercase: boolean;
  require_uppercase: boolean;
}

/** argon2id's parameters: memory in KiB, passes, lanes. */
export interface Argon2Config {
  memory_cost: number;
  time_cost: number;
  parallelism: number;
}

/** OWASP's argon2id setting: 19 MiB, 2 passes, 1 lane. */
export const DEFAULT_ARGON2: Argon2Config = { memory_cost: 19456, time_cost: 2, parallelism: 1 };

export interface PasswordConfig {
  enabled: boolean;
  localdb_enabled: boolean;
  pepper: string;
  policy: PasswordPolicyConfig;
  /** Gatehouse's own key: the algorithm for new hashes. Both are always verified. */
  algorithm: PasswordAlgorithm;
  /** Gatehouse's own key: argon2id's cost for new hashes (OWASP's setting unless set). */
  argon2: Argon2Config;
  /** Gatehouse's own key: hashing threads per process; null shares the cores among the `--workers` processes. */
  hashing_threads: number | null;
  /**
   * Gatehouse's own key: the most password hashes a client request may find waiting for a thread; past it the
   * request is refused with 429 rather than queued without end.
   */
  hashing_queue_limit: number;
}

/** Where the shared secret came from, so start-up can check the right file's permissions. */
export type SharedSecretSource = { kind: "none" } | { kind: "inline"; file: string } | { kind: "path"; path: string };

/** Synapse's leaky-bucket settings (`rc_*`). */
export interface RateLimitConfig {
  per_second: number;
  burst_count: number;
}

export interface RcLoginConfig {
  address: RateLimitConfig;
  account: RateLimitConfig;
  failed_attempts: RateLimitConfig;
}

export interface LoginViaExistingSessionConfig {
  enabled: boolean;
  require_ui_auth: boolean;
  /** Milliseconds a login token lives. */
  token_timeout: number;
}

/** Gatehouse's own: bounds on the UIA sessions `POST /register` opens for callers nobody has authenticated. */
export interface RegistrationSessionsConfig {
  /** Open (unexpired) sessions one client address may hold. */
  per_ip: number;
  /** Open sessions of all addresses together. */
  total: number;
}

/** Gatehouse's own `web` section: the pages it serves from its built web bundle, on `client` listeners. */
export interface WebConfig {
  /** The operators' console at `/_gatehouse/admin/`. */
  console: boolean;
  /** The sign-up page for invite links at `/_gatehouse/register/`. */
  signup: boolean;
}

/** Gatehouse's own `background_jobs` section: the periodic purges (src/jobs/). */
export interface BackgroundJobsConfig {
  /** False: this process runs none (another process on the same database must). */
  enabled: boolean;
}

/** Synapse's `presence` section: `enabled: false` turns presence off. */
export interface PresenceConfig {
  enabled: boolean;
}

/** Synapse's `old_signing_keys` entry: a public key this server no longer signs with, and when it stopped. */
export interface OldSigningKeyConfig {
  /** Unpadded Base64 of the 32-byte ed25519 public key. */
  key: string;
  /** Milliseconds since the epoch. */
  expired_ts: number;
}

/**
 * One entry of Synapse's `room_list_publication_rules` or `alias_creation_rules`: globs (`*`, `?`; anchored, case-insensitive) on the
 * publishing user, the room and its aliases, and what a match decides. The first matching rule wins.
 */
export interface RoomDirectoryRule {
  user_id: string;
  alias: string;
  room_id: string;
  action: "allow" | "deny";
}

/** Synapse's `user_directory` section (the keys Gatehouse reads). */
export interface UserDirectoryConfig {
  /** False: `/user_directory/search` answers no one. */
  enabled: boolean;
  /** True: every local user is found, not only those sharing a room with the searcher or in a public room. */
  search_all_users: boolean;
}

/**
 * Synapse's `server_notices` section: who sends server notices and what their room looks like. The whole section
 * absent (null in `Config`) turns server notices off.
 */
export interface ServerNoticesConfig {
  /** The sender is `@<localpart>:<server_name>`, an account made on first use that cannot log in. */
  system_mxid_localpart: string;
  system_mxid_display_name: string | null;
  system_mxid_avatar_url: string | null;
  /** Synapse's default: "Server Notices". */
  room_name: string | null;
  room_avatar_url: string | null;
  room_topic: string | null;
  /** Join the user to the room instead of inviting them (Synapse's default: false, the spec's SHOULD). */
  auto_join: boolean;
}

/** Synapse's `media_upload_limits` entry: at most `max_bytes` uploaded by one user in any `time_period_ms`. */
export interface MediaUploadLimit {
  time_period_ms: number;
  max_bytes: number;
}

/** Synapse's `thumbnail_sizes` entry: a thumbnail made for every image uploaded (and served for any close request). */
export interface ThumbnailSize {
  width: number;
  height: number;
  method: "crop" | "scale";
}

/** The media repository's keys (Synapse's, top level in `homeserver.yaml`); sizes in bytes, durations in ms. */
export interface MediaConfig {
  /**
   * Where media files are stored. Unset, `media_store` beside the SQLite database or the last config file; null
   * only for a config read from no file with PostgreSQL, whose server uses a directory made for the process.
   */
  media_store_path: string | null;
  /** The largest upload (Synapse's default 50M). */
  max_upload_size: number;
  /** True (Synapse's default since 1.120): media uploaded now is not served by the legacy unauthenticated paths. */
  enable_authenticated_media: boolean;
  /** Async uploads (`/media/v1/create`) one user may have waiting at once. */
  max_pending_media_uploads: number;
  /** How long an async upload's media ID waits for its content. */
  unused_expiration_time: number;
  /** Per-user upload quotas, longest period first. */
  media_upload_limits: MediaUploadLimit[];
  rc_media_create: RateLimitConfig;
  /** Thumbnails made on request at the asked size (true), or only the `thumbnail_sizes` (false, Synapse's default). */
  dynamic_thumbnails: boolean;
  thumbnail_sizes: ThumbnailSize[];
  /** Images with more pixels are not thumbnailed (a decompression bomb's defence). */
  max_image_pixels: number;
  url_preview_enabled: boolean;
  /** CIDR ranges a URL preview may never fetch; required when previews are on. */
  url_preview_ip_range_blacklist: string[];
  url_preview_ip_range_whitelist: string[];
  /** URL component → glob (or `^regex`) mappings; a URL matching every entry of one mapping is not previewed. */
  url_preview_url_blacklist: Record<string, string>[];
  url_preview_accept_language: string[];
  /** The most a URL preview downloads. */
  max_spider_size: number;
}

export type AltchaAlgorithm = "PBKDF2/SHA-256" | "PBKDF2/SHA-384" | "PBKDF2/SHA-512";

/** Gatehouse's self-hosted proof-of-work CAPTCHA (`altcha:`); durations in ms. */
export interface AltchaConfig {
  enabled: boolean;
  algorithm: AltchaAlgorithm;
  /** PBKDF2 iterations per attempt: the server pays this once per verification, the browser 16^difficulty times. */
  cost: number;
  /** Hex digits of zeros the derived key must start with: 16^difficulty attempts on average. */
  difficulty: number;
  challenge_lifetime: number;
  /** Also offer `[m.login.registration_token, m.login.dummy]`, for clients that drop flows with unknown stages. */
  token_flow: boolean;
  /** The challenge endpoint's per-address limit. */
  rc_challenge: RateLimitConfig;
}

/** Synapse's reCAPTCHA keys (also hCaptcha and Turnstile, which answer the same siteverify request). */
export interface RecaptchaConfig {
  /** `enable_registration_captcha` */
  enabled: boolean;
  public_key: string | null;
  private_key: string | null;
  siteverify_api: string;
  /** How long to wait for the verifier before refusing the stage. */
  timeout: number;
}

export interface CaptchaConfig {
  altcha: AltchaConfig;
  recaptcha: RecaptchaConfig;
}

/** Synapse's `email:` section (the keys Gatehouse reads); durations in ms. */
export interface EmailConfig {
  smtp_host: string;
  smtp_port: number;
  smtp_user: string | null;
  smtp_pass: string | null;
  /** TLS from the first byte (port 465); otherwise STARTTLS when offered and `enable_tls`. */
  force_tls: boolean;
  /** STARTTLS required: a server that does not offer it is not sent to. */
  require_transport_security: boolean;
  enable_tls: boolean;
  /** The name the server's certificate is checked against; null: `smtp_host`. */
  tlsname: string | null;
  /** `notif_from` read, `%(app)s` filled in: the display name (maybe empty) and the canonical address. */
  notif_from: { name: string; address: string };
  app_name: string;
  /** How long a validation link works. */
  validation_token_lifetime: number;
  client_base_url: string | null;
  subjects: { email_validation: string; password_reset: string; registration_invite: string };
  /** Gatehouse's own: how many times a mail is tried before it is logged and dropped. */
  send_attempts: number;
  /** The operator's templates read from `template_dir` at start-up; a file not there is null (Gatehouse's text). */
  templates: Record<MailTemplateName, { html: MailTemplate | null; text: MailTemplate | null }>;
}

/** The mails `template_dir` may replace: Synapse's file names, and Gatehouse's own invitation. */
export type MailTemplateName = "registration" | "add_threepid" | "password_reset" | "registration_invite";

/** The third-party-identifier keys (Synapse's, top level): e-mail addresses on accounts and how they are proven. */
export interface ThreepidConfig {
  /** Null: no `email:` section, so no address can be validated. */
  email: EmailConfig | null;
  registrations_require_3pid: "email"[];
  request_token_inhibit_3pid_errors: boolean;
  enable_3pid_changes: boolean;
  /** Null: every address allowed. Patterns are Python `re.match` patterns (anchored at the start). */
  allowed_local_3pids: { medium: string; pattern: string }[] | null;
  rc_3pid_validation: RateLimitConfig;
}

/**
 * Synapse's `user_consent:` section: the terms users accept. Gatehouse has no Jinja: the policy is the operator's
 * HTML file `<template_dir>/en/<version>.html`, served as it is inside Gatehouse's consent page.
 */
export interface UserConsentConfig {
  version: string;
  /** Absolute. */
  template_dir: string;
  policy_name: string;
  require_at_registration: boolean;
  /** The notice's content (`body` required); its strings have `%(consent_uri)s` filled in. Null: no notice. */
  server_notice_content: Record<string, unknown> | null;
  /** Null: events are not blocked. `%(consent_uri)s` is filled in. */
  block_events_error: string | null;
  send_server_notice_to_guests: boolean;
}

export interface ConsentConfig {
  /** Null: no terms. */
  user_consent: UserConsentConfig | null;
  /** Synapse's `form_secret` (or `form_secret_path`): signs the consent links. */
  form_secret: string | null;
}

export interface Config extends MediaConfig, CaptchaConfig, SsoConfig, ThreepidConfig, ConsentConfig {
  server_name: string;
  public_baseurl: string | null;
  listeners: ListenerConfig[];
  database: DatabaseConfig;
  enable_registration: boolean;
  enable_registration_without_verification: boolean;
  registration_requires_token: boolean;
  /** The resolved secret (from the inline key or the file), or null when shared-secret registration is off. */
  registration_shared_secret: string | null;
  registration_shared_secret_source: SharedSecretSource;
  bcrypt_rounds: number;
  password_config: PasswordConfig;
  allow_underscore_prefixed_localpart: boolean;
  tls_certificate_path: string | null;
  tls_private_key_path: string | null;
  allow_guest_access: boolean;
  inhibit_user_in_use_error: boolean;
  /** Durations in milliseconds; null means "no limit" (or, for the refreshable lifetime, refresh tokens off). */
  session_lifetime: number | null;
  refreshable_access_token_lifetime: number | null;
  refresh_token_lifetime: number | null;
  nonrefreshable_access_token_lifetime: number | null;
  rc_registration: RateLimitConfig;
  rc_registration_token_validity: RateLimitConfig;
  rc_login: RcLoginConfig;
  /** Messages and state a user may send (Synapse's defaults: 0.2/s, bursts of 10). */
  rc_message: RateLimitConfig;
  rc_joins: { local: RateLimitConfig; remote: RateLimitConfig };
  /** The version `createRoom` uses when the request names none. */
  default_room_version: string;
  login_via_existing_session: LoginViaExistingSessionConfig;
  registration_sessions: RegistrationSessionsConfig;
  /** Gatehouse's own key: largest request body in bytes (Synapse's `max_upload_size` is for media). */
  max_request_body_size: number;
  /** Gatehouse's own key: `trace|debug|info|warn|error|fatal|silent`. */
  log_level: string;
  web: WebConfig;
  /** Prometheus metrics at `/_synapse/metrics` on a `type: metrics` listener or a `metrics` resource; off by default. */
  enable_metrics: boolean;
  /** Gatehouse's own key: worker processes for `serve` (the `--workers` flag wins); 1 runs no cluster at all. */
  workers: number;
  background_jobs: BackgroundJobsConfig;
  /** Synapse's `presence` section (only `enabled`). */
  presence: PresenceConfig;
  /**
   * The server's signing-key file, in Synapse's format, as an absolute path. Unset, it is Synapse's default:
   * `<server_name>.signing.key` in the directory of the last config file read. Null only for a config validated
   * without any file (tests, benchmarks), where there is nothing to put it next to: such a server signs with a key
   * made for the process.
   */
  signing_key_path: string | null;
  /** Synapse's `old_signing_keys`, by key ID (`ed25519:<version>`): published, never used to sign. */
  old_signing_keys: Record<string, OldSigningKeyConfig>;
  /** Synapse's `key_refresh_interval` in milliseconds: how long a published key response is valid (1 day). */
  key_refresh_interval: number;
  /** Who may publish which rooms in the public room directory; empty (Synapse's default since 1.126) lets no one. */
  room_list_publication_rules: RoomDirectoryRule[];
  /** Who may create which aliases (`PUT /directory/room`, `createRoom`'s `room_alias_name`); first match decides. */
  alias_creation_rules: RoomDirectoryRule[];
  /** `/publicRooms` without an access token; Synapse's default is false. */
  allow_public_rooms_without_auth: boolean;
  user_directory: UserDirectoryConfig;
  server_notices: ServerNoticesConfig | null;
  /** LDAP log-in, from matrix-synapse-ldap3's entry in Synapse's `modules:` list (src/config/ldap-config.ts). */
  ldap: LdapConfig | null;
}

export const DEFAULT_LISTENER_PORT = 8008;

export const DEFAULT_PASSWORD_POLICY: PasswordPolicyConfig = {
  enabled: false,
  minimum_length: 0,
  require_digit: false,
  require_symbol: false,
  require_lowercase: false,
  require_uppercase: false,
};

/** Synapse's default `thumbnail_sizes`. */
export const DEFAULT_THUMBNAIL_SIZES: ThumbnailSize[] = [
  { width: 32, height: 32, method: "crop" },
  { width: 96, height: 96, method: "crop" },
  { width: 320, height: 240, method: "scale" },
  { width: 640, height: 480, method: "scale" },
  { width: 800, height: 600, method: "scale" },
];

/** Synapse's `attribute_requirements` entry: the claim must exist, equal `value`, or be one of `one_of`. */
export interface AttributeRequirement {
  attribute: string;
  value: string | null;
  one_of: string[] | null;
}

/** `user_mapping_provider.config`: Synapse's Jinja2 templates, compiled at start-up (src/config/sso-template.ts). */
export interface OidcMappingConfig {
  subject_template: CompiledTemplate;
  /** Null: the user picks a localpart on the username picker. */
  localpart_template: CompiledTemplate | null;
  confirm_localpart: boolean;
  display_name_template: CompiledTemplate | null;
  email_template: CompiledTemplate | null;
  /** A URL of the user's picture: downloaded into the media repository as the avatar of a new account. */
  picture_template: CompiledTemplate | null;
  /** Synapse's `extra_attributes`: name → template, added to the `m.login.token` login's answer. */
  extra_attributes: Record<string, CompiledTemplate>;
}

export interface ClientSecretJwtKey {
  /** PEM, from `key` or `key_file`. */
  key: string;
  /** `alg` (checked against the key) and whatever else the provider wants in the header (`kid`). */
  jwt_header: Record<string, unknown> & { alg: string };
  /** Claims over `sub` (the client ID), `aud` (the issuer), `iat` and `exp`. */
  jwt_payload: Record<string, unknown>;
}

/** One `oidc_providers` entry (Synapse's keys and defaults). */
export interface OidcProviderConfig {
  /** Synapse's prefixed ID (`oidc-<idp_id>`, or `oidc` as given): the `identity_providers` id and `auth_provider`. */
  idp_id: string;
  idp_name: string;
  idp_icon: string | null;
  idp_brand: string | null;
  issuer: string;
  discover: boolean;
  client_id: string;
  client_secret: string | null;
  /** Synapse's `client_secret_jwt_key` (Apple's style): a JWT signed with this key is the client secret. */
  client_secret_jwt_key: ClientSecretJwtKey | null;
  client_auth_method: "client_secret_basic" | "client_secret_post" | "none";
  pkce_method: "auto" | "always" | "never";
  scopes: string[];
  user_profile_method: "auto" | "userinfo_endpoint";
  allow_existing_users: boolean;
  enable_registration: boolean;
  attribute_requirements: AttributeRequirement[];
  backchannel_logout_enabled: boolean;
  /** Synapse's testing escape hatch: plain-HTTP issuers and endpoints are allowed (never in production). */
  skip_verification: boolean;
  /** With `discover: false`: the endpoints Synapse reads instead of the discovery document. */
  authorization_endpoint: string | null;
  token_endpoint: string | null;
  userinfo_endpoint: string | null;
  jwks_uri: string | null;
  user_mapping_provider: OidcMappingConfig;
}

export interface SsoConfig {
  oidc_providers: OidcProviderConfig[];
  sso: {
    /** Redirect URL prefixes that skip the "Continue to <host>" confirmation page. */
    client_whitelist: string[];
    /**
     * Gatehouse's own key: whether IdP users may be created on first login while `enable_registration` is false
     * (true, Synapse's behaviour, unless the operator says otherwise).
     */
    registration_when_closed: boolean;
    /** Synapse's key: an existing account's display name follows the provider's on every SSO login. */
    update_profile_information: boolean;
  };
}
