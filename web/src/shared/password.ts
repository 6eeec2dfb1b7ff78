/** Passwords the console generates, and the server's password policy checked as the user types. */

/** `GET /_matrix/client/v3/password_policy` (MSC2000's keys). */
export interface PasswordPolicy {
  "m.minimum_length"?: number;
  "m.require_digit"?: boolean;
  "m.require_symbol"?: boolean;
  "m.require_lowercase"?: boolean;
  "m.require_uppercase"?: boolean;
}

export interface PolicyCheck {
  rule: string;
  met: boolean;
}

export function checkPolicy(password: string, policy: PasswordPolicy): PolicyCheck[] {
  const checks: PolicyCheck[] = [];
  const min = policy["m.minimum_length"];
  if (min) checks.push({ rule: `At least ${min} characters`, met: [...password].length >= min });
  if (policy["m.require_digit"]) checks.push({ rule: "A digit (0–9)", met: /\d/.test(password) });
  if (policy["m.require_lowercase"]) checks.push({ rule: "A lower-case letter", met: /[a-z]/.test(password) });
  if (policy["m.require_uppercase"]) checks.push({ rule: "An upper-case letter", met: /[A-Z]/.test(password) });
  if (policy["m.require_symbol"]) checks.push({ rule: "A symbol", met: /[^a-zA-Z0-9]/.test(password) });
  return checks;
}

// No look-alikes (0/O, 1/l/I): a generated password is often read aloud or typed from a screen.
const LOWER = "abcdefghijkmnpqrstuvwxyz";
const UPPER = "ABCDEFGHJKLMNPQRSTUVWXYZ";
const DIGITS = "23456789";
const SYMBOLS = "-_.!?@#%+=";

/** A uniform index below `n`; rejection sampling, since a plain modulo would favour the low values. */
function randomIndex(n: number): number {
  const v = new Uint32Array(1);
  const limit = Math.floor(0x100000000 / n) * n;
  do crypto.getRandomValues(v);
  while (v[0]! >= limit);
  return v[0]! % n;
}

const pick = (set: string): string => set.charAt(randomIndex(set.length));

const ALPHANUMERIC = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/**
 * A registration token's name for an invite link: letters and digits only, since chat apps that turn a pasted link
 * into a link often leave out a last `.`, `~` or `-` (which Synapse's own generator may end a token with).
 */
export function inviteToken(length = 20): string {
  let s = "";
  for (let i = 0; i < length; i++) s += pick(ALPHANUMERIC);
  return s;
}

/** 20 characters with one of each class, so any policy the server can be configured with is met. */
export function generatePassword(length = 20): string {
  const all = LOWER + UPPER + DIGITS + SYMBOLS;
  const chars = [pick(LOWER), pick(UPPER), pick(DIGITS), pick(SYMBOLS)];
  while (chars.length < length) chars.push(pick(all));
  for (let i = chars.length - 1; i > 0; i--) {
    const j = randomIndex(i + 1);
    [chars[i], chars[j]] = [chars[j]!, chars[i]!];
  }
  return chars.join("");
}
