/**
 * @module Table types for kysely: the one description of the schema both databases share.
 *
 * Flags are integers (0/1) rather than booleans because SQLite has no boolean type and Synapse's own schema uses
 * smallint for them; the stores convert at the boundary so nothing above them sees 0/1. Timestamps are
 * milliseconds except `users.creation_ts`, which is seconds as in Synapse so exported data lines up.
 */
import type { Generated, Insertable, Selectable } from "kysely";

export interface UsersTable {
  name: string;
  password_hash: string | null;
  creation_ts: number;
  admin: Generated<number>;
  is_guest: Generated<number>;
  user_type: string | null;
  deactivated: Generated<number>;
  locked: Generated<number>;
  suspended: Generated<number>;
  shadow_banned: Generated<number>;
  approved: Generated<number>;
  displayname: string | null;
  avatar_url: string | null;
  /** Set by a deactivation with `erase` (Synapse's `erased_users`), cleared by reactivation. */
  erased: Generated<number>;
  /** The terms version the user accepted, when (ms), and the version a consent notice was sent for (0029). */
  consent_version: string | null;
  consent_ts: number | null;
  consent_server_notice_sent: string | null;
}

export interface DevicesTable {
  user_id: string;
  device_id: string;
  display_name: string | null;
  created_ts: number;
  last_seen_ts: number | null;
  last_seen_ip: string | null;
  last_seen_user_agent: string | null;
}

export interface AccessTokensTable {
  /** SHA-256 of the token, hex: the token itself is never stored. */
  token_hash: string;
  user_id: string;
  device_id: string | null;
  created_ts: number;
  valid_until_ms: number | null;
  puppets_user_id: string | null;
  last_validated: number | null;
  refresh_token_hash: Generated<string | null>;
  used: Generated<number>;
}

export interface RegistrationTokensTable {
  token: string;
  uses_allowed: number | null;
  pending: Generated<number>;
  completed: Generated<number>;
  expiry_time: number | null;
  created_ts: number;
  /** Gatehouse: the only localpart that may sign up with this token, or null. */
  bound_username: string | null;
  /** Gatehouse: the e-mail address the invite went to, attached to the account it makes, or null. */
  bound_email: string | null;
}

export interface RefreshTokensTable {
  token_hash: string;
  user_id: string;
  device_id: string;
  next_token_hash: string | null;
  expiry_ts: number | null;
  ultimate_session_expiry_ts: number | null;
  created_ts: number;
}

export interface LoginTokensTable {
  token_hash: string;
  user_id: string;
  expiry_ts: number;
  auth_provider_id: string | null;
  auth_provider_subject: string | null;
  auth_provider_session_id: string | null;
  /** JSON object of strings, or null. */
  extra_attributes: string | null;
}

export interface DeviceAuthProvidersTable {
  user_id: string;
  device_id: string;
  auth_provider_id: string;
  auth_provider_subject: string;
  auth_provider_session_id: string | null;
}

export interface CountersTable {
  name: string;
  value: number;
}

export interface UserFiltersTable {
  user_id: string;
  filter_id: string;
  filter_json: string;
}

export interface AccountDataTable {
  user_id: string;
  type: string;
  content: string;
  stream_id: number;
}

export interface DeviceKeysTable {
  user_id: string;
  device_id: string;
  key_json: string;
}

export interface OneTimeKeysTable {
  user_id: string;
  device_id: string;
  algorithm: string;
  key_id: string;
  key_json: string;
  fallback: Generated<number>;
  used: Generated<number>;
  /** When the key was uploaded (ms): claims take the oldest first. */
  ts_added_ms: Generated<number>;
}

export interface DeviceListChangesTable {
  stream_id: number;
  user_id: string;
  device_id: string;
}

export interface RegistrationNoncesTable {
  nonce: string;
  created_ts: number;
}

export interface CaptchaUsedChallengesTable {
  signature: string;
  expires_ts: number;
}

/** An address being validated (migration 0028). */
export interface ThreepidValidationSessionTable {
  session_id: string;
  medium: string;
  address: string;
  client_secret: string;
  purpose: string;
  last_send_attempt: number;
  validated_at: number | null;
  created_ts: number;
}

/** A mailed validation token, by its SHA-256 (migration 0028). */
export interface ThreepidValidationTokenTable {
  token_hash: string;
  session_id: string;
  next_link: string | null;
  expires_ts: number;
}

