/** The admin API's answers, as the console reads them (docs/admin-api.md). */

/** An entry of `GET /_synapse/admin/v2/users` (`creation_ts` in milliseconds there). */
export interface AdminUser {
  name: string;
  displayname: string | null;
  admin: boolean;
  deactivated: boolean;
  locked: boolean;
  is_guest: boolean;
  user_type: string | null;
  creation_ts: number;
  last_seen_ts: number | null;
  erased?: boolean;
}

/** `GET /_synapse/admin/v2/users/{id}` (`creation_ts` in seconds there, as Synapse). */
export interface UserDetails extends AdminUser {
  avatar_url: string | null;
  threepids: { medium: string; address: string }[];
  /** Identity-provider links (`oidc-<idp_id>` and the provider's subject), kept through deactivation. */
  external_ids: { auth_provider: string; external_id: string }[];
  shadow_banned: boolean;
  suspended?: boolean;
  /** The terms (`user_consent`) version accepted and when (ms); null when none. */
  consent_version: string | null;
  consent_ts: number | null;
}

export interface Device {
  device_id: string;
  display_name: string | null;
  last_seen_ip: string | null;
  last_seen_ts: number | null;
  last_seen_user_agent: string | null;
}

export interface RegistrationToken {
  token: string;
  uses_allowed: number | null;
  pending: number;
  completed: number;
  expiry_time: number | null;
  bound_username?: string | null;
  bound_email?: string | null;
}

export interface AuditEntry {
  id: number;
  ts: number;
  actor: string;
  action: string;
  target: string | null;
  ip: string | null;
  before: Record<string, unknown>;
  after: Record<string, unknown>;
}

/** An entry of `GET /_synapse/admin/v1/rooms`. */
export interface AdminRoom {
  room_id: string;
  name: string | null;
  canonical_alias: string | null;
  joined_members: number;
  joined_local_members: number;
  version: string;
  creator: string;
  encryption: string | null;
  federatable: boolean;
  public: boolean;
  join_rules: string | null;
  guest_access: string | null;
  history_visibility: string | null;
  state_events: number;
  room_type: string | null;
}

/** `GET /_synapse/admin/v1/rooms/{roomId}`. */
export interface RoomDetails extends AdminRoom {
  topic: string | null;
  avatar: string | null;
  joined_local_devices: number;
  forgotten: boolean;
}

/** An event in the client format, as the room state and a report's `event_json` carry it. */
export interface ClientEvent {
  event_id: string;
  type: string;
  sender: string;
  state_key?: string;
  origin_server_ts: number;
  content: Record<string, unknown>;
  room_id?: string;
}

/** One deletion of `GET /_synapse/admin/v2/rooms/{roomId}/delete_status`. */
export interface DeleteStatus {
  delete_id: string;
  room_id: string;
  status: "scheduled" | "active" | "complete" | "failed";
  error?: string;
  shutdown_room: {
    kicked_users: string[];
    failed_to_kick_users: string[];
    local_aliases: string[];
    new_room_id: string | null;
  };
}

/** An entry of `GET /_synapse/admin/v1/event_reports`; `event_id` is null for a report of a whole room. */
export interface EventReport {
  id: number;
  received_ts: number;
  room_id: string;
  name: string | null;
  event_id: string | null;
  user_id: string;
  reason: string | null;
  score: number | null;
  sender: string | null;
  canonical_alias: string | null;
}
