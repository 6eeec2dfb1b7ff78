/**
 * @module The password policy (`password_config.policy`), in Synapse's order with its errcodes and messages.
 *
 * Unlike Synapse, every path that sets a password calls this, the admin and shared-secret paths included: a policy
 * that the operator's own tools can bypass is not a policy (matrix-registration#79).
 */
import type { PasswordPolicyConfig } from "../config/schema.js";
import { ErrCode, MatrixError } from "../errors.js";

/** Synapse's cap on a password's length, in characters. */
export const MAX_PASSWORD_LENGTH = 512;

export function checkPasswordPolicy(password: string, policy: PasswordPolicyConfig): void {
  if (!policy.enabled) return;
  // Python's len() counts code points, not UTF-16 units.
  if ([...password].length < policy.minimum_length) {
    throw new MatrixError(
      ErrCode.PasswordTooShort,
      `The password must be at least ${policy.minimum_length} characters long`,
    );
  }
  if (policy.require_digit && !/[0-9]/.test(password)) {
    throw new MatrixError(ErrCode.PasswordNoDigit, "The password must include at least one digit");
  }
  if (policy.require_symbol && !/[^a-zA-Z0-9]/.test(password)) {
    throw new MatrixError(ErrCode.PasswordNoSymbol, "The password must include at least one symbol");
  }
  if (policy.require_uppercase && !/[A-Z]/.test(password)) {
    throw new MatrixError(ErrCode.PasswordNoUppercase, "The password must include at least one uppercase letter");
  }
  if (policy.require_lowercase && !/[a-z]/.test(password)) {
    throw new MatrixError(ErrCode.PasswordNoLowercase, "The password must include at least one lowercase letter");
  }
}

/** The policy as `GET /password_policy` reports it: configured keys only, `{}` when the policy is off. */
export function passwordPolicyDescription(policy: PasswordPolicyConfig): Record<string, number | boolean> {
  if (!policy.enabled) return {};
  const out: Record<string, number | boolean> = {};
  if (policy.minimum_length > 0) out["m.minimum_length"] = policy.minimum_length;
  if (policy.require_digit) out["m.require_digit"] = true;
  if (policy.require_symbol) out["m.require_symbol"] = true;
  if (policy.require_lowercase) out["m.require_lowercase"] = true;
  if (policy.require_uppercase) out["m.require_uppercase"] = true;
  return out;
}
