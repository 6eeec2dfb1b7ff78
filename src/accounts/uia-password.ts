/**
 * @module The `m.login.password` UIA stage for operations on one's own account (password change, deactivation,
 * device deletion, login tokens): the one path every endpoint that re-authenticates its requester goes through.
 *
 * The identifier must name the requester, checked before any password is: a stage that verified another account's
 * password would answer "right" or "wrong" for it, outside every login limit. Every failure, another user's name
 * included, counts in the requester's `rc_login.failed_attempts` bucket, the one `/login` uses.
 */
import { ErrCode, MatrixError } from "../errors.js";
import type { ServerContext } from "./context.js";
import { validatePasswordLogin } from "./login.js";
import {
  AuthType,
  checkUiAuth,
  UIA_REQUEST_USER_ID,
  UiaRefusedError,
  type StageChecker,
  type UiaResult,
} from "./uia.js";
import { userIdFor } from "./user-id.js";

const INVALID_AUTH = "Invalid auth";

function invalidAuth(): UiaRefusedError {
  return new UiaRefusedError(ErrCode.Forbidden, INVALID_AUTH);
}

/** The user ID an `m.login.password` auth dict names; the requester when it names none. */
function namedUserId(sc: ServerContext, auth: Record<string, unknown>, requesterUserId: string): string {
  const identifier = (auth.identifier ??
    (auth.user !== undefined ? { type: "m.id.user", user: auth.user } : null)) as Record<string, unknown> | null;
  if (!identifier) return requesterUserId;
  if (identifier.type !== "m.id.user" || typeof identifier.user !== "string") {
    throw new MatrixError(ErrCode.Unknown, "Unknown login identifier type");
  }
  const u = identifier.user;
  return u.startsWith("@") ? u : userIdFor(u, sc.config.server_name);
}

function passwordStageChecker(sc: ServerContext, requesterUserId: string): StageChecker {
  return async (auth) => {
    if (typeof auth.password !== "string") throw new MatrixError(ErrCode.InvalidParam, "Bad parameter: password");
    // Logins ignore case, so "ALICE" is alice; any other account is refused without looking at the password.
    if (namedUserId(sc, auth, requesterUserId).toLowerCase() !== requesterUserId.toLowerCase()) {
      const { limiter, config } = sc;
      await limiter.check("rc_login.failed_attempts", requesterUserId.toLowerCase(), config.rc_login.failed_attempts);
      throw invalidAuth();
    }
    const user = await validatePasswordLogin(sc, requesterUserId, auth.password);
    if (user.userId !== requesterUserId) throw invalidAuth();
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
 * `m.login.sso` is finished out of band, by the fallback page's trip through the provider, which records the user
 * the provider vouched for; answering with the stage's type then only reads that record.
 */
function ssoStageChecker(sc: ServerContext): StageChecker {
  return async (_auth, session) => {
    const done = (await sc.accounts.stores.uiAuthSessions.completedStages(session.sessionId)).get(AuthType.Sso);
    if (done === undefined) throw new MatrixError(ErrCode.Unauthorized, "Complete the SSO stage in the fallback page");
    return done;
  };
}

/**
 * Synapse's `validate_user_via_ui_auth`: `[m.login.password]` for accounts with a password, `[m.login.sso]` for
 * accounts linked to a configured identity provider; the identity proven must be the requester's. A session
 * completed by one user cannot be replayed with another user's token: 403 "Invalid auth".
 */
export async function validateUserViaUiAuth(
  sc: ServerContext,
  requesterUserId: string,
  req: ReauthRequest,
): Promise<UiaResult> {
  const user = await sc.accounts.stores.users.get(requesterUserId);
  const providers = new Set(sc.config.oidc_providers.map((p) => p.idp_id));
  const linked = (await sc.accounts.stores.externalIds.listForUser(requesterUserId)).some((e) =>
    providers.has(e.authProvider),
  );
  const flows = [...(user?.passwordHash || !linked ? [[AuthType.Password]] : []), ...(linked ? [[AuthType.Sso]] : [])];
  const result = await checkUiAuth(sc.accounts, {
    ...req,
    flows,
    checkers: { [AuthType.Password]: passwordStageChecker(sc, requesterUserId), [AuthType.Sso]: ssoStageChecker(sc) },
    serverdict: { [UIA_REQUEST_USER_ID]: requesterUserId },
  });
  const proven = result.completed.get(AuthType.Password) ?? result.completed.get(AuthType.Sso);
  if (proven !== requesterUserId) throw invalidAuth();
  return result;
}
