/**
 * @module The Synapse-compatible admin API's rules for accounts: look up, list, create or modify, promote, lock,
 * suspend, shadow-ban, deactivate, reset a password, log in as a user.
 *
 * Nothing here has a rule of its own where the account services have one: accounts are created by `registerUser`
 * (username rules, password policy), passwords go through `hashNewPassword`/`writePassword` (the policy applies to
 * admins too), deactivation through `writeDeactivation`. What this module adds is Synapse's request shapes and
 * words, and atomicity: a request's changes and its audit entry land in one transaction, so a refused field leaves
 * nothing half-applied (Synapse applies the fields of a `PUT` one by one).
 */
import { isUniqueViolation } from "../db/database.js";
import type { Tables } from "../db/stores.js";
import type { ListedUser, User, UserListQuery } from "../db/users.js";
import { ErrCode, MatrixError } from "../errors.js";
import { deviceListChanged } from "../keys/device-lists.js";
import { hashNewPassword, writeDeactivation, writePassword, writeReactivation } from "./account.js";
import { PASSWORD_CHANGED, PASSWORD_HIDDEN, PASSWORD_SET, recordAudit, type AdminActor } from "./audit.js";
import type { AccountsContext } from "./context.js";
import { MAX_PASSWORD_LENGTH } from "./password-policy.js";
import { ProfileField, checkProfileValue } from "./profile.js";
import { checkUserType, registerUser } from "./registration.js";
import { generateAccessToken, hashToken } from "./tokens.js";
import { checkUsername } from "./username.js";

// ---------------------------------------------------------------------------------------------------------------
// User IDs in paths

export interface ParsedUserId {
  userId: string;
  localpart: string;
  domain: string;
}

/** Synapse's `UserID.from_string`: 400 `M_INVALID_PARAM` for an ID that is not `@localpart:domain`. */
export function parseUserId(userId: string): ParsedUserId {
  if (!userId.startsWith("@")) throw new MatrixError(ErrCode.InvalidParam, "Expected UserID string to start with '@'");
  const colon = userId.indexOf(":");
  if (colon < 0) throw new MatrixError(ErrCode.InvalidParam, "Expected UserID of the form '@localname:domain'");
  return { userId, localpart: userId.slice(1, colon), domain: userId.slice(colon + 1) };
}

/** The parsed ID, or 400 `M_UNKNOWN` with the endpoint's words when it names another server's user. */
export function localUserId(ctx: AccountsContext, userId: string, remoteMessage: string): ParsedUserId {
  const parsed = parseUserId(userId);
  if (parsed.domain !== ctx.serverName) throw new MatrixError(ErrCode.Unknown, remoteMessage);
  return parsed;
}

/** The local account, or 404 `M_NOT_FOUND` (Synapse says "User not found" on most endpoints, "Unknown user" on some). */
export async function existingUser(
  ctx: AccountsContext,
  userId: string,
  remoteMessage: string,
  notFound = "User not found",
): Promise<User> {
  localUserId(ctx, userId, remoteMessage);
  const user = await ctx.stores.users.get(userId);
  if (!user) throw new MatrixError(ErrCode.NotFound, notFound);
  return user;
}

// ---------------------------------------------------------------------------------------------------------------
// Response shapes

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
  consent_server_notice_sent: null;
  consent_version: null;
  consent_ts: null;
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

