/**
 * @module The admin API's request bodies for accounts, read into typed commands in Synapse's order with Synapse's
 * words before anything is read or written: `PUT /v2/users/{userId}` (3PIDs, external IDs, the flags, the
 * password) and the one-field endpoints.
 *
 * The routes parse (and the admin CLI's database mode, with the same functions); the services take the commands.
 * Where Synapse checks the target account before it reads the body, the service takes `() => command`, so a
 * missing account is still reported before a bad body.
 */
import { ErrCode, MatrixError } from "../errors.js";
import { canonicalEmail } from "../shared/email.js";
import { MAX_PASSWORD_LENGTH } from "./password-policy.js";
import { ProfileField, checkProfileValue } from "./profile.js";
import { checkUserType } from "./registration.js";
import { pythonTruthy } from "../shared/truth.js";

export interface ThreepidInput {
  medium: string;
  address: string;
}

export interface ExternalIdInput {
  authProvider: string;
  externalId: string;
}

/** The body of `PUT /v2/users/{userId}`, checked: a field is undefined when the body leaves it out. */
export interface UserPutCommand {
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

/** The canonical address (`canonicalEmail`), or Synapse's 400 for one it cannot parse. */
export function canonicaliseEmail(address: string): string {
  const canonical = canonicalEmail(address);
  if (canonical === null) throw new MatrixError(ErrCode.InvalidParam, "Unable to parse email address");
  return canonical;
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
export function parseUserPut(body: Record<string, unknown>): UserPutCommand {
  const parsed: UserPutCommand = { logoutDevices: true };
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

/** `PUT /_synapse/admin/v1/users/{userId}/admin`. */
export interface SetAdminCommand {
  admin: boolean;
}

/** `admin` is required and may be any JSON value, read as Python reads truth. */
export function parseSetAdmin(body: Record<string, unknown>): SetAdminCommand {
  missingParams(body, ["admin"]);
  return { admin: pythonTruthy(body.admin) };
}

/** `POST /_synapse/admin/v1/deactivate/{userId}`. */
export interface DeactivateCommand {
  erase: boolean;
}

/** The body is optional; `erase` a boolean, false when left out. */
export function parseDeactivate(body: Record<string, unknown>): DeactivateCommand {
  return {
    erase: optionalBoolean(body, "erase", "Param 'erase' must be a boolean, if given", ErrCode.BadJson) ?? false,
  };
}

/** `POST /_synapse/admin/v1/reset_password/{userId}`. */
export interface ResetPasswordCommand {
  newPassword: string;
  logoutDevices: boolean;
}

/** `new_password` required (the admin password rule; the policy comes later), `logout_devices` true by default. */
export function parseResetPassword(body: Record<string, unknown>): ResetPasswordCommand {
  missingParams(body, ["new_password"]);
  checkAdminPassword(body.new_password);
  const logoutDevices =
    optionalBoolean(body, "logout_devices", "'logout_devices' parameter is not of type boolean") ?? true;
  return { newPassword: body.new_password, logoutDevices };
}

/** `PUT /_synapse/admin/v1/suspend/{userId}`. */
export interface SuspendCommand {
  suspend: boolean;
}

export function parseSuspend(body: Record<string, unknown>): SuspendCommand {
  if (typeof body.suspend !== "boolean") throw new MatrixError(ErrCode.BadJson, "'suspend' must be a boolean");
  return { suspend: body.suspend };
}
