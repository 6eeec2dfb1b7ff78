/**
 * @module The `m.login.email.identity` UIA stage: `threepid_creds: {sid, client_secret}` (the old `threepidCreds`
 * too, which Cinny sends) naming a session whose link was followed. Until it is, the stage fails with 401 and the
 * client asks again (Element and Cinny poll).
 */
import { ErrCode, MatrixError } from "../errors.js";
import type { ServerContext } from "./context.js";
import { validatedThreepid, type ValidatedThreepid, type ValidationPurpose } from "./threepid-validation.js";
import type { StageChecker } from "./uia.js";

export const EMAIL_IDENTITY = "m.login.email.identity";

export function emailStageChecker(sc: ServerContext, purpose: ValidationPurpose): StageChecker {
  return async (auth) => {
    const raw = auth.threepid_creds ?? auth.threepidCreds;
    if (!raw || typeof raw !== "object" || Array.isArray(raw)) {
      throw new MatrixError(ErrCode.MissingParam, "Missing param: threepid_creds");
    }
    const creds = raw as Record<string, unknown>;
    const found = await validatedThreepid(sc, creds.sid, creds.client_secret, purpose);
    if (!found) throw new MatrixError(ErrCode.Unauthorized, "The e-mail address has not been validated");
    return found;
  };
}

/** The address the stage proved, read from a completed UIA result (the value the checker returned). */
export function provenThreepid(completed: Map<string, unknown>): ValidatedThreepid | null {
  const v = completed.get(EMAIL_IDENTITY);
  if (!v || typeof v !== "object") return null;
  const t = v as Partial<ValidatedThreepid>;
  return typeof t.address === "string" && typeof t.sessionId === "string" ? (t as ValidatedThreepid) : null;
}