function listedUser(u: ListedUser): AdminListedUserResponse {
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

async function userResponse(t: Tables, user: User): Promise<AdminUserResponse> {
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
    consent_server_notice_sent: null,
    consent_version: null,
    consent_ts: null,
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

// ---------------------------------------------------------------------------------------------------------------
// Reading

/** `GET /_synapse/admin/v2/users/{userId}`. */
export async function getUser(ctx: AccountsContext, userId: string): Promise<AdminUserResponse> {
  const user = await existingUser(ctx, userId, "Can only look up local users");
  return userResponse(ctx.stores, user);
}

/** `GET /_synapse/admin/v2/users` and `v3/users`: one page and `next_token` when more remain. */
export async function listUsers(ctx: AccountsContext, query: UserListQuery): Promise<AdminUserListResponse> {
  const { users, total } = await ctx.stores.users.list(query);
  const response: AdminUserListResponse = { users: users.map(listedUser), total };
  if (query.from + query.limit < total) response.next_token = String(query.from + users.length);
  return response;
}

/** `GET /_synapse/admin/v1/users/{userId}/admin`: false for an unknown local user, as in Synapse. */
export async function getAdminFlag(ctx: AccountsContext, userId: string): Promise<{ admin: boolean }> {
  localUserId(ctx, userId, "Only local users can be admins of this homeserver");
  return { admin: (await ctx.stores.users.get(userId))?.admin ?? false };
}

/** `GET /_synapse/admin/v1/username_available`: the username rules as given (not lower-cased), registration open or not. */
export async function usernameAvailable(ctx: AccountsContext, username: string): Promise<{ available: true }> {
  await checkUsername(username, ctx.usernameRules, ctx.stores.users);
  return { available: true };
}

// ---------------------------------------------------------------------------------------------------------------
// Create or modify: `PUT /_synapse/admin/v2/users/{userId}`

interface ThreepidInput {
  medium: string;
  address: string;
}

interface ExternalIdInput {
  authProvider: string;
  externalId: string;
}

/** The body of `PUT /v2/users/{userId}`, checked: a field is undefined when the body leaves it out. */
interface UserPutBody {
  password?: string;
  logoutDevices: boolean;
  displayname?: string | null;
  avatarUrl?: string | null;
  threepids?: ThreepidInput[];
  externalIds?: ExternalIdInput[];
  admin?: boolean;
  deactivated?: boolean;
  locked?: boolean;
  userType?: string | null;
}

const MEDIUMS = ["email", "msisdn"];

/** Synapse's `canonicalise_email`: the local part case-folded, the domain lower-cased. */
export function canonicaliseEmail(address: string): string {
  const parts = address.trim().split("@");
  if (parts.length !== 2 || parts[0] === "" || parts[1] === "") {
    throw new MatrixError(ErrCode.InvalidParam, "Unable to parse email address");
  }
  return `${parts[0]!.toLowerCase()}@${parts[1]!.toLowerCase()}`;
}

function missingParams(obj: Record<string, unknown>, keys: string[]): void {
  const absent = keys.filter((k) => !(k in obj));
  if (absent.length > 0) {
    throw new MatrixError(ErrCode.MissingParam, `Missing params: [${absent.map((k) => `'${k}'`).join(", ")}]`);
  }
}

function objectList(value: unknown, name: string): Record<string, unknown>[] {
  if (!Array.isArray(value) || !value.every((v) => typeof v === "object" && v !== null && !Array.isArray(v))) {
    throw new MatrixError(ErrCode.InvalidParam, `'${name}' must be a list of objects`);
  }
  return value as Record<string, unknown>[];
}

function parseThreepids(value: unknown): ThreepidInput[] {
  const seen = new Map<string, ThreepidInput>();
  for (const t of objectList(value, "threepids")) {
    missingParams(t, ["medium", "address"]);
    if (typeof t.medium !== "string" || typeof t.address !== "string") {
      throw new MatrixError(ErrCode.InvalidParam, "'medium' and 'address' must be strings");
    }
    if (!MEDIUMS.includes(t.medium)) {
      throw new MatrixError(ErrCode.InvalidParam, `'${t.medium}' is not a valid value for 'medium'`);
    }
    const address = t.medium === "email" ? canonicaliseEmail(t.address) : t.address;
    seen.set(`${t.medium}\u0000${address}`, { medium: t.medium, address });
  }
  return [...seen.values()];
}

function parseExternalIds(value: unknown): ExternalIdInput[] {
  const seen = new Map<string, ExternalIdInput>();
  for (const e of objectList(value, "external_ids")) {
    missingParams(e, ["auth_provider", "external_id"]);
    if (typeof e.auth_provider !== "string" || typeof e.external_id !== "string") {
      throw new MatrixError(ErrCode.InvalidParam, "'auth_provider' and 'external_id' must be strings");
    }
    seen.set(`${e.auth_provider}\u0000${e.external_id}`, { authProvider: e.auth_provider, externalId: e.external_id });
  }
  return [...seen.values()];
}

/**
 * The admin API's password rule (`PUT /v2/users`, `reset_password`): a string of at most 512 characters, else 400
 * "Invalid password". The empty string is refused too (Synapse would store it, and anyone could then log in with
 * an empty password); the password policy comes after, in `registerUser` or `hashNewPassword`.
 */
export function checkAdminPassword(password: unknown): asserts password is string {
  if (typeof password !== "string" || password === "" || [...password].length > MAX_PASSWORD_LENGTH) {
    throw new MatrixError(ErrCode.Unknown, "Invalid password");
  }
}

function optionalBoolean(body: Record<string, unknown>, key: string, message: string, errcode = ErrCode.Unknown) {
  const v = body[key];
  if (v === undefined) return undefined;
  if (typeof v !== "boolean") throw new MatrixError(errcode, message);
  return v;
}

/** Synapse's checks, in its order, before anything is written. */
function parseUserPut(body: Record<string, unknown>): UserPutBody {
  const parsed: UserPutBody = { logoutDevices: true };
  if (body.threepids !== undefined && body.threepids !== null) parsed.threepids = parseThreepids(body.threepids);
  if (body.external_ids !== undefined && body.external_ids !== null) {
    parsed.externalIds = parseExternalIds(body.external_ids);
  }
  if ("user_type" in body) {
    checkUserType(body.user_type);
    parsed.userType = body.user_type ?? null;
  }
  const admin = optionalBoolean(body, "admin", "Param 'admin' must be a boolean, if given", ErrCode.BadJson);
  if (admin !== undefined) parsed.admin = admin;
  if (body.password !== undefined && body.password !== null) {
    checkAdminPassword(body.password);
    parsed.password = body.password;
  }
  const logout = optionalBoolean(body, "logout_devices", "'logout_devices' parameter is not of type boolean");
  if (logout !== undefined) parsed.logoutDevices = logout;
  const deactivated = optionalBoolean(body, "deactivated", "'deactivated' parameter is not of type boolean");
  if (deactivated !== undefined) parsed.deactivated = deactivated;
  const locked = optionalBoolean(body, "locked", "'locked' parameter is not of type boolean");
  if (locked !== undefined) parsed.locked = locked;
  if (parsed.deactivated && parsed.locked) {
    throw new MatrixError(ErrCode.Unknown, "An user can't be deactivated and locked");
  }
  // null clears a field, as "" does (Synapse refuses null when modifying and ignores it when creating).
  if ("displayname" in body) {
    parsed.displayname =
      body.displayname === null ? null : checkProfileValue(ProfileField.Displayname, body.displayname);
  }
  if ("avatar_url" in body) {
    parsed.avatarUrl = body.avatar_url === null ? null : checkProfileValue(ProfileField.AvatarUrl, body.avatar_url);
  }
  return parsed;
}

function inUse(what: "External id" | "Threepid"): MatrixError {
  return what === "External id"
    ? new MatrixError(ErrCode.Unknown, "External id is already in use.", { status: 409 })
    : new MatrixError(ErrCode.ThreepidInUse, "Threepid is already in use.", { status: 409 });
}

export async function addThreepids(t: Tables, userId: string, list: ThreepidInput[], now: number): Promise<void> {
  for (const p of list) {
    try {
      await t.threepids.add(userId, { medium: p.medium, address: p.address, validatedAt: now, addedAt: now });
    } catch (err) {
      if (isUniqueViolation(err)) throw inUse("Threepid");
      throw err;
    }
  }
}

async function addExternalIds(t: Tables, userId: string, list: ExternalIdInput[]): Promise<void> {
  for (const e of list) {
    const owner = await t.externalIds.owner(e.authProvider, e.externalId);
    if (owner !== null && owner !== userId) throw inUse("External id");
  }
  await t.externalIds.deleteForUser(userId);
  for (const e of list) {
    try {
      await t.externalIds.add(userId, e);
    } catch (err) {
      if (isUniqueViolation(err)) throw inUse("External id");
      throw err;
    }
  }
}

const threepidKey = (p: ThreepidInput) => `${p.medium}\u0000${p.address}`;
const threepidsJson = (list: ThreepidInput[]) => list.map((p) => ({ medium: p.medium, address: p.address }));
const externalIdsJson = (list: ExternalIdInput[]) =>
  list.map((e) => ({ auth_provider: e.authProvider, external_id: e.externalId }));

export interface PutUserResult {
  created: boolean;
  user: AdminUserResponse;
}

/**
 * `PUT /_synapse/admin/v2/users/{userId}`: creates the account (201) or changes the fields the body names (200),
 * answering the account as `GET` does. Creation goes through `registerUser`, so the username rules and the password
 * policy apply; unlike Synapse, `locked` and `deactivated` are honoured on creation too.
 */
export async function putUser(
  ctx: AccountsContext,
  actor: AdminActor,
  userId: string,
  body: Record<string, unknown>,
): Promise<PutUserResult> {
  const { localpart } = localUserId(ctx, userId, "This endpoint can only be used with local users");
  const input = parseUserPut(body);
  const existing = await ctx.stores.users.get(userId);
  if (!existing) return { created: true, user: await createUser(ctx, actor, userId, localpart, input) };
  return { created: false, user: await modifyUser(ctx, actor, existing, input) };
}

/**
 * `PUT /v2/users`'s creation alone, for the admin CLI's database mode: an existing account is never modified.
 * `registerUser` judges existence inside its transaction (the unique index settles a race), so a concurrent
 * creation of the same ID answers 400 `M_USER_IN_USE` rather than changing the other account.
 */
export async function createNewUser(
  ctx: AccountsContext,
  actor: AdminActor,
  userId: string,
  body: Record<string, unknown>,
): Promise<AdminUserResponse> {
  const { localpart } = localUserId(ctx, userId, "This endpoint can only be used with local users");
  return createUser(ctx, actor, userId, localpart, parseUserPut(body));
}

async function createUser(
  ctx: AccountsContext,
  actor: AdminActor,
  userId: string,
  localpart: string,
  input: UserPutBody,
): Promise<AdminUserResponse> {
  const now = ctx.now();
  let deleted: string[] = [];
  let created: AdminUserResponse | null = null;
  await registerUser(ctx, {
    localpart,
    password: input.password ?? null,
    admin: input.admin ?? false,
    userType: input.userType ?? null,
    displayname: input.displayname ?? null,
    login: null,
    alsoInTransaction: async (t) => {
      const after: Record<string, unknown> = {
        admin: input.admin ?? false,
        user_type: input.userType ?? null,
        displayname: input.displayname ?? localpart,
      };
      if (input.password !== undefined) after.password = PASSWORD_SET;
      if (input.avatarUrl !== undefined && input.avatarUrl !== null) {
        await t.users.setProfile(userId, { avatarUrl: input.avatarUrl });
        after.avatar_url = input.avatarUrl;
      }
      if (input.threepids) {
        await addThreepids(t, userId, input.threepids, now);
        after.threepids = threepidsJson(input.threepids);
      }
      if (input.externalIds) {
        await addExternalIds(t, userId, input.externalIds);
        after.external_ids = externalIdsJson(input.externalIds);
      }
      if (input.locked) {
        await t.users.setLocked(userId, true);
        after.locked = true;
      }
      if (input.deactivated) {
        deleted = await writeDeactivation(t, userId, { erase: false });
        after.deactivated = true;
      }
      await recordAudit(t, ctx, actor, "user.create", userId, {}, after);
      created = await userResponse(t, (await t.users.get(userId))!);
    },
  });
  await deviceListChanged(ctx.stores, userId, deleted);
  return created!;
}

async function modifyUser(
  ctx: AccountsContext,
  actor: AdminActor,
  user: User,
  input: UserPutBody,
): Promise<AdminUserResponse> {
  const userId = user.userId;
  if (input.admin === false && user.admin && userId === actor.userId) {
    throw new MatrixError(ErrCode.Unknown, "You may not demote yourself.");
  }
  // Hashing (and the policy and the password switch) before the transaction: a refusal writes nothing.
  const hash = input.password === undefined ? null : await hashNewPassword(ctx, input.password);
  const now = ctx.now();
  const self = userId === actor.userId;
  const { response, deleted } = await ctx.stores.transaction(async (t) => {
    const current = await t.users.get(userId);
    if (!current) throw new MatrixError(ErrCode.NotFound, "User not found");
    const before: Record<string, unknown> = {};
    const after: Record<string, unknown> = {};
    const change = (field: string, from: unknown, to: unknown) => {
      before[field] = from;
      after[field] = to;
    };
    let gone: string[] = [];

    if (input.displayname !== undefined && input.displayname !== current.displayname) {
      await t.users.setProfile(userId, { displayname: input.displayname });
      change("displayname", current.displayname, input.displayname);
    }
    if (input.threepids) {
      const had = await t.threepids.listForUser(userId);
      const want = new Set(input.threepids.map(threepidKey));
      const have = new Set(had.map(threepidKey));
      const removed = had.filter((p) => !want.has(threepidKey(p)));
      const added = input.threepids.filter((p) => !have.has(threepidKey(p)));
      for (const p of removed) await t.threepids.remove(userId, p.medium, p.address);
      await addThreepids(t, userId, added, now);
      if (removed.length > 0 || added.length > 0)
        change("threepids", threepidsJson(had), threepidsJson(input.threepids));
    }
    if (input.externalIds) {
      const had = await t.externalIds.listForUser(userId);
      await addExternalIds(t, userId, input.externalIds);
      const key = (e: ExternalIdInput) => `${e.authProvider}\u0000${e.externalId}`;
      const same =
        had.length === input.externalIds.length && input.externalIds.every((e) => had.some((h) => key(h) === key(e)));
      if (!same) change("external_ids", externalIdsJson(had), externalIdsJson(input.externalIds));
    }
    if (input.avatarUrl !== undefined && input.avatarUrl !== current.avatarUrl) {
      await t.users.setProfile(userId, { avatarUrl: input.avatarUrl });
      change("avatar_url", current.avatarUrl, input.avatarUrl);
    }
    if (input.admin !== undefined && input.admin !== current.admin) {
      await t.users.setAdmin(userId, input.admin);
      change("admin", current.admin, input.admin);
    }
    if (hash !== null) {
      gone = await writePassword(t, userId, hash, {
        logoutDevices: input.logoutDevices,
        keepDeviceId: self ? actor.deviceId : null,
        keepTokenHash: self ? actor.tokenHash : null,
      });
      change("password", PASSWORD_HIDDEN, PASSWORD_CHANGED);
      after.logout_devices = input.logoutDevices;
    }
    if (input.deactivated === true && !current.deactivated) {
      gone = [...gone, ...(await writeDeactivation(t, userId, { erase: false }))];
      change("deactivated", false, true);
    } else if (input.deactivated === false && current.deactivated) {
      await writeReactivation(t, userId);
      change("deactivated", true, false);
      if (current.erased) change("erased", true, false);
    }
    if (input.locked !== undefined && input.locked !== current.locked) {
      await t.users.setLocked(userId, input.locked);
      change("locked", current.locked, input.locked);
    }
    if (input.userType !== undefined && input.userType !== current.userType) {
      await t.users.setUserType(userId, input.userType);
      change("user_type", current.userType, input.userType);
    }
    if (Object.keys(after).length > 0) await recordAudit(t, ctx, actor, "user.modify", userId, before, after);
    return { response: await userResponse(t, (await t.users.get(userId))!), deleted: gone };
  });
  await deviceListChanged(ctx.stores, userId, deleted);
  return response;
}

// ---------------------------------------------------------------------------------------------------------------
// The one-field endpoints

/** Python's truth value, which Synapse applies to `PUT /users/{id}/admin`'s `admin`. */
function pythonTruthy(v: unknown): boolean {
  if (v === null || v === undefined || v === false || v === 0 || v === "") return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === "object") return Object.keys(v).length > 0;
  return true;
}

/** `PUT /_synapse/admin/v1/users/{userId}/admin` `{"admin": …}` (any JSON value, read as Python reads truth). */
export async function setAdminFlag(
  ctx: AccountsContext,
  actor: AdminActor,
  userId: string,
  body: Record<string, unknown>,
): Promise<void> {
  missingParams(body, ["admin"]);
  localUserId(ctx, userId, "Only local users can be admins of this homeserver");
  const admin = pythonTruthy(body.admin);
  if (userId === actor.userId && !admin) throw new MatrixError(ErrCode.Unknown, "You may not demote yourself.");
  await ctx.stores.transaction(async (t) => {
    const user = await t.users.get(userId);
    if (!user) throw new MatrixError(ErrCode.NotFound, "User not found");
    if (user.admin === admin) return;
    await t.users.setAdmin(userId, admin);
    await recordAudit(t, ctx, actor, "user.set_admin", userId, { admin: user.admin }, { admin });
  });
}

/** `POST /_synapse/admin/v1/deactivate/{userId}` `{"erase": bool}`. */
export async function adminDeactivate(
  ctx: AccountsContext,
  actor: AdminActor,
  userId: string,
  readBody: () => Record<string, unknown>,
): Promise<{ id_server_unbind_result: "success" }> {
  await existingUser(ctx, userId, "Can only deactivate local users");
  const body = readBody();
  const erase = optionalBoolean(body, "erase", "Param 'erase' must be a boolean, if given", ErrCode.BadJson) ?? false;
  const deleted = await ctx.stores.transaction(async (t) => {
    const user = await t.users.get(userId);
    if (!user) throw new MatrixError(ErrCode.NotFound, "User not found");
    const gone = await writeDeactivation(t, userId, { erase });
    const before: Record<string, unknown> = { deactivated: user.deactivated };
    const after: Record<string, unknown> = { deactivated: true, erase };
    if (gone.length > 0) after.devices_deleted = gone;
    if (erase) {
      Object.assign(before, { displayname: user.displayname, avatar_url: user.avatarUrl, erased: user.erased });
      Object.assign(after, { displayname: null, avatar_url: null, erased: true });
    }
    await recordAudit(t, ctx, actor, "user.deactivate", userId, before, after);
    return gone;
  });
  await deviceListChanged(ctx.stores, userId, deleted);
  // Nothing is bound to an identity server, so every unbind "succeeded" (Synapse's answer with no 3PIDs bound).
  return { id_server_unbind_result: "success" };
}

/** `POST /_synapse/admin/v1/reset_password/{userId}` `{"new_password", "logout_devices"}`. */
export async function resetPassword(
  ctx: AccountsContext,
  actor: AdminActor,
  userId: string,
  body: Record<string, unknown>,
): Promise<void> {
  parseUserId(userId);
  missingParams(body, ["new_password"]);
  checkAdminPassword(body.new_password);
  const logoutDevices =
    optionalBoolean(body, "logout_devices", "'logout_devices' parameter is not of type boolean") ?? true;
  const hash = await hashNewPassword(ctx, body.new_password);
  const self = userId === actor.userId;
  const deleted = await ctx.stores.transaction(async (t) => {
    const gone = await writePassword(t, userId, hash, {
      logoutDevices,
      keepDeviceId: self ? actor.deviceId : null,
      keepTokenHash: self ? actor.tokenHash : null,
    });
    await recordAudit(
      t,
      ctx,
      actor,
      "user.reset_password",
      userId,
      { password: PASSWORD_HIDDEN },
      { password: PASSWORD_CHANGED, logout_devices: logoutDevices },
    );
    return gone;
  });
  await deviceListChanged(ctx.stores, userId, deleted);
}

/**
 * `POST /_synapse/admin/v1/users/{userId}/login` `{"valid_until_ms"}`: a token that acts as the user, with no
 * device. It belongs to the user (`puppets_user_id` names the admin who asked), so the user's own `/logout/all`, a
 * password reset with logout or deactivation revoke it; it is never written to the audit log.
 */
export async function loginAsUser(
  ctx: AccountsContext,
  actor: AdminActor,
  userId: string,
  body: Record<string, unknown>,
): Promise<{ access_token: string }> {
  const { localpart } = localUserId(ctx, userId, "Only local users can be logged in as");
  const validUntil = body.valid_until_ms;
  if (validUntil !== undefined && validUntil !== null && !Number.isSafeInteger(validUntil)) {
    throw new MatrixError(ErrCode.Unknown, "'valid_until_ms' parameter must be an int");
  }
  if (userId === actor.userId) throw new MatrixError(ErrCode.Unknown, "Cannot use admin API to login as self");
  const validUntilMs = typeof validUntil === "number" ? validUntil : null;
  const token = generateAccessToken(localpart);
  await ctx.stores.transaction(async (t) => {
    if (!(await t.users.get(userId))) throw new MatrixError(ErrCode.NotFound, "User not found");
    await t.accessTokens.insert({
      tokenHash: hashToken(token),
      userId,
      deviceId: null,
      createdTs: ctx.now(),
      validUntilMs,
      puppetsUserId: actor.userId,
    });
    await recordAudit(t, ctx, actor, "user.login_as", userId, {}, { valid_until_ms: validUntilMs });
  });
  return { access_token: token };
}

/** `POST`/`DELETE /_synapse/admin/v1/users/{userId}/shadow_ban`. */
export async function setShadowBan(
  ctx: AccountsContext,
  actor: AdminActor,
  userId: string,
  shadowBanned: boolean,
): Promise<void> {
  localUserId(ctx, userId, "Only local users can be shadow-banned");
  await ctx.stores.transaction(async (t) => {
    const user = await t.users.get(userId);
    if (!user) throw new MatrixError(ErrCode.NotFound, "User not found");
    if (user.shadowBanned === shadowBanned) return;
    await t.users.setShadowBanned(userId, shadowBanned);
    await recordAudit(
      t,
      ctx,
      actor,
      shadowBanned ? "user.shadow_ban" : "user.shadow_unban",
      userId,
      { shadow_banned: user.shadowBanned },
      { shadow_banned: shadowBanned },
    );
  });
}

/** `PUT /_synapse/admin/v1/suspend/{userId}` `{"suspend": bool}` → `{"user_<id>_suspended": bool}`. */
export async function setSuspended(
  ctx: AccountsContext,
  actor: AdminActor,
  userId: string,
  readBody: () => Record<string, unknown>,
): Promise<Record<string, boolean>> {
  await existingUser(ctx, userId, "Can only suspend local users");
  const body = readBody();
  if (typeof body.suspend !== "boolean") throw new MatrixError(ErrCode.BadJson, "'suspend' must be a boolean");
  const suspend = body.suspend;
  await ctx.stores.transaction(async (t) => {
    const user = await t.users.get(userId);
    if (!user) throw new MatrixError(ErrCode.NotFound, "User not found");
    if (user.suspended === suspend) return;
    await t.users.setSuspended(userId, suspend);
    await recordAudit(
      t,
      ctx,
      actor,
      suspend ? "user.suspend" : "user.unsuspend",
      userId,
      { suspended: user.suspended },
      { suspended: suspend },
    );
  });
  return { [`user_${userId}_suspended`]: suspend };
}
