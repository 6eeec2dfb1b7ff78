/**
 * @module Who is asking: resolves an access token to a requester, with Synapse's errcodes for every refusal.
 */
import { ErrCode, MatrixError } from "../errors.js";
import type { AccountsContext } from "./context.js";
import type { AccessTokenRecord } from "../db/access-tokens.js";
import type { User } from "../db/users.js";
import { hashToken } from "./tokens.js";

export interface Requester {
  userId: string;
  deviceId: string | null;
  isGuest: boolean;
  admin: boolean;
  /** The stored hash of the token used, so logout can revoke exactly it. */
  tokenHash: string;
  /** For a `login-as` token: the admin who made it (`puppets_user_id`); null for the user's own tokens. */
  impersonator: string | null;
}

export interface AuthenticateOptions {
  /** Logout accepts expired tokens and locked users, as Synapse's does. */
  allowExpired?: boolean;
  allowLocked?: boolean;
}

export async function authenticate(
  ctx: AccountsContext,
  token: string,
  options: AuthenticateOptions = {},
): Promise<Requester> {
  const tokenHash = hashToken(token);
  const now = ctx.now();
  const cached = ctx.sessionCache.get(tokenHash, now);
  let record: AccessTokenRecord | null;
  let user: User | null;
  if (cached) {
    ({ record, user } = cached);
  } else {
    const generation = ctx.sessionCache.generation;
    record = await ctx.stores.accessTokens.getByHash(tokenHash);
    user = record ? await ctx.stores.users.get(record.userId) : null;
    if (record && user && !(record.used === false && record.refreshTokenHash)) {
      ctx.sessionCache.set(tokenHash, { record, user }, generation, now);
    }
  }
  if (!record) {
    throw new MatrixError(ErrCode.UnknownToken, "Unrecognised access token", { extra: { soft_logout: false } });
  }
  if (!options.allowExpired && record.validUntilMs !== null && record.validUntilMs < now) {
    throw new MatrixError(ErrCode.UnknownToken, "Access token has expired", { extra: { soft_logout: true } });
  }
  if (record.used === false && record.refreshTokenHash) {
    // The first use of a refreshed access token retires the refresh token it replaced: `refresh` sees the mark
    // and answers 403 "refresh token isn't valid anymore" (Synapse's rule), so the old row stays.
    await ctx.stores.accessTokens.markUsed(tokenHash);
  }
  if (!user || user.deactivated) {
    throw new MatrixError(ErrCode.UnknownToken, "Unrecognised access token", { extra: { soft_logout: false } });
  }
  if (user.locked && !options.allowLocked) {
    throw new MatrixError(ErrCode.UserLocked, "User account has been locked", { extra: { soft_logout: true } });
  }
  return {
    userId: user.userId,
    deviceId: record.deviceId,
    isGuest: user.isGuest,
    admin: user.admin,
    tokenHash,
    impersonator: record.puppetsUserId,
  };
}

/**
 * The admin check of the admin API: the requester's admin flag as the database holds it now, not as the token
 * cache remembers it, so a demotion takes effect on the very next request. 403 `M_FORBIDDEN` otherwise.
 */
export async function assertAdmin(ctx: AccountsContext, requester: Requester): Promise<void> {
  const user = await ctx.stores.users.get(requester.userId);
  if (!user?.admin) throw new MatrixError(ErrCode.Forbidden, "You are not a server admin");
}
