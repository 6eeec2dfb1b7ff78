/**
 * @module Profiles: a user's display name and avatar, read by anyone and set by the user (or an admin).
 *
 * Gatehouse has no federation yet, so a user of another server has no profile here (404). Limits and messages are
 * Synapse's (`synapse/handlers/profile.py`), with the differences listed in docs/api.md.
 */
import type { User } from "../db/users.js";
import { ErrCode, MatrixError, refuseNul } from "../errors.js";
import type { Requester } from "./auth.js";
import type { AccountsContext } from "./context.js";

/** Synapse's `MAX_DISPLAYNAME_LEN` and `MAX_AVATAR_URL_LEN`, in code points. */
export const MAX_DISPLAYNAME_LENGTH = 256;
export const MAX_AVATAR_URL_LENGTH = 1000;

export enum ProfileField {
  Displayname = "displayname",
  AvatarUrl = "avatar_url",
}

/** https://spec.matrix.org/v1.16/client-server-api/#get_matrixclientv3profileuserid */
export interface ProfileResponse {
  displayname?: string;
  avatar_url?: string;
}

/** A server name: a DNS name, IPv4 or bracketed IPv6 literal, with an optional port. */
const SERVER_NAME = /^(\[[0-9A-Fa-f:.]{2,45}\]|[0-9A-Za-z.-]{1,255})(:[0-9]{1,5})?$/;

/** Synapse's `UserID.is_valid`: `@`, a localpart, `:`, a valid server name. */
export function isValidUserId(userId: string): boolean {
  if (!userId.startsWith("@")) return false;
  const colon = userId.indexOf(":");
  return colon > 0 && SERVER_NAME.test(userId.slice(colon + 1));
}

export function isLocal(ctx: AccountsContext, userId: string): boolean {
  return userId.slice(userId.indexOf(":") + 1) === ctx.serverName;
}

const NOT_FOUND = "Profile was not found";

/** The local account behind `userId`, or 404 (for remote users too: there is no federation to ask). */
async function profileOwner(ctx: AccountsContext, userId: string): Promise<User> {
  if (!isValidUserId(userId)) throw new MatrixError(ErrCode.InvalidParam, "Invalid user id");
  const user = isLocal(ctx, userId) ? await ctx.stores.users.get(userId) : null;
  if (!user) throw new MatrixError(ErrCode.NotFound, NOT_FOUND);
  return user;
}

/** `GET /profile/{userId}`: the fields that are set; none set is 404, as in Synapse. */
export async function getProfile(ctx: AccountsContext, userId: string): Promise<ProfileResponse> {
  const user = await profileOwner(ctx, userId);
  if (user.displayname === null && user.avatarUrl === null) throw new MatrixError(ErrCode.NotFound, NOT_FOUND);
  const body: ProfileResponse = {};
  if (user.displayname !== null) body.displayname = user.displayname;
  if (user.avatarUrl !== null) body.avatar_url = user.avatarUrl;
  return body;
}

/** `GET /profile/{userId}/{field}`: the value, null when unset (Synapse's answer). */
export async function getProfileField(
  ctx: AccountsContext,
  userId: string,
  field: ProfileField,
): Promise<string | null> {
  const user = await profileOwner(ctx, userId);
  return field === ProfileField.Displayname ? user.displayname : user.avatarUrl;
}

/**
 * A display name or avatar URL as it will be stored (null clears the field), or the refusal: the one check for
 * the client API and the admin API.
 */
export function checkProfileValue(field: ProfileField, value: unknown): string | null {
  if (typeof value !== "string") throw new MatrixError(ErrCode.InvalidParam, `'${field}' must be a string`);
  refuseNul(value, field);
  const length = [...value].length;
  if (field === ProfileField.Displayname) {
    if (length > MAX_DISPLAYNAME_LENGTH) {
      throw new MatrixError(ErrCode.TooLarge, `Displayname is too long (max ${MAX_DISPLAYNAME_LENGTH})`, {
        status: 400,
      });
    }
    // Synapse stores the name stripped, and an empty one as no name.
    return value === "" ? null : value.trim();
  }
  if (length > MAX_AVATAR_URL_LENGTH) {
    throw new MatrixError(ErrCode.TooLarge, `Avatar URL is too long (max ${MAX_AVATAR_URL_LENGTH})`, { status: 400 });
  }
  // Synapse's `set_avatar_url`: any string of at most 1000 characters (its size and type checks apply only when
  // `max_avatar_size` or `allowed_avatar_mimetypes` are configured, which Gatehouse, without media, does not have).
  if (value === "") return null;
  return value;
}

/**
 * `PUT /profile/{userId}/{field}`: only for oneself (admins may set anyone's, as in Synapse). The body must carry
 * the field; an empty string clears it.
 */
export async function setProfileField(
  ctx: AccountsContext,
  requester: Requester,
  userId: string,
  field: ProfileField,
  body: Record<string, unknown>,
): Promise<void> {
  if (!isValidUserId(userId)) throw new MatrixError(ErrCode.InvalidParam, "Invalid user id");
  if (!(field in body)) throw new MatrixError(ErrCode.MissingParam, `Missing key '${field}'`);
  if (body[field] === null) throw new MatrixError(ErrCode.InvalidParam, `'${field}' can not be \`null\`.`);
  const self = await ctx.stores.users.get(requester.userId);
  if (self?.suspended) {
    throw new MatrixError(ErrCode.UserSuspended, "Updating profile while account is suspended is not allowed.");
  }
  if (!isLocal(ctx, userId)) throw new MatrixError(ErrCode.Unknown, "User is not hosted on this homeserver");
  if (userId !== requester.userId && !requester.admin) {
    throw new MatrixError(ErrCode.Forbidden, `Cannot set another user's ${field}`);
  }
  const value = checkProfileValue(field, body[field]);
  const change = field === ProfileField.Displayname ? { displayname: value } : { avatarUrl: value };
  if (!(await ctx.stores.users.setProfile(userId, change))) throw new MatrixError(ErrCode.NotFound, NOT_FOUND);
  await ctx.userHooks.userChanged(userId);
}
