/**
 * @module Changing an account's password and deactivating an account: the one path the client API, and later the
 * admin API and the CLI, go through.
 *
 * `setPassword` is where a password is replaced, whoever asks: policy, hashing, the write and the logout of other
 * sessions land together or not at all. `deactivateAccount` is the same for deactivation. The admin API, which
 * changes several things in one transaction (and records them in the audit log there), calls the parts:
 * `hashNewPassword` before its transaction, `writePassword` and `writeDeactivation` inside it.
 */
import type { Tables } from "../db/stores.js";
import { ErrCode, MatrixError } from "../errors.js";
import { withDeviceListChange } from "../keys/device-lists.js";
import type { Requester } from "./auth.js";
import type { AccountsContext, ServerContext } from "./context.js";
import { MAX_PASSWORD_LENGTH, checkPasswordPolicy } from "./password-policy.js";
import { UiaIncompleteError, type UiaResult } from "./uia.js";
import { validateUserViaUiAuth } from "./uia-password.js";

/** A password already hashed (a UIA session stored it when the password arrived); policy was checked then. */
export interface PasswordHash {
  hash: string;
}

export interface SetPasswordOptions {
  /** Log out every other session: all devices but `keepDeviceId`, all tokens but `keepTokenHash`. */
  logoutDevices: boolean;
  /** The requester's device, kept when `logoutDevices`; null (admin, CLI) keeps none. */
  keepDeviceId?: string | null;
  /** The requester's access token (its hash), kept when `logoutDevices`; null keeps none. */
  keepTokenHash?: string | null;
}

function requirePasswordChange(ctx: AccountsContext): void {
  if (!ctx.passwordChangeEnabled) throw new MatrixError(ErrCode.Forbidden, "Password change disabled");
}

/**
 * Everything before a new password may be written: the `password_config` switch, then for a plain password the
 * policy (every path, the operator's own tools included) and hashing. Returns the hash to store.
 */
export async function hashNewPassword(ctx: AccountsContext, newPassword: string | PasswordHash): Promise<string> {
  requirePasswordChange(ctx);
  if (typeof newPassword !== "string") return newPassword.hash;
  checkPasswordPolicy(newPassword, ctx.passwordPolicy);
  return ctx.hasher.hash(newPassword);
}

/**
 * The new password of a change or a reset, checked before any UIA so a client hears about a weak password before it
 * asks for the old one (or a mailed link). Synapse tests `if new_password:`, so an empty string counts as absent.
 * Synapse says "Password change disabled" only after UIA; saying it first spares the user a step for nothing.
 */
export function newPasswordFrom(ctx: AccountsContext, body: { new_password?: unknown }): string | null {
  const newPassword = typeof body.new_password === "string" && body.new_password !== "" ? body.new_password : null;
  if (newPassword !== null) checkPasswordPolicy(newPassword, ctx.passwordPolicy);
  requirePasswordChange(ctx);
  return newPassword;
}

/**
 * The UIA of a password change or reset, and the hash to write. The new password never enters the session's client
 * data: while the UIA is incomplete it is hashed into the session's server data (on the bounded queue: the reset is
 * unauthenticated), so the request that completes the last stage need not send it again.
 */
export async function uiaForNewPassword(
  ctx: AccountsContext,
  newPassword: string | null,
  validate: () => Promise<UiaResult>,
): Promise<{ result: UiaResult; hash: string }> {
  let result;
  try {
    result = await validate();
  } catch (err) {
    if (err instanceof UiaIncompleteError && newPassword !== null) {
      await ctx.stores.uiAuthSessions.setServerValue(
        err.body.session,
        "password_hash",
        await ctx.hasher.hash(newPassword, { bounded: true }),
      );
    }
    throw err;
  }
  const stored = result.session.serverdict.password_hash;
  const hash =
    newPassword !== null
      ? await ctx.hasher.hash(newPassword, { bounded: true })
      : typeof stored === "string"
        ? stored
        : null;
  if (hash === null) throw new MatrixError(ErrCode.MissingParam, "Missing params: password");
  return { result, hash };
}