/** A mail waiting to be sent (migration 0028). */
export interface EmailOutboxTable {
  id: string;
  recipient: string;
  subject: string;
  text_body: string;
  html_body: string | null;
  created_ts: number;
  next_attempt_ts: number;
  attempts: Generated<number>;
  last_error: string | null;
}

export interface UiAuthSessionsTable {
  session_id: string;
  creation_time: number;
  uri: string;
  method: string;
  description: string;
  /** JSON: the request body minus `auth` and `password`. */
  clientdict: string;
  /** JSON: server-side data (password hash, registered user, token used). */
  serverdict: string;
  /** The address of the unauthenticated caller that opened it (registration); null otherwise. */
  client_ip: Generated<string | null>;
}

export interface UiAuthSessionsCredentialsTable {
  session_id: string;
  stage_type: string;
  /** JSON result of the completed stage. */
  result: string;
}

export interface ServerMetaTable {
  key: string;
  value: string;
}

export interface AdminAuditTable {
  id: number;
  ts: number;
  /** The admin who made the change. */
  actor: string;
  action: string;
  /** The user (or other object) changed, when there is one. */
  target: string | null;
  ip: string | null;
  /** The admin whose `login-as` token made the change, when `actor` is the user that token impersonates. */
  impersonator: Generated<string | null>;
  /** JSON objects of the changed fields; never a password or token. */
  before: string;
  after: string;
}

export interface UserThreepidsTable {
  user_id: string;
  medium: string;
  address: string;
  validated_at: number;
  added_at: number;
  /** The directory that added it ("ldap"), which replaces it when its own changes; null: the user or an admin. */
  source: string | null;
}

export interface UserExternalIdsTable {
  auth_provider: string;
  external_id: string;
  user_id: string;
}

/** One leaky bucket per (limiter name, key); see migration 0007. */
export interface RateLimitBucketsTable {
  name: string;
  key: string;
  actions: number;
  start_ms: number;
  last_allowed: number;
  expires_ms: number;
}

/** A background job's lease and latest run (migration 0008); times in ms on the processes' clocks. */
export interface ScheduledJobsTable {
  name: string;
  next_run_at: number;
  locked_by: string | null;
  locked_until: number | null;
  last_started_at: number | null;
  last_finished_at: number | null;
  last_result: string | null;
}

/** A room (migration 0010). `is_public`: listed in the public room directory. */
export interface RoomsTable {
  room_id: string;
  room_version: string;
  creator: string;
  created_ts: number;
  is_public: Generated<number>;
}

/** An accepted event: the full PDU in `json`, at its stream position. */
export interface EventsTable {
  stream_ordering: number;
  event_id: string;
  room_id: string;
  type: string;
  state_key: string | null;
  sender: string;
  origin_server_ts: number;
  depth: number;
  json: string;
  /** The redaction that applies to this event, once one does. */
  redacted_by: string | null;
  /** `content.m.relates_to.event_id` and `rel_type`, for `/relations` and threads. */
  relates_to: string | null;
  rel_type: string | null;
}

/** Every state event of a room, so the state at any position can be read. */
export interface RoomStateTable {
  room_id: string;
  type: string;
  state_key: string;
  stream_ordering: number;
  event_id: string;
}

export interface CurrentStateTable {
  room_id: string;
  type: string;
  state_key: string;
  event_id: string;
  stream_ordering: number;
}

export interface RoomMembershipsTable {
  room_id: string;
  user_id: string;
  membership: string;
  event_id: string;
  stream_ordering: number;
  forgotten: Generated<number>;
}

export interface EventTxnsTable {
  user_id: string;
  device_id: string;
  /** `send` or `redact`: a transaction ID is scoped to a device and an endpoint. */
  endpoint: string;
  txn_id: string;
  event_id: string;
  created_ts: number;
}

export interface RoomAliasesTable {
  alias: string;
  room_id: string;
  creator: string;
  created_ts: number;
}

export interface RoomAccountDataTable {
  user_id: string;
  room_id: string;
  type: string;
  content: string;
  stream_id: number;
}

/** A room no one but a server admin may join (migration 0013), and the admin who blocked it. */
export interface BlockedRoomsTable {
  room_id: string;
  user_id: string;
  blocked_ts: number;
}

/** One admin room deletion: its status, parameters and result (JSON), for `delete_status`. */
export interface RoomDeletionsTable {
  delete_id: string;
  room_id: string;
  requester: string;
  status: string;
  error: string | null;
  params: string;
  result: string;
  created_ts: number;
  updated_ts: number;
}

