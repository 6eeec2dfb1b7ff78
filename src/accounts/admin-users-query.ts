/**
 * @module The admin API's reads of accounts: look one up, list them a page at a time, read the admin flag, check
 * that a username is free.
 */
import type { UserListQuery } from "../db/users.js";
import { localUserId, existingUser } from "./admin-user-ids.js";
import { listedUser, userResponse, type AdminUserListResponse, type AdminUserResponse } from "./admin-user-response.js";
import type { AccountsContext } from "./context.js";
import { checkUsername } from "./username.js";

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
