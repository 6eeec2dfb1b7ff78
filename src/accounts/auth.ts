/**
 * @module Who is asking: resolves an access token to a requester, with Synapse's errcodes for every refusal.
 */
import { ErrCode, MatrixError } from "../http/errors.js";
import type { AccountsContext } from "./context.js";
import { hashToken } from "./tokens.js";

export interface Requester {
  userId: string;
  deviceId: string | null;
  isGuest: boolean;
  admin: boolean;
  /** The stored hash of the token used, so logout can revoke exactly it. */
  tokenHash: string;
}

export async function authenticate(ctx: AccountsContext, token: string): Promise<Requester> {
  const tokenHash = hashToken(token);
  const record = await ctx.stores.accessTokens.getByHash(tokenHash);
  if (!record) {
    throw new MatrixError(ErrCode.UnknownToken, "Unrecognised access token", { extra: { soft_logout: false } });
  }
  if (record.validUntilMs !== null && record.validUntilMs < ctx.now()) {
    throw new MatrixError(ErrCode.UnknownToken, "Access token has expired", { extra: { soft_logout: true } });
  }
  const user = await ctx.stores.users.get(record.userId);
  if (!user || user.deactivated) {
    throw new MatrixError(ErrCode.UnknownToken, "Unrecognised access token", { extra: { soft_logout: false } });
  }
  if (user.locked) {
    throw new MatrixError(ErrCode.UserLocked, "User account has been locked", { extra: { soft_logout: true } });
  }
  return { userId: user.userId, deviceId: record.deviceId, isGuest: user.isGuest, admin: user.admin, tokenHash };
}
