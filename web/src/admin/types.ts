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
  shadow_banned: boolean;
  suspended?: boolean;
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
