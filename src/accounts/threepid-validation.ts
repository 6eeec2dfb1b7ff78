/**
 * @module Proving control of an e-mail address, as Synapse does it (`IdentityHandler`, `threepid_validation_*`):
 * `requestToken` mails a link, following the link validates the session, and the session then proves the address
 * to one of three operations (registration, adding it to an account, resetting a password).
 *
 * - The same `client_secret`, address and operation give the same session; a `send_attempt` no higher than the
 *   last one sends nothing (a client's retry), a higher one mails a new link.
 * - Tokens are stored as SHA-256 and spent by the statement that deletes them: single-use, and a link dies after
 *   `email.validation_token_lifetime`. The client secret is compared in constant time.
 * - Sessions live `SESSION_LIFETIME_MS`; the operation that uses a validated session deletes it.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { isUniqueViolation } from "../db/database.js";
import type { ValidationPurpose, ValidationSession } from "../db/threepid-validation.js";
import { ErrCode, MatrixError } from "../errors.js";
import { canonicalEmail } from "../shared/email.js";
import type { ServerContext } from "./context.js";
import { queueMail } from "./email-outbox.js";
import { validationMail } from "./email-texts.js";
import { hashToken, randomString } from "./tokens.js";

export type { ValidationPurpose } from "../db/threepid-validation.js";

/** How long a session can be used after it was opened (Synapse keeps them as long as a token lives; a day is ample). */
export const SESSION_LIFETIME_MS = 24 * 60 * 60 * 1000;

const CLIENT_SECRET = /^[0-9a-zA-Z.=_-]{1,255}$/;

/** The path a link of each purpose opens, under `public_baseurl` (Synapse's). */
export const SUBMIT_TOKEN_PATHS: Record<ValidationPurpose, string> = {
  register: "_matrix/client/unstable/registration/email/submit_token",
  add: "_matrix/client/unstable/add_threepid/email/submit_token",
  reset: "_synapse/client/password_reset/email/submit_token",
};

const DISABLED: Record<ValidationPurpose, string> = {
  register: "Email-based registration has been disabled on this server",
  add: "Adding an email to your account is disabled on this server",
  reset: "Password resets have been disabled on this server",
};

export interface RequestTokenCommand {
  purpose: ValidationPurpose;
  body: Record<string, unknown>;
  ip: string;
}

function missing(body: Record<string, unknown>, keys: string[]): void {
  const absent = keys.filter((k) => body[k] === undefined || body[k] === null);
  if (absent.length > 0) throw new MatrixError(ErrCode.MissingParam, `Missing params: ${JSON.stringify(absent)}`);
}

export function parseClientSecret(v: unknown): string {
  if (typeof v !== "string" || !CLIENT_SECRET.test(v)) {
    throw new MatrixError(ErrCode.InvalidParam, "Invalid client_secret parameter");
  }
  return v;
}

/** Only http(s) links are followed after validation: `javascript:` and the like never reach a browser. */
function parseNextLink(v: unknown): string | null {
  if (v === undefined || v === null) return null;
  if (typeof v === "string") {
    try {
      const url = new URL(v);
      if (url.protocol === "https:" || url.protocol === "http:") return url.href;
    } catch {
      // Refused below.
    }
  }
  throw new MatrixError(ErrCode.InvalidParam, "Invalid next_link provided");
}

/** The address, canonical; 400 for anything that is not one (a line break included, so no header can be injected). */
export function parseEmail(v: unknown): string {
  const address = typeof v === "string" ? canonicalEmail(v) : null;
  if (address === null) throw new MatrixError(ErrCode.InvalidParam, "Unable to parse email address");
  return address;
}

/** Synapse's `check_3pid_allowed` over `allowed_local_3pids`. */
export function threepidAllowed(config: ServerContext["config"], medium: string, address: string): boolean {
  const rules = config.allowed_local_3pids;
  if (rules === null) return true;
  return rules.some((r) => r.medium === medium && new RegExp(`^(?:${r.pattern})`).test(address));
}

