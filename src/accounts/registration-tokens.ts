/**
 * @module Synapse's registration-tokens admin API (`synapse/rest/admin/registration_tokens.py`): tokens listed,
 * looked up, created (named or generated), changed and deleted, with Synapse's checks, in Synapse's order, with its
 * words.
 *
 * Each write and its audit entry land in one transaction. Creation is a single `INSERT … ON CONFLICT DO NOTHING`,
 * so two admins racing for one name get one token and one "Token already exists". The counters (`pending`,
 * `completed`) are only ever moved by the store's conditional UPDATEs used by `/register`; nothing here writes
 * them, so an admin change cannot undo a reservation.
 *
 * `uses_allowed: 0` is accepted, as in Synapse, and means what Synapse's documentation says: the token can never
 * be used (a way to disable a token without deleting it). Synapse's own registration check treats 0 as unlimited
 * (a truthiness test); Gatehouse does not copy that bug. `valid=false` lists such tokens, as in Synapse.
 *
 * Gatehouse adds `bound_username` and `bound_email` (creation only; they cannot be changed, so an invite cannot be
 * redirected to someone else after it was sent). Synapse's tools never send them and ignore them in answers.
 */
import { randomInt } from "node:crypto";
import type { RegistrationToken, RegistrationTokenChanges } from "../db/registration-tokens.js";
import { ErrCode, MatrixError } from "../errors.js";
import { canonicalEmail } from "../shared/email.js";
import { recordAudit, type AdminActor } from "./audit.js";
import type { AccountsContext } from "./context.js";
import { checkLocalpartSyntax } from "./username.js";
import type { EmailConfig } from "../config/schema.js";
import { queueMail } from "./email-outbox.js";
import { invitationMail } from "./email-texts.js";

/** A token as the admin API answers it. `expiry_time` in milliseconds since the epoch. */
export interface RegistrationTokenResponse {
  token: string;
  uses_allowed: number | null;
  pending: number;
  completed: number;
  expiry_time: number | null;
  /** Gatehouse, only when set: the only username that may sign up with the token. */
  bound_username?: string;
  /** Gatehouse, only when set: the address the invite went to (the account made with it gets this e-mail). */
  bound_email?: string;
}

export interface RegistrationTokenListResponse {
  registration_tokens: RegistrationTokenResponse[];
}

/** The characters a token may hold, and those a generated token is drawn from. */
const TOKEN_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._~-";
const TOKEN_PATTERN = /^[A-Za-z0-9._~-]+$/;
const MAX_TOKEN_LENGTH = 64;
const DEFAULT_LENGTH = 16;
/** Synapse tries three generated tokens before giving up. */
const GENERATE_ATTEMPTS = 3;

/** An unbound token answers exactly Synapse's fields, so tools that compare whole objects see no difference. */
function response(t: RegistrationToken): RegistrationTokenResponse {
  const r: RegistrationTokenResponse = {
    token: t.token,
    uses_allowed: t.usesAllowed,
    pending: t.pending,
    completed: t.completed,
    expiry_time: t.expiryTime,
  };
  if (t.boundUsername !== null) r.bound_username = t.boundUsername;
  if (t.boundEmail !== null) r.bound_email = t.boundEmail;
  return r;
}

/** Python's `type(x) is int`: a JSON integer, never a boolean or a fraction. */
function isInt(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v);
}

function invalid(message: string): MatrixError {
  return new MatrixError(ErrCode.InvalidParam, message);
}

function checkUsesAllowed(v: unknown): number | null {
  if (v === null) return null;
  if (isInt(v) && v >= 0) return v;
  throw invalid("uses_allowed must be a non-negative integer or null");
}

function checkExpiryTime(v: unknown, now: number): number | null {
  if (v === null) return null;
  if (!isInt(v)) throw invalid("expiry_time must be an integer or null");
  if (v < now) throw invalid("expiry_time must not be in the past");
  return v;
}

/** Gatehouse's `bound_username`: a localpart (or this server's user ID), lower-cased as `/register` does. */
function checkBoundUsername(ctx: AccountsContext, v: unknown): string | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== "string") throw invalid("bound_username must be a string or null");
  let localpart = v.trim().toLowerCase();
  const suffix = `:${ctx.serverName}`;
  if (localpart.startsWith("@") && localpart.endsWith(suffix)) localpart = localpart.slice(1, -suffix.length);
  checkLocalpartSyntax(localpart, ctx.usernameRules);
  return localpart;
}

