/**
 * @module `POST /_synapse/admin/v1/users/{userId}/login`: an admin logs in as a user.
 */
import { ErrCode, MatrixError } from "../errors.js";
import { localUserId } from "./admin-user-ids.js";
import { recordAudit, type AdminActor } from "./audit.js";
import type { AccountsContext } from "./context.js";
import { generateAccessToken, hashToken } from "./tokens.js";

/**
 * `POST /_synapse/admin/v1/users/{userId}/login` `{"valid_until_ms"}`: a token that acts as the user, with no
 * device. It belongs to the user (`puppets_user_id` names the admin who asked), so the user's own `/logout/all`, a
 * password reset with logout or deactivation revoke it; it is never written to the audit log.
 */
export async function loginAsUser(
  ctx: AccountsContext,
  actor: AdminActor,
  userId: string,
  body: Record<string, unknown>,
): Promise<{ access_token: string }> {
  const { localpart } = localUserId(ctx, userId, "Only local users can be logged in as");
  const validUntil = body.valid_until_ms;
  if (validUntil !== undefined && validUntil !== null && !Number.isSafeInteger(validUntil)) {
    throw new MatrixError(ErrCode.Unknown, "'valid_until_ms' parameter must be an int");
  }
  if (userId === actor.userId) throw new MatrixError(ErrCode.Unknown, "Cannot use admin API to login as self");
  const validUntilMs = typeof validUntil === "number" ? validUntil : null;
  const token = generateAccessToken(localpart);
  await ctx.stores.transaction(async (t) => {
    if (!(await t.users.get(userId))) throw new MatrixError(ErrCode.NotFound, "User not found");
    await t.accessTokens.insert({
      tokenHash: hashToken(token),
      userId,
      deviceId: null,
      createdTs: ctx.now(),
      validUntilMs,
      puppetsUserId: actor.userId,
    });
    await recordAudit(t, ctx, actor, "user.login_as", userId, {}, { valid_until_ms: validUntilMs });
  });
  return { access_token: token };
}
