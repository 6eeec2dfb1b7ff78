/**
 * @module Password reset by e-mail: the unauthenticated `POST /account/password`, the one UIA use with no access
 * token. Its only flow is `[m.login.email.identity]` over a session opened by `/account/password/email/requestToken`
 * (whose link needs a confirmation POST, so a link prefetcher cannot validate it). The session is used up.
 */
import { ErrCode, MatrixError } from "../errors.js";
import { hashNewPassword, parseChangePassword, writePassword } from "./account.js";
import type { ServerContext } from "./context.js";
import { withDeviceListChange } from "../keys/device-lists.js";
import { checkPasswordPolicy } from "./password-policy.js";
import { requireEmailEnabled } from "./threepid-validation.js";
import { checkUiAuth, UiaIncompleteError } from "./uia.js";
import { EMAIL_IDENTITY, emailStageChecker, provenThreepid } from "./uia-email.js";

export interface ResetPasswordRequest {
  uri: string;
  method: string;
  body: Record<string, unknown>;
}

export async function resetPasswordByEmail(sc: ServerContext, req: ResetPasswordRequest): Promise<void> {
  const { accounts, config } = sc;
  requireEmailEnabled(config, "reset");
  const body = parseChangePassword(req.body);
  const newPassword = typeof body.new_password === "string" && body.new_password !== "" ? body.new_password : null;
  if (newPassword !== null) checkPasswordPolicy(newPassword, accounts.passwordPolicy);
  if (!accounts.passwordChangeEnabled) throw new MatrixError(ErrCode.Forbidden, "Password change disabled");

  let result;
  try {
    result = await checkUiAuth(accounts, {
      uri: req.uri,
      method: req.method,
      body: req.body,
      flows: [[EMAIL_IDENTITY]],
      description: "modify your account password",
      checkers: { [EMAIL_IDENTITY]: emailStageChecker(sc, "reset") },
    });
  } catch (err) {
    if (err instanceof UiaIncompleteError && newPassword !== null) {
      await accounts.stores.uiAuthSessions.setServerValue(
        err.body.session,
        "password_hash",
        await accounts.hasher.hash(newPassword, { bounded: true }),
      );
    }
    throw err;
  }
  const proven = provenThreepid(result.completed);
  if (!proven) throw new MatrixError(ErrCode.Unauthorized, "The e-mail address has not been validated");
  const owner = (await accounts.stores.threepids.owners("email", [proven.address])).get(proven.address);
  if (owner === undefined) throw new MatrixError(ErrCode.ThreepidNotFound, "Email address not found");

  const stored = result.session.serverdict.password_hash;
  const hash =
    newPassword !== null ? await hashNewPassword(accounts, newPassword) : typeof stored === "string" ? stored : null;
  if (hash === null) throw new MatrixError(ErrCode.MissingParam, "Missing params: password");
  const logoutDevices = typeof result.params.logout_devices === "boolean" ? result.params.logout_devices : true;
  await withDeviceListChange(accounts.stores, owner, async (t) => {
    const gone = await writePassword(t, owner, hash, { logoutDevices });
    // Used up with the change, so the link cannot reset the password a second time.
    await t.threepidValidation.delete(proven.sessionId);
    return gone;
  });
}
