/**
 * @module Password reset by e-mail: the unauthenticated `POST /account/password`, the one UIA use with no access
 * token. Its only flow is `[m.login.email.identity]` over a session opened by `/account/password/email/requestToken`
 * (whose link needs a confirmation POST, so a link prefetcher cannot validate it). The session is used up.
 */
import { ErrCode, MatrixError } from "../errors.js";
import { newPasswordFrom, parseChangePassword, uiaForNewPassword, writePassword } from "./account.js";
import type { ServerContext } from "./context.js";
import { withDeviceListChange } from "../keys/device-lists.js";
import { requireEmailEnabled } from "./threepid-validation.js";
import { checkUiAuth } from "./uia.js";
import { EMAIL_IDENTITY, emailStageChecker, provenThreepid } from "./uia-email.js";

export interface ResetPasswordRequest {
  uri: string;
  method: string;
  body: Record<string, unknown>;
}

export async function resetPasswordByEmail(sc: ServerContext, req: ResetPasswordRequest): Promise<void> {
  const { accounts, config } = sc;
  requireEmailEnabled(config, "reset");
  const newPassword = newPasswordFrom(accounts, parseChangePassword(req.body));
  const { result, hash } = await uiaForNewPassword(accounts, newPassword, () =>
    checkUiAuth(accounts, {
      uri: req.uri,
      method: req.method,
      body: req.body,
      flows: [[EMAIL_IDENTITY]],
      description: "modify your account password",
      checkers: { [EMAIL_IDENTITY]: emailStageChecker(sc, "reset") },
    }),
  );
  const proven = provenThreepid(result.completed);
  if (!proven) throw new MatrixError(ErrCode.Unauthorized, "The e-mail address has not been validated");
  const owner = (await accounts.stores.threepids.owners("email", [proven.address])).get(proven.address);
  if (owner === undefined) throw new MatrixError(ErrCode.ThreepidNotFound, "Email address not found");

  const logoutDevices = typeof result.params.logout_devices === "boolean" ? result.params.logout_devices : true;
  await withDeviceListChange(accounts.stores, owner, async (t) => {
    const gone = await writePassword(t, owner, hash, { logoutDevices });
    // Used up with the change, so the link cannot reset the password a second time.
    await t.threepidValidation.delete(proven.sessionId);
    return gone;
  });
}