export interface EventReportsTable {
  id: number;
  received_ts: number;
  room_id: string;
  event_id: string | null;
  user_id: string;
  reason: string | null;
  score: number | null;
}

/** An admin's replacement of one user's message limit (migration 0015); a rate of 0 lifts their limits. */
export interface RatelimitOverrideTable {
  user_id: string;
  messages_per_second: number;
  burst_count: number;
}

/** One experimental feature an admin set for one user (migration 0015); `enabled` 0/1. */
export interface UserExperimentalFeaturesTable {
  user_id: string;
  feature: string;
  enabled: number;
}

/** A message waiting for a device (migration 0016); `withheld_in`: the last response that left it out, if any. */
export interface ToDeviceMessagesTable {
  user_id: string;
  device_id: string;
  stream_id: number;
  seq: number;
  sender: string;
  type: string;
  content: string;
  withheld_in: number | null;
}

/** At least how many messages a device's queue holds (migration 0016). */
export interface ToDeviceCountsTable {
  user_id: string;
  device_id: string;
  pending: number;
}

/** A transaction ID a device used for `PUT /sendToDevice` (migration 0016). */
export interface ToDeviceTxnsTable {
  user_id: string;
  device_id: string;
  txn_id: string;
  created_ts: number;
}

/** A user's cross-signing key of one type (migration 0018); `key_type` is master, self_signing or user_signing. */
export interface CrossSigningKeysTable {
  user_id: string;
  key_type: string;
  key_json: string;
  updatable_without_uia_before_ms: number | null;
}

/** A self-signing-key signature of one of the user's devices (migration 0018). */
export interface DeviceSignaturesTable {
  user_id: string;
  device_id: string;
  key_id: string;
  signature: string;
}

/** A signature of a master key, by its owner's device or another user's user-signing key (migration 0018). */
export interface CrossSigningSignaturesTable {
  signer_user_id: string;
  key_id: string;
  target_user_id: string;
  target_key_id: string;
  signature: string;
}

/** One server-side key backup of a user (migration 0018); `deleted` 0/1. */
export interface RoomKeyBackupVersionsTable {
  user_id: string;
  version: number;
  algorithm: string;
  auth_data: string;
  etag: Generated<number>;
  deleted: Generated<number>;
}

/** One Megolm session in a backup (migration 0018); `is_verified` 0/1, `session_data` JSON. */
export interface RoomKeyBackupKeysTable {
  user_id: string;
  version: number;
  room_id: string;
  session_id: string;
  first_message_index: number;
  forwarded_count: number;
  is_verified: number;
  session_data: string;
}

/** A user's own push rule (migration 0020); `conditions` and `actions` are JSON. */
export interface PushRulesTable {
  user_id: string;
  kind: string;
  rule_id: string;
  priority: number;
  conditions: string | null;
  pattern: string | null;
  actions: string;
  enabled: Generated<number>;
}

/** A user's change to a server-default push rule (migration 0020); null keeps the default. */
export interface PushRuleDefaultsTable {
  user_id: string;
  rule_id: string;
  enabled: number | null;
  actions: string | null;
}

/** An event that notifies a user (migration 0020), for the unread counts. */
export interface EventPushActionsTable {
  user_id: string;
  room_id: string;
  stream_ordering: number;
  thread_id: string;
  highlight: number;
}

/** A pusher a client registered (migration 0020); `data` is JSON. */
export interface PushersTable {
  user_id: string;
  app_id: string;
  pushkey: string;
  kind: string;
  app_display_name: string;
  device_display_name: string;
  profile_tag: string | null;
  lang: string;
  data: string;
  device_id: string | null;
  created_ts: number;
}

