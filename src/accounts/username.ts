/**
 * @module Username rules: Synapse's `check_username`, in its order, with its errcodes and messages.
 *
 * Every path that creates an account (client registration, shared-secret registration, the admin API, the CLI and
 * the console) calls `checkUsername`. Callers lower-case first where Synapse does (`/register`, shared-secret
 * registration); the admin API and availability checks do not, so upper-case there is refused by rule 1.
 */
import { ErrCode, MatrixError } from "../errors.js";
import type { UsersStore } from "../db/users.js";
import { MAX_USERID_LENGTH, userIdFor } from "./user-id.js";

const ALLOWED = /^[a-z0-9._=\-/+]*$/;

export interface UsernameRules {
  serverName: string;
  allowUnderscorePrefix: boolean;
}

export interface CheckUsernameOptions {
  /** Synapse's `inhibit_user_in_use_error`: skip the "already taken" check (the insert still refuses). */
  skipInUseCheck?: boolean;
}

/** The checks that need no database, in Synapse's order up to (not including) the "taken" check. */
export function checkLocalpartSyntax(localpart: string, rules: UsernameRules): void {
  if (!ALLOWED.test(localpart)) {
    throw new MatrixError(ErrCode.InvalidUsername, "User ID can only contain characters a-z, 0-9, or '=_-./+'");
  }
  if (localpart === "") throw new MatrixError(ErrCode.InvalidUsername, "User ID cannot be empty");
  if (localpart.startsWith("_") && !rules.allowUnderscorePrefix) {
    throw new MatrixError(ErrCode.InvalidUsername, "User ID may not begin with _");
  }
  if (userIdFor(localpart, rules.serverName).length > MAX_USERID_LENGTH) {
    throw new MatrixError(ErrCode.InvalidUsername, `User ID may not be longer than ${MAX_USERID_LENGTH} characters`);
  }
}

export async function checkUsername(
  localpart: string,
  rules: UsernameRules,
  users: UsersStore,
  options: CheckUsernameOptions = {},
): Promise<void> {
  checkLocalpartSyntax(localpart, rules);
  if (!options.skipInUseCheck) {
    const existing = await users.getCaseInsensitive(userIdFor(localpart, rules.serverName));
    if (existing.length > 0) throw new MatrixError(ErrCode.UserInUse, "User ID already taken.");
  }
  if (/^\d+$/.test(localpart)) {
    throw new MatrixError(ErrCode.InvalidUsername, "Numeric user IDs are reserved for guest users.");
  }
}