function checkBoundEmail(v: unknown): string | null {
  if (v === undefined || v === null) return null;
  // Canonical, as the admin API's 3PIDs are, or the account's address would differ from the one invited.
  const address = typeof v === "string" ? canonicalEmail(v) : null;
  if (address === null) throw invalid("bound_email must be an e-mail address");
  return address;
}

function notFound(token: string): MatrixError {
  return new MatrixError(ErrCode.NotFound, `No such registration token: ${token}`);
}

function generate(length: number): string {
  let s = "";
  for (let i = 0; i < length; i++) s += TOKEN_CHARS.charAt(randomInt(TOKEN_CHARS.length));
  return s;
}

/** The audit record of a token's settings (the counters are not the admin's to change). */
function settings(t: { usesAllowed: number | null; expiryTime: number | null }): Record<string, unknown> {
  return { uses_allowed: t.usesAllowed, expiry_time: t.expiryTime };
}

/** `GET /v1/registration_tokens`: `valid` `true`, `false` or `null` (all). */
export async function listRegistrationTokens(
  ctx: AccountsContext,
  valid: boolean | null,
): Promise<RegistrationTokenListResponse> {
  const tokens = await ctx.stores.registrationTokens.list(valid, ctx.now());
  return { registration_tokens: tokens.map(response) };
}

/** `GET /v1/registration_tokens/<token>`, or 404 "No such registration token: <token>". */
export async function getRegistrationToken(ctx: AccountsContext, token: string): Promise<RegistrationTokenResponse> {
  const t = await ctx.stores.registrationTokens.get(token);
  if (!t) throw notFound(token);
  return response(t);
}

/** `POST /v1/registration_tokens/new`, as the route parses it. */
export interface CreateRegistrationTokenCommand {
  /** The token asked for by name, or null for a generated one of `length` characters. */
  token: string | null;
  length: number;
  usesAllowed: number | null;
  expiryTime: number | null;
  boundUsername: string | null;
  boundEmail: string | null;
}

/** Reads a creation body with Synapse's checks, in Synapse's order and words. */
export function parseCreateRegistrationToken(
  ctx: AccountsContext,
  body: Record<string, unknown>,
): CreateRegistrationTokenCommand {
  let named: string | null = null;
  let length = DEFAULT_LENGTH;
  if ("token" in body) {
    const token = body.token;
    if (typeof token !== "string") throw invalid("token must be a string");
    if (token.length === 0 || token.length > MAX_TOKEN_LENGTH) {
      throw invalid("token must not be empty and must not be longer than 64 characters");
    }
    // Synapse's message names a narrower set than it allows ('.' and '~' are accepted too).
    if (!TOKEN_PATTERN.test(token))
      throw invalid("token must consist only of characters matched by the regex [A-Za-z0-9-_]");
    named = token;
  } else {
    const l = "length" in body ? body.length : DEFAULT_LENGTH;
    if (!isInt(l)) throw invalid("length must be an integer");
    if (l <= 0 || l > MAX_TOKEN_LENGTH) throw invalid("length must be greater than zero and not greater than 64");
    length = l;
  }
  return {
    token: named,
    length,
    usesAllowed: checkUsesAllowed("uses_allowed" in body ? body.uses_allowed : null),
    expiryTime: checkExpiryTime("expiry_time" in body ? body.expiry_time : null, ctx.now()),
    boundUsername: checkBoundUsername(ctx, body.bound_username),
    boundEmail: checkBoundEmail(body.bound_email),
  };
}

/** Where an invitation mail's sign-up link points, and how mail is sent: given when `email` is configured. */
export interface InvitationSettings {
  email: EmailConfig;
  publicBaseurl: string;
}

/**
 * A server's invitation settings, or null when it mails nothing: the admin API and the CLI's database mode both take
 * them from the server's config, so the mail a token queues does not depend on where it was created.
 */
export function invitationSettings(config: {
  email: EmailConfig | null;
  public_baseurl: string | null;
}): InvitationSettings | null {
  const { email, public_baseurl: publicBaseurl } = config;
  return email !== null && publicBaseurl !== null ? { email, publicBaseurl } : null;
}

/**
 * `POST /v1/registration_tokens/new`: 200 with the new token, or "Token already exists". With `invitation` and a
 * `bound_email`, the invitation (the sign-up page's link with the token) is queued in the same transaction.
 */