/**
 * The writes of a password change, inside the caller's transaction: the hash, and with `logoutDevices` every other
 * session. Returns the devices that went; the caller records them as a device-list change in the same transaction.
 */
export async function writePassword(
  t: Tables,
  userId: string,
  hash: string,
  options: SetPasswordOptions,
): Promise<string[]> {
  const keepDeviceId = options.keepDeviceId ?? null;
  const keepTokenHash = options.keepTokenHash ?? null;
  if (!(await t.users.get(userId))) throw new MatrixError(ErrCode.NotFound, "Unknown user");
  await t.users.setPasswordHash(userId, hash);
  if (!options.logoutDevices) return [];
  // The kept access token may have come with a refresh token; that one stays too, or the session could not renew.
  const kept = keepTokenHash === null ? null : await t.accessTokens.getByHash(keepTokenHash);
  const gone: string[] = [];
  for (const d of await t.devices.listForUser(userId)) {
    if (d.deviceId !== keepDeviceId && (await t.devices.delete(userId, d.deviceId))) gone.push(d.deviceId);
  }
  await t.accessTokens.deleteForUser(userId, keepTokenHash);
  await t.refreshTokens.deleteForUser(userId, kept?.refreshTokenHash ?? null);
  return gone;
}

/**
 * Replaces `userId`'s password: `hashNewPassword`, then `writePassword` in one transaction, so the hash and the
 * logout of other sessions land together or not at all.
 */
export async function setPassword(
  ctx: AccountsContext,
  userId: string,
  newPassword: string | PasswordHash,
  options: SetPasswordOptions,
): Promise<void> {
  const hash = await hashNewPassword(ctx, newPassword);
  await withDeviceListChange(ctx.stores, userId, (t) => writePassword(t, userId, hash, options));
}

export interface ChangePasswordRequest {
  uri: string;
  method: string;
  body: Record<string, unknown>;
}

/** https://spec.matrix.org/v1.16/client-server-api/#post_matrixclientv3accountpassword */
export interface ChangePasswordBody {
  new_password?: string | null;
  logout_devices?: boolean;
}

export function parseChangePassword(body: Record<string, unknown>): ChangePasswordBody {
  const p = body.new_password;
  if (p !== undefined && p !== null && (typeof p !== "string" || [...p].length > MAX_PASSWORD_LENGTH)) {
    throw new MatrixError(
      ErrCode.BadJson,
      `new_password must be a string of at most ${MAX_PASSWORD_LENGTH} characters`,
    );
  }
  const logout = body.logout_devices;
  if ("logout_devices" in body && typeof logout !== "boolean") {
    throw new MatrixError(ErrCode.BadJson, "logout_devices must be a boolean");
  }
  const parsed: ChangePasswordBody = {};
  if (typeof p === "string") parsed.new_password = p;
  if (typeof logout === "boolean") parsed.logout_devices = logout;
  return parsed;
}

/**
 * `POST /account/password` with an access token, in Synapse's order: the body, the policy (before any UIA, so a
 * client hears about a weak password before it asks for the old one), UIA `[m.login.password]`, then `setPassword`.
 * The new password never enters the session's client data: it is hashed into the session's server data instead.
 */
export async function changePassword(
  sc: ServerContext,
  requester: Requester,
  req: ChangePasswordRequest,
): Promise<void> {
  const { accounts } = sc;
  const newPassword = newPasswordFrom(accounts, parseChangePassword(req.body));
  const { result, hash } = await uiaForNewPassword(accounts, newPassword, () =>
    validateUserViaUiAuth(sc, requester.userId, {
      uri: req.uri,
      method: req.method,
      body: req.body,
      description: "modify your account password",
    }),
  );
  const logoutDevices = typeof result.params.logout_devices === "boolean" ? result.params.logout_devices : true;
  await setPassword(
    accounts,
    requester.userId,
    { hash },
    {
      logoutDevices,
      keepDeviceId: requester.deviceId,
      keepTokenHash: requester.tokenHash,
    },
  );
}

export interface DeactivateOptions {
  /** Also forget the profile (display name, avatar), as Synapse's `erase`. */
  erase: boolean;
}

