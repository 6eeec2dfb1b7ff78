/**
 * @module The CAPTCHA keys: Gatehouse's own `altcha:` block (a proof-of-work CAPTCHA the server runs itself) and
 * Synapse's reCAPTCHA keys (`synapse/config/captcha.py`), which also fit hCaptcha and Turnstile since the three
 * share one siteverify shape. It and validate.ts import each other, so neither may use the other's exports while
 * it is being loaded, only when called.
 */
import type { AltchaAlgorithm, CaptchaConfig, RecaptchaConfig } from "./schema.js";
import { errorMessage, readDuration, readRateLimit, type RawConfig, type Reader } from "./validate.js";

export const CAPTCHA_KEYS = [
  "altcha",
  "enable_registration_captcha",
  "recaptcha_public_key",
  "recaptcha_public_key_path",
  "recaptcha_private_key",
  "recaptcha_private_key_path",
  "recaptcha_siteverify_api",
  "recaptcha_timeout",
];

// PBKDF2 only: Node runs it on the libuv thread pool, while altcha-lib's iterated SHA runs on the event loop.
const ALTCHA_ALGORITHMS: AltchaAlgorithm[] = ["PBKDF2/SHA-256", "PBKDF2/SHA-384", "PBKDF2/SHA-512"];

/** Synapse's default verifier. */
export const GOOGLE_SITEVERIFY = "https://www.recaptcha.net/recaptcha/api/siteverify";

function readAltcha(r: Reader, raw: RawConfig): CaptchaConfig["altcha"] {
  const a = r.object(raw, "altcha", "altcha") ?? {};
  r.checkKeys(
    a,
    ["enabled", "algorithm", "cost", "difficulty", "challenge_lifetime", "token_flow", "rc_challenge"],
    "altcha",
  );
  const algorithm = (r.string(a, "algorithm", "altcha.algorithm", "PBKDF2/SHA-256") ??
    "PBKDF2/SHA-256") as AltchaAlgorithm;
  if (!ALTCHA_ALGORITHMS.includes(algorithm)) {
    r.problem("altcha.algorithm", `must be one of ${ALTCHA_ALGORITHMS.join(", ")}`);
  }
  const lifetime = readDuration(r, a, "challenge_lifetime", "altcha.challenge_lifetime", 10 * 60_000) ?? 10 * 60_000;
  if (lifetime < 10_000 || lifetime > 24 * 3_600_000) r.problem("altcha.challenge_lifetime", "must be 10s to 24h");
  return {
    enabled: r.bool(a, "enabled", "altcha.enabled", false),
    algorithm,
    cost: r.int(a, "cost", "altcha.cost", 5_000, [1, 10_000_000]) ?? 5_000,
    difficulty: r.int(a, "difficulty", "altcha.difficulty", 3, [1, 8]) ?? 3,
    challenge_lifetime: lifetime,
    token_flow: r.bool(a, "token_flow", "altcha.token_flow", true),
    rc_challenge: readRateLimit(r, a, "rc_challenge", "altcha.rc_challenge", { per_second: 0.5, burst_count: 10 }),
  };
}

/**
 * `key` inline or `key_path` read from a file, as Synapse reads them: both set is an error. Also `form_secret`'s
 * reader (validate-consent.ts).
 */
export function readKey(
  r: Reader,
  raw: RawConfig,
  key: string,
  readSecretFile: (path: string) => string,
): string | null {
  const inline = r.string(raw, key, key, null);
  const path = r.string(raw, `${key}_path`, `${key}_path`, null);
  if (inline !== null && path !== null) {
    r.problem(`${key}_path`, `${key} and ${key}_path are both set; they are mutually exclusive`);
    return null;
  }
  if (path === null) return inline;
  try {
    const value = readSecretFile(path).trim();
    if (value === "") r.problem(`${key}_path`, `the file ${path} is empty`);
    return value || null;
  } catch (err) {
    r.problem(`${key}_path`, `cannot read ${path}: ${errorMessage(err)}`);
    return null;
  }
}

function readRecaptcha(r: Reader, raw: RawConfig, readSecretFile: (path: string) => string): RecaptchaConfig {
  const enabled = r.bool(raw, "enable_registration_captcha", "enable_registration_captcha", false);
  const publicKey = readKey(r, raw, "recaptcha_public_key", readSecretFile);
  const privateKey = readKey(r, raw, "recaptcha_private_key", readSecretFile);
  const siteverify =
    r.string(raw, "recaptcha_siteverify_api", "recaptcha_siteverify_api", GOOGLE_SITEVERIFY) ?? GOOGLE_SITEVERIFY;
  if (!/^https?:\/\/[^/]/.test(siteverify)) r.problem("recaptcha_siteverify_api", "must be an http:// or https:// URL");
  if (enabled && (publicKey === null || privateKey === null)) {
    r.problem(
      "enable_registration_captcha",
      "needs recaptcha_public_key and recaptcha_private_key (or their _path forms)",
    );
  }
  return {
    enabled,
    public_key: publicKey,
    private_key: privateKey,
    siteverify_api: siteverify,
    timeout: readDuration(r, raw, "recaptcha_timeout", "recaptcha_timeout", 10_000) ?? 10_000,
  };
}

export function readCaptchaConfig(r: Reader, raw: RawConfig, readSecretFile: (path: string) => string): CaptchaConfig {
  return { altcha: readAltcha(r, raw), recaptcha: readRecaptcha(r, raw, readSecretFile) };
}
