/**
 * @module User IDs in the admin API's paths, read as Synapse reads them: the parsed ID, the local-only check with
 * each endpoint's words, and the account that must exist.
 */
import type { User } from "../db/users.js";
import { ErrCode, MatrixError } from "../errors.js";
import type { AccountsContext } from "./context.js";

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