export interface DeactivateResult {
  /** No identity servers are bound, so none is ever unbound. */
  idServerUnbindResult: "success" | "no-support";
}

/**
 * The writes of a deactivation, inside the caller's transaction: every device (their keys cascade), access,
 * refresh and login token goes, third-party identifiers and server-side key backups are removed, the password hash
 * is cleared and the account is flagged (with `erase`, the profile is forgotten and the account marked erased).
 * Returns the devices that went.
 */
export async function writeDeactivation(t: Tables, userId: string, options: DeactivateOptions): Promise<string[]> {
  if (!(await t.users.get(userId))) throw new MatrixError(ErrCode.NotFound, "User not found");
  const devices = await t.devices.listForUser(userId);
  for (const d of devices) await t.devices.delete(userId, d.deviceId);
  await t.accessTokens.deleteForUser(userId);
  await t.refreshTokens.deleteForUser(userId);
  await t.loginTokens.deleteForUser(userId);
  await t.threepids.deleteForUser(userId);
  await t.users.setPasswordHash(userId, null);
  // Synapse's `bulk_delete_backup_keys_and_versions_for_user`: nobody can read them any more.
  await t.roomKeyBackupVersions.deleteForUser(userId);
  if (options.erase) {
    await t.users.setProfile(userId, { displayname: null, avatarUrl: null });
    await t.users.setErased(userId, true);
  }
  await t.users.setDeactivated(userId, true);
  return devices.map((d) => d.deviceId);
}

/**
 * Reactivates `userId` inside the caller's transaction, as Synapse's `activate_account`: the account is active and
 * no longer erased. Nothing that deactivation removed comes back (password, devices, 3PIDs): an admin sets a new
 * password for the user to log in again.
 */
export async function writeReactivation(t: Tables, userId: string): Promise<void> {
  if (!(await t.users.get(userId))) throw new MatrixError(ErrCode.NotFound, "User not found");
  await t.users.setErased(userId, false);
  await t.users.setDeactivated(userId, false);
}

/**
 * Deactivates `userId` in one transaction (`writeDeactivation`). The user ID stays taken for good.
 */
export async function deactivateAccount(
  ctx: AccountsContext,
  userId: string,
  options: DeactivateOptions,
): Promise<DeactivateResult> {
  await withDeviceListChange(ctx.stores, userId, (t) => writeDeactivation(t, userId, options));
  await ctx.userHooks.userChanged(userId);
  return { idServerUnbindResult: "no-support" };
}

export interface DeactivateRequest {
  uri: string;
  method: string;
  body: Record<string, unknown>;
}

/** https://spec.matrix.org/v1.16/client-server-api/#post_matrixclientv3accountdeactivate */
export interface DeactivateAccountBody {
  erase?: boolean;
  id_server?: string | null;
}

function parseDeactivate(body: Record<string, unknown>): DeactivateAccountBody {
  const { erase, id_server: idServer } = body;
  if ("erase" in body && typeof erase !== "boolean") throw new MatrixError(ErrCode.BadJson, "erase must be a boolean");
  if (idServer !== undefined && idServer !== null && typeof idServer !== "string") {
    throw new MatrixError(ErrCode.BadJson, "id_server must be a string");
  }
  const parsed: DeactivateAccountBody = {};
  if (typeof erase === "boolean") parsed.erase = erase;
  if (typeof idServer === "string") parsed.id_server = idServer;
  return parsed;
}

/** `POST /account/deactivate`: UIA `[m.login.password]` ("deactivate your account"), then `deactivateAccount`. */
export async function deactivateOwnAccount(
  sc: ServerContext,
  requester: Requester,
  req: DeactivateRequest,
): Promise<DeactivateResult> {
  parseDeactivate(req.body);
  const { params } = await validateUserViaUiAuth(sc, requester.userId, {
    uri: req.uri,
    method: req.method,
    body: req.body,
    description: "deactivate your account",
  });
  return deactivateAccount(sc.accounts, requester.userId, { erase: params.erase === true });
}
