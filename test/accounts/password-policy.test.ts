/**
 * The password policy on its own (§3.9): each rule alone, its boundary, and the description that
 * `GET /password_policy` serves. Its use by registration is in registration.test.ts.
 */
import { describe, expect, it } from "vitest";
import { checkPasswordPolicy, passwordPolicyDescription } from "../../src/accounts/password-policy.js";
import { DEFAULT_PASSWORD_POLICY, type PasswordPolicyConfig } from "../../src/config/schema.js";
import { ErrCode, MatrixError } from "../../src/errors.js";

function policy(p: Partial<PasswordPolicyConfig>): PasswordPolicyConfig {
  return { ...DEFAULT_PASSWORD_POLICY, enabled: true, ...p };
}

function refusal(password: string, p: PasswordPolicyConfig): MatrixError {
  try {
    checkPasswordPolicy(password, p);
  } catch (err) {
    if (err instanceof MatrixError) return err;
    throw err;
  }
  throw new Error(`expected ${JSON.stringify(password)} to be refused`);
}

describe("checkPasswordPolicy", () => {
  it("the default policy is off and allows anything", () => {
    expect(DEFAULT_PASSWORD_POLICY.enabled).toBe(false);
    expect(() => checkPasswordPolicy("", DEFAULT_PASSWORD_POLICY)).not.toThrow();
  });

  it("minimum_length: exactly the minimum is fine, one less is refused", () => {
    const p = policy({ minimum_length: 5 });
    expect(() => checkPasswordPolicy("abcde", p)).not.toThrow();
    const err = refusal("abcd", p);
    expect([err.errcode, err.message, err.status]).toEqual([
      ErrCode.PasswordTooShort,
      "The password must be at least 5 characters long",
      400,
    ]);
  });

  it("minimum_length counts code points, as Python's len() does", () => {
    const p = policy({ minimum_length: 4 });
    // Two emoji: four UTF-16 units, two characters.
    expect(refusal("😀😀", p).errcode).toBe(ErrCode.PasswordTooShort);
    expect(() => checkPasswordPolicy("😀😀😀😀", p)).not.toThrow();
  });

  it.each([
    [
      "require_digit",
      "no digits here",
      "has 1 digit",
      ErrCode.PasswordNoDigit,
      "The password must include at least one digit",
    ],
    [
      "require_symbol",
      "abcABC123",
      "abc ABC",
      ErrCode.PasswordNoSymbol,
      "The password must include at least one symbol",
    ],
    [
      "require_uppercase",
      "all lower 1!",
      "One upper",
      ErrCode.PasswordNoUppercase,
      "The password must include at least one uppercase letter",
    ],
    [
      "require_lowercase",
      "ALL UPPER 1!",
      "ONe LOWER",
      ErrCode.PasswordNoLowercase,
      "The password must include at least one lowercase letter",
    ],
  ] as const)("%s alone", (rule, bad, good, errcode, message) => {
    const p = policy({ [rule]: true });
    const err = refusal(bad, p);
    expect([err.errcode, err.message, err.status]).toEqual([errcode, message, 400]);
    expect(() => checkPasswordPolicy(good, p)).not.toThrow();
  });

  it("only ASCII counts for digits and letters, as Synapse's regexes say", () => {
    expect(refusal("٣٣٣", policy({ require_digit: true })).errcode).toBe(ErrCode.PasswordNoDigit);
    expect(refusal("ÀÉÎ", policy({ require_uppercase: true })).errcode).toBe(ErrCode.PasswordNoUppercase);
    expect(refusal("àéî", policy({ require_lowercase: true })).errcode).toBe(ErrCode.PasswordNoLowercase);
    // ...and anything outside [a-zA-Z0-9] is a symbol, a space or a non-ASCII letter included.
    expect(() => checkPasswordPolicy("abc def", policy({ require_symbol: true }))).not.toThrow();
    expect(() => checkPasswordPolicy("abcé", policy({ require_symbol: true }))).not.toThrow();
  });

  it("rules configured but the policy disabled: nothing is checked", () => {
    const p = policy({ enabled: false, minimum_length: 50, require_digit: true, require_symbol: true });
    expect(() => checkPasswordPolicy("x", p)).not.toThrow();
  });
});

describe("passwordPolicyDescription", () => {
  it("is {} when the policy is off, whatever is configured", () => {
    expect(passwordPolicyDescription(DEFAULT_PASSWORD_POLICY)).toEqual({});
    expect(passwordPolicyDescription(policy({ enabled: false, minimum_length: 8, require_digit: true }))).toEqual({});
  });

  it("lists only the configured keys", () => {
    expect(passwordPolicyDescription(policy({ minimum_length: 8, require_symbol: true }))).toEqual({
      "m.minimum_length": 8,
      "m.require_symbol": true,
    });
    expect(passwordPolicyDescription(policy({}))).toEqual({});
  });

  it("lists every key when every rule is on", () => {
    expect(
      passwordPolicyDescription(
        policy({
          minimum_length: 12,
          require_digit: true,
          require_symbol: true,
          require_lowercase: true,
          require_uppercase: true,
        }),
      ),
    ).toEqual({
      "m.minimum_length": 12,
      "m.require_digit": true,
      "m.require_symbol": true,
      "m.require_lowercase": true,
      "m.require_uppercase": true,
    });
  });
});