export async function createRegistrationToken(
  ctx: AccountsContext,
  actor: AdminActor,
  cmd: CreateRegistrationTokenCommand,
  invitation: InvitationSettings | null = null,
): Promise<RegistrationTokenResponse> {
  const { token: named, length, usesAllowed, expiryTime, boundUsername, boundEmail } = cmd;
  const now = ctx.now();
  const bindings: Record<string, unknown> = {};
  if (boundUsername !== null) bindings.bound_username = boundUsername;
  if (boundEmail !== null) bindings.bound_email = boundEmail;

  const candidates = named !== null ? [named] : Array.from({ length: GENERATE_ATTEMPTS }, () => generate(length));
  for (const token of candidates) {
    const created = await ctx.stores.transaction(async (t) => {
      const row = { token, usesAllowed, expiryTime, createdTs: now, boundUsername, boundEmail };
      if (!(await t.registrationTokens.insertIfAbsent(row))) return null;
      await recordAudit(
        t,
        ctx,
        actor,
        "registration_token.create",
        token,
        {},
        {
          ...settings({ usesAllowed, expiryTime }),
          ...bindings,
        },
      );
      if (invitation !== null && boundEmail !== null) {
        const link = new URL("_gatehouse/register/", invitation.publicBaseurl);
        link.searchParams.set("token", token);
        await queueMail(t, now, invitationMail(boundEmail, link.href, ctx.serverName, invitation.email));
      }
      return (await t.registrationTokens.get(token))!;
    });
    if (created && invitation !== null && boundEmail !== null) ctx.mailHooks.queued();
    if (created) return response(created);
  }
  if (named !== null) throw invalid(`Token already exists: ${named}`);
  throw new MatrixError(
    ErrCode.Unknown,
    "Unable to generate a unique registration token. Try again with a greater length",
    { status: 500 },
  );
}

/**
 * `PUT /v1/registration_tokens/<token>`: `uses_allowed` and/or `expiry_time` (same checks as creation; `null`
 * clears), other keys ignored; nothing to change answers the token as it is. 404 for an unknown token.
 */
export function parseUpdateRegistrationToken(
  ctx: AccountsContext,
  body: Record<string, unknown>,
): RegistrationTokenChanges {
  const changes: RegistrationTokenChanges = {};
  if ("uses_allowed" in body) changes.usesAllowed = checkUsesAllowed(body.uses_allowed);
  if ("expiry_time" in body) changes.expiryTime = checkExpiryTime(body.expiry_time, ctx.now());
  return changes;
}

/** Applies what `parseUpdateRegistrationToken` read; 404 for an unknown token. */
export async function updateRegistrationToken(
  ctx: AccountsContext,
  actor: AdminActor,
  token: string,
  changes: RegistrationTokenChanges,
): Promise<RegistrationTokenResponse> {
  const updated = await ctx.stores.transaction(async (t) => {
    const current = await t.registrationTokens.get(token);
    if (!current) throw notFound(token);
    if (Object.keys(changes).length === 0) return current;
    if (!(await t.registrationTokens.update(token, changes))) throw notFound(token);
    const after = (await t.registrationTokens.get(token))!;
    const before: Record<string, unknown> = {};
    const afterFields: Record<string, unknown> = {};
    if (changes.usesAllowed !== undefined) {
      before.uses_allowed = current.usesAllowed;
      afterFields.uses_allowed = after.usesAllowed;
    }
    if (changes.expiryTime !== undefined) {
      before.expiry_time = current.expiryTime;
      afterFields.expiry_time = after.expiryTime;
    }
    await recordAudit(t, ctx, actor, "registration_token.update", token, before, afterFields);
    return after;
  });
  return response(updated);
}

/** `DELETE /v1/registration_tokens/<token>`: `{}`, or 404. Sign-ups holding a reservation still complete. */
export async function deleteRegistrationToken(ctx: AccountsContext, actor: AdminActor, token: string): Promise<void> {
  await ctx.stores.transaction(async (t) => {
    const current = await t.registrationTokens.get(token);
    if (!current || !(await t.registrationTokens.delete(token))) throw notFound(token);
    await recordAudit(
      t,
      ctx,
      actor,
      "registration_token.delete",
      token,
      {
        ...settings(current),
        pending: current.pending,
        completed: current.completed,
      },
      {},
    );
  });
}
