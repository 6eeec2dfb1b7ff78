/**
 * @module The `m.login.password` UIA stage for operations on one's own account (password change, deactivation,
 * device deletion, login tokens): the password must be right and belong to the requester.
 */
import { ErrCode, MatrixError } from "../errors.js";
import type { ServerContext } from "./context.js";
import { validatePasswordLogin } from "./login.js";
import { AuthType, checkUiAuth, type StageChecker, type UiaResult } from "./uia.js";
import { userIdFor } from "./user-id.js";

export function passwordStageChecker(sc: ServerContext, requesterUserId: string): StageChecker {
  return async (auth) => {
    if (typeof auth.password !== "string") throw new MatrixError(ErrCode.InvalidParam, "Bad parameter: password");
    const identifier = (auth.identifier ??
      (auth.user !== undefined ? { type: "m.id.user", user: auth.user } : null)) as Record<string, unknown> | null;
    let userId = requesterUserId;
    if (identifier) {
      if (identifier.type !== "m.id.user" || typeof identifier.user !== "string") {
        throw new MatrixError(ErrCode.Unknown, "Unknown login identifier type");
      }
      const u = identifier.user;
      userId = u.startsWith("@") ? u : userIdFor(u, sc.config.server_name);
    }
    const user = await validatePasswordLogin(sc, userId, auth.password);
    if (user.userId !== requesterUserId) throw new MatrixError(ErrCode.Forbidden, "Invalid auth");
    return user.userId;
  };
}

export interface ReauthRequest {
  uri: string;
  method: string;
  /** The request body; `auth` is removed from it. */
  body: Record<string, unknown>;
  /** What the client is asked to confirm, in Synapse's words ("deactivate your account"). */
  description: string;
}

/**
 * Synapse's `validate_user_via_ui_auth`: one flow, `[m.login.password]`, and the identity proven must be the
 * requester's. A session completed by one user cannot be replayed with another user's token.
 */
export async function validateUserViaUiAuth(
  sc: ServerContext,
  requesterUserId: string,
  req: ReauthRequest,
): Promise<UiaResult> {
  const result = await checkUiAuth(sc.accounts, {
    ...req,
    flows: [[AuthType.Password]],
    checkers: { [AuthType.Password]: passwordStageChecker(sc, requesterUserId) },
  });
  if (result.completed.get(AuthType.Password) !== requesterUserId) {
    throw new MatrixError(ErrCode.Forbidden, "Invalid auth");
  }
  return result;
}
