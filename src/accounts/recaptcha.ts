/**
 * @module The `m.login.recaptcha` stage as Synapse runs it (`RecaptchaAuthChecker`): the client's response token is
 * sent with the private key to the configured siteverify endpoint. Google reCAPTCHA, hCaptcha and Cloudflare
 * Turnstile all take `secret`, `response`, `remoteip` as a form and answer `{"success": bool, ...}`.
 */
import type { RecaptchaConfig } from "../config/schema.js";
import { ErrCode, MatrixError } from "../errors.js";

export const RECAPTCHA_STAGE = "m.login.recaptcha";

/** Refuses unless the verifier says the response is good; a verifier that cannot be asked is a 401 too, in words. */
export async function verifyRecaptcha(config: RecaptchaConfig, response: unknown, remoteIp: string): Promise<true> {
  if (typeof response !== "string" || response === "") {
    throw new MatrixError(ErrCode.Unauthorized, "Captcha response is required", { status: 401 });
  }
  const form = new URLSearchParams({ secret: config.private_key ?? "", response, remoteip: remoteIp });
  let body: unknown;
  try {
    const res = await fetch(config.siteverify_api, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: form,
      signal: AbortSignal.timeout(config.timeout),
    });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    body = await res.json();
  } catch {
    // Synapse's wording; the cause (refused, timed out, not JSON) is the operator's to find, not the client's.
    throw new MatrixError(
      ErrCode.Unknown,
      "The CAPTCHA could not be checked: the verification service is unavailable",
      {
        status: 503,
      },
    );
  }
  if ((body as { success?: unknown } | null)?.success !== true) {
    throw new MatrixError(ErrCode.Unauthorized, "Captcha response was invalid", { status: 401 });
  }
  return true;
}
