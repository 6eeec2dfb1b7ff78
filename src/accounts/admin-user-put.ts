/**
 * @module `PUT /_synapse/admin/v2/users/{userId}`: create an account or change the fields the body names.
 *
 * Accounts are created by `registerUser` (username rules, password policy), passwords go through
 * `hashNewPassword`/`writePassword` (the policy applies to admins too), deactivation through `writeDeactivation`.
 * What this module adds is Synapse's request shapes and words, and atomicity: a request's changes and its audit
 * entry land in one transaction, so a refused field leaves nothing half-applied (Synapse applies the fields of a
 * `PUT` one by one).
 */
import { isUniqueViolation } from "../db/database.js";
import type { Tables } from "../db/stores.js";
import type { User } from "../db/users.js";
import { ErrCode, MatrixError } from "../errors.js";
import { deviceListChanged, recordDeviceListChange } from "../keys/device-lists.js";
import { inStreamTransaction } from "../sync/stream.js";
import { hashNewPassword, writeDeactivation, writePassword, writeReactivation } from "./account.js";
import type { ExternalIdInput, ThreepidInput, UserPutCommand } from "./admin-user-commands.js";
import { localUserId } from "./admin-user-ids.js";
import { userResponse, type AdminUserResponse } from "./admin-user-response.js";
import { PASSWORD_CHANGED, PASSWORD_HIDDEN, PASSWORD_SET, recordAudit, type AdminActor } from "./audit.js";
import type { AccountsContext } from "./context.js";
import { registerUser } from "./registration.js";

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
  readCommand: () => UserPutCommand,
): Promise<PutUserResult> {
  const { localpart } = localUserId(ctx, userId, "This endpoint can only be used with local users");
  const input = readCommand();
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
  readCommand: () => UserPutCommand,
): Promise<AdminUserResponse> {
  const { localpart } = localUserId(ctx, userId, "This endpoint can only be used with local users");
  return createUser(ctx, actor, userId, localpart, readCommand());
}

async function createUser(
  ctx: AccountsContext,
  actor: AdminActor,
  userId: string,
  localpart: string,
  input: UserPutCommand,
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
  await ctx.userHooks.userChanged(userId);
  return created!;
}

async function modifyUser(
  ctx: AccountsContext,
  actor: AdminActor,
  user: User,
  input: UserPutCommand,
): Promise<AdminUserResponse> {
  const userId = user.userId;
  if (input.admin === false && user.admin && userId === actor.userId) {
    throw new MatrixError(ErrCode.Unknown, "You may not demote yourself.");
  }
  // Hashing (and the policy and the password switch) before the transaction: a refusal writes nothing.
  const hash = input.password === undefined ? null : await hashNewPassword(ctx, input.password);
  const now = ctx.now();
  const self = userId === actor.userId;
  const response = await inStreamTransaction(ctx.stores, async (t, writer) => {
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
    await recordDeviceListChange(t, writer, userId, gone);
    return userResponse(t, (await t.users.get(userId))!);
  });
  await ctx.userHooks.userChanged(userId);
  return response;
}
