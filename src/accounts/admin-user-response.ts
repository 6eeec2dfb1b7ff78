/**
 * @module The accounts as the admin API answers them: `GET /_synapse/admin/v2/users/{userId}` and one entry of the
 * user list, in Synapse's field names and units.
 */
import type { Tables } from "../db/stores.js";
import type { ListedUser, User } from "../db/users.js";

/** `GET /_synapse/admin/v2/users/{userId}` (Synapse's `AdminHandler.get_user`). */
export interface AdminUserResponse {
  name: string;
  admin: boolean;
  deactivated: boolean;
  locked: boolean;
  shadow_banned: boolean;
  /** Seconds, as Synapse stores and returns it here (the list answers milliseconds). */
  creation_ts: number;
  appservice_id: null;
  /** The terms version a consent notice was last sent for. */
  consent_server_notice_sent: string | null;
  /** The terms version accepted, and when (ms). */
  consent_version: string | null;
  consent_ts: number | null;
  user_type: string | null;
  is_guest: boolean;
  suspended: boolean;
  displayname: string | null;
  avatar_url: string | null;
  threepids: { medium: string; address: string; validated_at: number; added_at: number }[];
  external_ids: { auth_provider: string; external_id: string }[];
  erased: boolean;
  /** Milliseconds: the latest use of any of the user's devices, or null. */
  last_seen_ts: number | null;
}

/** One entry of `GET /_synapse/admin/v2/users`. */
export interface AdminListedUserResponse {
  name: string;
  user_type: string | null;
  is_guest: boolean;
  admin: boolean;
  deactivated: boolean;
  shadow_banned: boolean;
  displayname: string | null;
  avatar_url: string | null;
  /** Milliseconds here (Synapse multiplies the stored seconds by 1000 for the list only). */
  creation_ts: number;
  /** Always true: there is no registration approval (MSC3866); Synapse always sends it too. */
  approved: boolean;
  erased: boolean;
  last_seen_ts: number | null;
  locked: boolean;
  suspended: boolean;
}

export interface AdminUserListResponse {
  users: AdminListedUserResponse[];
  total: number;
  next_token?: string;
}

export function listedUser(u: ListedUser): AdminListedUserResponse {
  return {
    name: u.userId,
    user_type: u.userType,
    is_guest: u.isGuest,
    admin: u.admin,
    deactivated: u.deactivated,
    shadow_banned: u.shadowBanned,
    displayname: u.displayname,
    avatar_url: u.avatarUrl,
    creation_ts: u.creationTs * 1000,
    approved: true,
    erased: u.erased,
    last_seen_ts: u.lastSeenTs,
    locked: u.locked,
    suspended: u.suspended,
  };
}

export async function userResponse(t: Tables, user: User): Promise<AdminUserResponse> {
  const threepids = await t.threepids.listForUser(user.userId);
  const externalIds = await t.externalIds.listForUser(user.userId);
  const seen = (await t.devices.listForUser(user.userId))
    .map((d) => d.lastSeenTs)
    .filter((ts): ts is number => ts !== null);
  return {
    name: user.userId,
    admin: user.admin,
    deactivated: user.deactivated,
    locked: user.locked,
    shadow_banned: user.shadowBanned,
    creation_ts: user.creationTs,
    appservice_id: null,
    consent_server_notice_sent: user.consentServerNoticeSent,
    consent_version: user.consentVersion,
    consent_ts: user.consentTs,
    user_type: user.userType,
    is_guest: user.isGuest,
    suspended: user.suspended,
    displayname: user.displayname,
    avatar_url: user.avatarUrl,
    threepids: threepids.map((p) => ({
      medium: p.medium,
      address: p.address,
      validated_at: p.validatedAt,
      added_at: p.addedAt,
    })),
    external_ids: externalIds.map((e) => ({ auth_provider: e.authProvider, external_id: e.externalId })),
    erased: user.erased,
    last_seen_ts: seen.length > 0 ? Math.max(...seen) : null,
  };
}
