/**
 * @module Shared-secret registration (`/_synapse/admin/v1/register`), step for step as Synapse does it.
 *
 * Differences, each on purpose (docs/compatibility.md): nonces live in the database so any process can redeem
 * them; the MAC is checked before the password is hashed, so a caller without the secret cannot make the server
 * do bcrypt/argon2 work; a `mac` that is not a string is a 403, not a 500; and the password policy applies.
 */
import { timingSafeEqual } from "node:crypto";
import { ErrCode, MatrixError } from "../errors.js";
import { pythonTruthy } from "../shared/truth.js";
import type { RegisterResponse } from "./client-registration.js";
import type { AccountsContext } from "./context.js";
import { MAX_PASSWORD_LENGTH } from "./password-policy.js";
import { checkUserType, registerUser } from "./registration.js";
import { tokenLifetimes, type LifetimeConfig } from "./sessions.js";
import { generateNonce } from "./tokens.js";
import { computeRegistrationMac, TOKEN_LIFETIME_FIELD } from "./registration-mac.js";

/** Synapse's `NONCE_TIMEOUT`: a nonce is good for 60 seconds. */
export const NONCE_TIMEOUT_MS = 60_000;

/** Synapse answers the shared-secret endpoint with the shape of a client `/register` response. */
export type SharedSecretRegisterResponse = RegisterResponse;

export async function issueRegistrationNonce(ctx: AccountsContext): Promise<string> {
  const nonce = generateNonce();
  await ctx.stores.registrationNonces.insert(nonce, ctx.now());
  return nonce;
}

/** Deletes at most `limit` nonces past their 60 seconds (the cutoff redemption applies); says how many. */
export function purgeExpiredNonces(ctx: AccountsContext, limit?: number): Promise<number> {
  return ctx.stores.registrationNonces.purgeOlderThan(ctx.now() - NONCE_TIMEOUT_MS, limit);
}

function validCredential(v: unknown): v is string {
  return typeof v === "string" && [...v].length <= MAX_PASSWORD_LENGTH && !v.includes("\0");
}

function macMatches(expected: string, given: unknown): boolean {
  if (typeof given !== "string") return false;
  const a = Buffer.from(expected, "utf8");
  const b = Buffer.from(given, "utf8");
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * `input` may be a function that reads the body, so that, as in Synapse, "not enabled" is reported before the body
 * is parsed (a server without a secret answers the same whatever is sent).
 */
export async function registerWithSharedSecret(
  ctx: AccountsContext,
  input: Record<string, unknown> | (() => Record<string, unknown>),
  /** The server's token lifetimes (`session_lifetime`, refresh settings); none: tokens that never expire. */
  lifetimes: LifetimeConfig | null = null,
): Promise<SharedSecretRegisterResponse> {
  const secret = ctx.sharedSecret;
  if (!secret) throw new MatrixError(ErrCode.Unknown, "Shared secret registration is not enabled");
  const body = typeof input === "function" ? input() : input;

  if (!("nonce" in body)) throw new MatrixError(ErrCode.BadJson, "nonce must be specified");
  const now = ctx.now();
  // Consumed before anything else is checked: a nonce is single-use even when the request fails.
  const consumed =
    typeof body.nonce === "string" && (await ctx.stores.registrationNonces.consume(body.nonce, now - NONCE_TIMEOUT_MS));
  if (!consumed) throw new MatrixError(ErrCode.Unknown, "unrecognised nonce");
  const nonce = body.nonce as string;

  if (!("username" in body)) throw new MatrixError(ErrCode.BadJson, "username must be specified");
  if (!validCredential(body.username)) throw new MatrixError(ErrCode.Unknown, "Invalid username");
  const username = body.username;

  if (!("password" in body)) throw new MatrixError(ErrCode.BadJson, "password must be specified");
  if (!validCredential(body.password)) throw new MatrixError(ErrCode.Unknown, "Invalid password");
  const password = body.password;

  const admin = pythonTruthy(body.admin);
  const userType = body.user_type ?? null;
  checkUserType(userType);
  const displayname = body.displayname ?? null;
  if (displayname !== null && typeof displayname !== "string") {
    throw new MatrixError(ErrCode.InvalidParam, "displayname must be a string");
  }

  if (!("mac" in body)) throw new MatrixError(ErrCode.BadJson, "mac must be specified");
  const expected = computeRegistrationMac(secret, nonce, username, password, admin, userType);
  if (!macMatches(expected, body.mac)) throw new MatrixError(ErrCode.Unknown, "HMAC incorrect", { status: 403 });

  if ("refresh_token" in body && typeof body.refresh_token !== "boolean") {
    throw new MatrixError(ErrCode.Unknown, "refresh_token must be a boolean");
  }
  const lifetime = body[TOKEN_LIFETIME_FIELD];
  if (lifetime !== undefined && lifetime !== null && !(Number.isInteger(lifetime) && (lifetime as number) > 0)) {
    throw new MatrixError(ErrCode.InvalidParam, `${TOKEN_LIFETIME_FIELD} must be a positive whole number`);
  }

  const localpart = username.toLowerCase();
  const issued = lifetimes
    ? tokenLifetimes(lifetimes, body.refresh_token === true, now)
    : { validUntilMs: null, refresh: null };
  const requested = typeof lifetime === "number" ? now + lifetime : null;
  const validUntilMs =
    requested === null
      ? issued.validUntilMs
      : issued.validUntilMs === null
        ? requested
        : Math.min(requested, issued.validUntilMs);
  const result = await registerUser(ctx, {
    localpart,
    password,
    admin,
    userType,
    displayname,
    login: pythonTruthy(body.inhibit_login)
      ? null
      : {
          deviceId: (body.device_id as string | null | undefined) ?? null,
          initialDeviceDisplayName: (body.initial_device_display_name as string | null | undefined) ?? null,
          validUntilMs,
          refresh: issued.refresh,
        },
  });
  const response: SharedSecretRegisterResponse = { user_id: result.userId, home_server: ctx.serverName };
  if (result.session) {
    response.access_token = result.session.accessToken;
    response.device_id = result.session.deviceId;
    if (result.session.validUntilMs !== null) response.expires_in_ms = result.session.validUntilMs - now;
    if (result.session.refreshToken !== null) response.refresh_token = result.session.refreshToken;
  }
  return response;
}
