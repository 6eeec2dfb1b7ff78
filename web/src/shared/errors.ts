/**
 * Matrix errors in words. The sentence says what happened and what to do; the server's own `error` follows when it
 * adds something (which rule a password broke, which parameter was wrong).
 */
import { ApiError } from "./api";

const WORDS: Record<string, string> = {
  M_CONNECTION: "The server could not be reached. Check your connection and try again.",
  M_FORBIDDEN: "The server refused this.",
  M_UNKNOWN_TOKEN: "Your session has ended. Log in again.",
  M_MISSING_TOKEN: "You are not logged in.",
  M_USER_IN_USE: "That username is already taken.",
  M_INVALID_USERNAME: "That username is not allowed.",
  M_EXCLUSIVE: "That username is reserved.",
  M_WEAK_PASSWORD: "That password is too weak.",
  M_PASSWORD_TOO_SHORT: "That password is too short.",
  M_PASSWORD_NO_DIGIT: "The password needs a digit.",
  M_PASSWORD_NO_SYMBOL: "The password needs a symbol.",
  M_PASSWORD_NO_UPPERCASE: "The password needs an upper-case letter.",
  M_PASSWORD_NO_LOWERCASE: "The password needs a lower-case letter.",
  M_LIMIT_EXCEEDED: "Too many attempts. Wait a moment and try again.",
  M_USER_DEACTIVATED: "This account has been deactivated.",
  M_USER_LOCKED: "This account is locked.",
  M_NOT_FOUND: "Not found.",
  M_THREEPID_IN_USE: "That e-mail address already belongs to another account.",
  M_UNAUTHORIZED: "The server did not accept this.",
  M_INVALID_PARAM: "Something in the form is not valid.",
  M_MISSING_PARAM: "Something the server needs is missing.",
  M_BAD_JSON: "The server could not read the request.",
  M_TOO_LARGE: "That is too large for the server.",
};

export interface ErrorText {
  words: string;
  /** The server's own message, when it says more than the words do. */
  detail: string | null;
}

export function describeError(err: unknown): ErrorText {
  if (err instanceof ApiError) {
    const words = WORDS[err.errcode];
    if (!words) return { words: err.message, detail: null };
    let detail: string | null = err.message;
    if (err.errcode === "M_LIMIT_EXCEEDED" && typeof err.body.retry_after_ms === "number") {
      detail = `Try again in ${Math.ceil(err.body.retry_after_ms / 1000)} seconds.`;
    }
    if (err.errcode === "M_CONNECTION") detail = null;
    return { words, detail: detail && detail !== words ? detail : null };
  }
  return { words: "Something went wrong in this page.", detail: err instanceof Error ? err.message : String(err) };
}
