/**
 * @module A user's own e-mail addresses: adding one whose link was followed (`POST /account/3pid/add`, after the
 * password stage) and removing one (`POST /account/3pid/delete`), both closed by `enable_3pid_changes: false`.
 */
import { isUniqueViolation } from "../db/database.js";
import { ErrCode, MatrixError } from "../errors.js";
import type { Requester } from "./auth.js";
import type { ServerContext } from "./context.js";
import { parseClientSecret, parseEmail, validatedThreepid } from "./threepid-validation.js";
import { validateUserViaUiAuth } from "./uia-password.js";

function requireChangesEnabled(config: ServerContext["config"]): void {
  if (!config.enable_3pid_changes) {
    throw new MatrixError(ErrCode.Forbidden, "3PID changes are disabled on this server", { status: 400 });
  }
}

export interface AddThreepidRequest {
  uri: string;
  method: string;
  body: Record<string, unknown>;
}

/** Synapse's `AddThreepidRestServlet`: body, UIA `[m.login.password]`, then the validated session is used up. */
export async function addThreepid(sc: ServerContext, requester: Requester, req: AddThreepidRequest): Promise<void> {
  const { accounts, config } = sc;
  requireChangesEnabled(config);
  for (const key of ["client_secret", "sid"]) {
    if (typeof req.body[key] !== "string") throw new MatrixError(ErrCode.MissingParam, `Missing params: ${key}`);
  }
  const clientSecret = parseClientSecret(req.body.client_secret);
  const sid = req.body.sid as string;
  await validateUserViaUiAuth(sc, requester.userId, {
    uri: req.uri,
    method: req.method,
    body: req.body,
    description: "add a third-party identifier to your account",
  });
  const proven = await validatedThreepid(sc, sid, clientSecret, "add");
  if (!proven) throw new MatrixError(ErrCode.ThreepidAuthFailed, "No validated 3pid session found");
  const now = accounts.now();
  try {
    await accounts.stores.transaction(async (t) => {
      await t.threepids.add(requester.userId, {
        medium: "email",
        address: proven.address,
        validatedAt: proven.validatedAt,
        addedAt: now,
      });
      await t.threepidValidation.delete(proven.sessionId);
    });
  } catch (err) {
    if (isUniqueViolation(err)) throw new MatrixError(ErrCode.ThreepidInUse, "Email is already in use");
    throw err;
  }
}

/** `POST /account/3pid/delete`: the address goes from the account; nothing is bound at an identity server. */
export async function deleteThreepid(
  sc: ServerContext,
  requester: Requester,
  body: Record<string, unknown>,
): Promise<{ id_server_unbind_result: "no-support" }> {
  requireChangesEnabled(sc.config);
  if (typeof body.medium !== "string" || typeof body.address !== "string") {
    throw new MatrixError(ErrCode.MissingParam, "Missing params: medium and address are required");
  }
  if (body.medium !== "email") {
    throw new MatrixError(ErrCode.ThreepidMediumNotSupported, `Unsupported medium: ${body.medium}`);
  }
  const address = parseEmail(body.address);
  const held = await sc.accounts.stores.threepids.owners("email", [address]);
  if (held.get(address) !== requester.userId) {
    throw new MatrixError(ErrCode.ThreepidNotFound, "The address is not on your account");
  }
  await sc.accounts.stores.threepids.remove(requester.userId, "email", address);
  return { id_server_unbind_result: "no-support" };
}