export function requireEmailEnabled(config: ServerContext["config"], purpose: ValidationPurpose) {
  if (config.email === null) throw new MatrixError(ErrCode.Unknown, DISABLED[purpose]);
  return config.email;
}

function sha256(text: string): Buffer {
  return createHash("sha256").update(text).digest();
}

export function sameSecret(a: string, b: string): boolean {
  return timingSafeEqual(sha256(a), sha256(b));
}

/** `POST /{register,account/3pid,account/password}/email/requestToken`. */
export async function requestEmailToken(sc: ServerContext, cmd: RequestTokenCommand): Promise<{ sid: string }> {
  const { config, accounts, limiter } = sc;
  const { purpose, body } = cmd;
  const email = requireEmailEnabled(config, purpose);
  if (purpose === "add" && !config.enable_3pid_changes) {
    throw new MatrixError(ErrCode.Forbidden, "3PID changes are disabled on this server", { status: 400 });
  }
  missing(body, ["client_secret", "email", "send_attempt"]);
  const clientSecret = parseClientSecret(body.client_secret);
  const address = parseEmail(body.email);
  const sendAttempt = body.send_attempt;
  if (typeof sendAttempt !== "number" || !Number.isSafeInteger(sendAttempt)) {
    throw new MatrixError(ErrCode.InvalidParam, "send_attempt must be an integer");
  }
  const nextLink = parseNextLink(body.next_link);
  if (!threepidAllowed(config, "email", address)) {
    throw new MatrixError(ErrCode.ThreepidDenied, "Your email domain is not authorized on this server");
  }
  // Both the caller and the address are limited: neither one client nor many can flood a mailbox.
  await limiter.check("rc_3pid_validation", cmd.ip, config.rc_3pid_validation);
  await limiter.check("rc_3pid_validation", `email:${address}`, config.rc_3pid_validation);

  const owner = (await accounts.stores.threepids.owners("email", [address])).get(address);
  const refusal =
    purpose === "reset"
      ? owner === undefined
        ? new MatrixError(ErrCode.ThreepidNotFound, "Email not found")
        : null
      : owner !== undefined
        ? new MatrixError(ErrCode.ThreepidInUse, "Email is already in use")
        : null;
  if (refusal) {
    // Answered as if sent, so the answer does not say whether the address has an account.
    if (config.request_token_inhibit_3pid_errors) return { sid: randomString(16) };
    throw refusal;
  }

  const now = accounts.now();
  for (let attempt = 0; ; attempt++) {
    const existing = await accounts.stores.threepidValidation.find(clientSecret, "email", address, purpose);
    if (existing && existing.createdTs >= now - SESSION_LIFETIME_MS && sendAttempt <= existing.lastSendAttempt) {
      return { sid: existing.sessionId };
    }
    const token = randomBytes(24).toString("base64url");
    const sessionId = existing?.sessionId ?? randomString(16);
    const link = new URL(SUBMIT_TOKEN_PATHS[purpose], config.public_baseurl!);
    link.search = new URLSearchParams({ token, client_secret: clientSecret, sid: sessionId }).toString();
    try {
      await accounts.stores.transaction(async (t) => {
        if (existing && existing.createdTs < now - SESSION_LIFETIME_MS) await t.threepidValidation.delete(sessionId);
        if (!existing || existing.createdTs < now - SESSION_LIFETIME_MS) {
          await t.threepidValidation.create({
            sessionId,
            medium: "email",
            address,
            clientSecret,
            purpose,
            lastSendAttempt: sendAttempt,
            validatedAt: null,
            createdTs: now,
          } satisfies ValidationSession);
        } else {
          await t.threepidValidation.setLastSendAttempt(sessionId, sendAttempt);
        }
        await t.threepidValidation.addToken(
          sessionId,
          hashToken(token),
          nextLink,
          now + email.validation_token_lifetime,
        );
        await queueMail(t, now, validationMail(purpose, address, link.href, config.server_name, email));
      });
    } catch (err) {
      // Two first requests at once: the other made the session; look again.
      if (isUniqueViolation(err) && attempt === 0) continue;
      throw err;
    }
    accounts.mailHooks.queued();
    return { sid: sessionId };
  }
}

