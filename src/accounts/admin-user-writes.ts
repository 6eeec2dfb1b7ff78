/**
 * @module The admin API's one-field changes to an account: the admin flag, deactivation, a new password, the
 * shadow-ban, suspension. Each change and its audit entry land in one transaction.
 */
import { ErrCode, MatrixError } from "../errors.js";
import { withDeviceListChange } from "../keys/device-lists.js";
import { hashNewPassword, writeDeactivation, writePassword } from "./account.js";
import type {
  DeactivateCommand,
  ResetPasswordCommand,
  SetAdminCommand,
  SuspendCommand,
} from "./admin-user-commands.js";
import { existingUser, localUserId, parseUserId } from "./admin-user-ids.js";
import { PASSWORD_CHANGED, PASSWORD_HIDDEN, recordAudit, type AdminActor } from "./audit.js";
import type { AccountsContext } from "./context.js";

/** `PUT /_synapse/admin/v1/users/{userId}/admin` `{"admin": …}` (any JSON value, read as Python reads truth). */
export async function setAdminFlag(
  ctx: AccountsContext,
  actor: AdminActor,
  userId: string,
  { admin }: SetAdminCommand,
): Promise<void> {
  localUserId(ctx, userId, "Only local users can be admins of this homeserver");
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
  readCommand: () => DeactivateCommand,
): Promise<{ id_server_unbind_result: "success" }> {
  await existingUser(ctx, userId, "Can only deactivate local users");
  const { erase } = readCommand();
  await withDeviceListChange(ctx.stores, userId, async (t) => {
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
  await ctx.userHooks.userChanged(userId);
  // Nothing is bound to an identity server, so every unbind "succeeded" (Synapse's answer with no 3PIDs bound).
  return { id_server_unbind_result: "success" };
}

/** `POST /_synapse/admin/v1/reset_password/{userId}` `{"new_password", "logout_devices"}`. */
export async function resetPassword(
  ctx: AccountsContext,
  actor: AdminActor,
  userId: string,
  { newPassword, logoutDevices }: ResetPasswordCommand,
): Promise<void> {
  parseUserId(userId);
  const hash = await hashNewPassword(ctx, newPassword);
  const self = userId === actor.userId;
  await withDeviceListChange(ctx.stores, userId, async (t) => {
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
  readCommand: () => SuspendCommand,
): Promise<Record<string, boolean>> {
  await existingUser(ctx, userId, "Can only suspend local users");
  const { suspend } = readCommand();
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