export interface Database {
  users: UsersTable;
  devices: DevicesTable;
  access_tokens: AccessTokensTable;
  registration_nonces: RegistrationNoncesTable;
  captcha_used_challenges: CaptchaUsedChallengesTable;
  ui_auth_sessions: UiAuthSessionsTable;
  threepid_validation_session: ThreepidValidationSessionTable;
  threepid_validation_token: ThreepidValidationTokenTable;
  email_outbox: EmailOutboxTable;
  ui_auth_sessions_credentials: UiAuthSessionsCredentialsTable;
  server_meta: ServerMetaTable;
  registration_tokens: RegistrationTokensTable;
  refresh_tokens: RefreshTokensTable;
  login_tokens: LoginTokensTable;
  device_auth_providers: DeviceAuthProvidersTable;
  counters: CountersTable;
  user_filters: UserFiltersTable;
  account_data: AccountDataTable;
  device_keys: DeviceKeysTable;
  one_time_keys: OneTimeKeysTable;
  device_list_changes: DeviceListChangesTable;
  admin_audit: AdminAuditTable;
  user_threepids: UserThreepidsTable;
  user_external_ids: UserExternalIdsTable;
  ratelimit_buckets: RateLimitBucketsTable;
  scheduled_jobs: ScheduledJobsTable;
  rooms: RoomsTable;
  events: EventsTable;
  room_state: RoomStateTable;
  current_state: CurrentStateTable;
  room_memberships: RoomMembershipsTable;
  event_txns: EventTxnsTable;
  room_aliases: RoomAliasesTable;
  room_account_data: RoomAccountDataTable;
  blocked_rooms: BlockedRoomsTable;
  room_deletions: RoomDeletionsTable;
  event_reports: EventReportsTable;
  ratelimit_override: RatelimitOverrideTable;
  user_experimental_features: UserExperimentalFeaturesTable;
  to_device_messages: ToDeviceMessagesTable;
  to_device_counts: ToDeviceCountsTable;
  to_device_txns: ToDeviceTxnsTable;
  cross_signing_keys: CrossSigningKeysTable;
  device_signatures: DeviceSignaturesTable;
  cross_signing_signatures: CrossSigningSignaturesTable;
  room_key_backup_versions: RoomKeyBackupVersionsTable;
  room_key_backup_keys: RoomKeyBackupKeysTable;
  push_rules: PushRulesTable;
  push_rule_defaults: PushRuleDefaultsTable;
  event_push_actions: EventPushActionsTable;
  pushers: PushersTable;
  typing: TypingTable;
  receipts: ReceiptsTable;
  presence: PresenceTable;
  device_initial_syncs: DeviceInitialSyncsTable;
  local_media_repository: LocalMediaRepositoryTable;
  local_media_repository_thumbnails: LocalMediaRepositoryThumbnailsTable;
  local_media_repository_url_cache: LocalMediaRepositoryUrlCacheTable;
}

export type UserRow = Selectable<UsersTable>;
export type NewUserRow = Insertable<UsersTable>;
export type DeviceRow = Selectable<DevicesTable>;
export type AccessTokenRow = Selectable<AccessTokensTable>;

/** Who types in a room until when (migration 0019); `expires_at` 0: stopped. */
export interface TypingTable {
  room_id: string;
  user_id: string;
  expires_at: number;
  stream_id: number;
}

/** The latest receipt per (room, user, type, thread); `thread_id` '' for unthreaded (migration 0019). */
export interface ReceiptsTable {
  room_id: string;
  user_id: string;
  receipt_type: string;
  thread_id: string;
  event_id: string;
  event_ordering: number;
  ts: number;
  stream_id: number;
}

/** A user's presence (migration 0019); `sync_until`: when their latest sync ends at the latest. */
export interface PresenceTable {
  user_id: string;
  state: string;
  status_msg: string | null;
  last_active_ts: number;
  sync_until: number;
  stream_id: number;
}

/** The `next_batch` of a device's latest initial sync, until its first incremental sync used it (migration 0019). */
export interface DeviceInitialSyncsTable {
  user_id: string;
  device_id: string;
  position: number;
}

/** A local media item (migration 0021); `media_length` null: an async upload still waiting for its content. */
export interface LocalMediaRepositoryTable {
  media_id: string;
  media_type: string | null;
  media_length: number | null;
  created_ts: number;
  upload_name: string | null;
  user_id: string;
  quarantined_by: string | null;
  url_cache: string | null;
  last_access_ts: number | null;
  safe_from_quarantine: Generated<number>;
  authenticated: Generated<number>;
  sha256: string | null;
}

/** A stored thumbnail of a local media item (migration 0021). */
export interface LocalMediaRepositoryThumbnailsTable {
  media_id: string;
  thumbnail_width: number;
  thumbnail_height: number;
  thumbnail_type: string;
  thumbnail_method: string;
  thumbnail_length: number;
  sha256: string;
}

/** A URL preview made (migration 0026): its Open Graph JSON, answered again until `expires_ts`. */
export interface LocalMediaRepositoryUrlCacheTable {
  url: string;
  response_code: number;
  etag: string | null;
  expires_ts: number;
  og: string;
  media_id: string;
  download_ts: number;
}