export interface SubmitTokenCommand {
  purpose: ValidationPurpose;
  sid: string | null;
  clientSecret: string | null;
  token: string | null;
}

const INVALID_TOKEN = "Validation token not found or has expired";

/** Checks a link's parameters against the stored token and session without spending it; returns its session. */
async function checkLink(sc: ServerContext, cmd: SubmitTokenCommand) {
  if (cmd.sid === null || cmd.clientSecret === null || cmd.token === null) {
    throw new MatrixError(ErrCode.MissingParam, "Missing params: token, client_secret and sid are required");
  }
  const { accounts } = sc;
  const hash = hashToken(cmd.token);
  const stored = await accounts.stores.threepidValidation.peekToken(hash);
  const session = stored ? await accounts.stores.threepidValidation.get(stored.sessionId) : null;
  if (
    !stored ||
    !session ||
    !sameSecret(session.sessionId, cmd.sid) ||
    !sameSecret(session.clientSecret, cmd.clientSecret) ||
    session.purpose !== cmd.purpose ||
    stored.expiresTs <= accounts.now()
  ) {
    throw new MatrixError(ErrCode.ThreepidAuthFailed, INVALID_TOKEN);
  }
  return { hash, session };
}

/** For the password-reset confirmation page: says whether the link would validate, spending nothing. */
export async function checkSubmitToken(sc: ServerContext, cmd: SubmitTokenCommand): Promise<void> {
  await checkLink(sc, cmd);
}

/**
 * Following a link: the token is spent and its session validated. Returns the `next_link` to send the browser to,
 * if the client gave one.
 */
export async function submitToken(sc: ServerContext, cmd: SubmitTokenCommand): Promise<{ nextLink: string | null }> {
  const { accounts } = sc;
  const { hash, session } = await checkLink(sc, cmd);
  const spent = await accounts.stores.transaction(async (t) => {
    const s = await t.threepidValidation.spendToken(hash);
    if (s) await t.threepidValidation.markValidated(session.sessionId, accounts.now());
    return s;
  });
  // Another click spent it between the check and here.
  if (!spent) throw new MatrixError(ErrCode.ThreepidAuthFailed, INVALID_TOKEN);
  return { nextLink: spent.nextLink };
}

export interface ValidatedThreepid {
  sessionId: string;
  medium: "email";
  address: string;
  validatedAt: number;
}

/**
 * The address a validated session proves for `purpose`, or null: wrong secret, another operation's session, not
 * validated yet, or too old.
 */
export async function validatedThreepid(
  sc: ServerContext,
  sid: unknown,
  clientSecret: unknown,
  purpose: ValidationPurpose,
): Promise<ValidatedThreepid | null> {
  if (typeof sid !== "string" || typeof clientSecret !== "string") return null;
  const { accounts } = sc;
  const session = await accounts.stores.threepidValidation.get(sid);
  if (
    !session ||
    !sameSecret(session.clientSecret, clientSecret) ||
    session.purpose !== purpose ||
    session.validatedAt === null ||
    session.createdTs < accounts.now() - SESSION_LIFETIME_MS
  ) {
    return null;
  }
  return { sessionId: session.sessionId, medium: "email", address: session.address, validatedAt: session.validatedAt };
}

/** Drops sessions past their lifetime (and their tokens); the outbox job's companion. */
export async function purgeExpiredValidationSessions(sc: Pick<ServerContext, "accounts">, limit: number) {
  return sc.accounts.stores.threepidValidation.purgeOlderThan(sc.accounts.now() - SESSION_LIFETIME_MS, limit);
}
