/**
 * @module The SSO flow's browser-held state: the OIDC session (state, nonce, PKCE verifier, where to go back to) and
 * the username-mapping session, each a signed, expiring value in an HttpOnly cookie. Nothing is stored server-side,
 * so any process of the server can take the callback and no purge is needed; a cookie is bound to the browser that
 * started the flow, and the IdP's single-use code keeps a callback from being replayed.
 *
 * The MAC key is derived from the server's signing key (Ed25519 signatures are deterministic), so every process of
 * one server agrees on it and it changes when the signing key does.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import type { AccountsContext } from "./context.js";

const KEY_LABEL = "gatehouse sso cookie key v1";
const keys = new WeakMap<AccountsContext, Buffer>();

function macKey(ctx: AccountsContext): Buffer {
  let key = keys.get(ctx);
  if (!key) {
    key = ctx.signingKey.sign(Buffer.from(KEY_LABEL));
    keys.set(ctx, key);
  }
  return key;
}

function mac(ctx: AccountsContext, purpose: string, body: string): Buffer {
  return createHmac("sha256", macKey(ctx)).update(`${purpose}\u0000${body}`).digest();
}

/** `payload` (JSON) signed for `purpose`, good until `expiresAt` (ms). */
export function sealCookie(ctx: AccountsContext, purpose: string, payload: object, expiresAt: number): string {
  const body = Buffer.from(JSON.stringify({ ...payload, exp: expiresAt })).toString("base64url");
  return `${body}.${mac(ctx, purpose, body).toString("base64url")}`;
}

/** The payload if the MAC is right (constant-time) and the value has not expired; null otherwise. */
export function openCookie(
  ctx: AccountsContext,
  purpose: string,
  value: string | undefined,
): Record<string, unknown> | null {
  if (!value) return null;
  const dot = value.indexOf(".");
  if (dot <= 0) return null;
  const body = value.slice(0, dot);
  const given = Buffer.from(value.slice(dot + 1), "base64url");
  const expected = mac(ctx, purpose, body);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
  let payload: unknown;
  try {
    payload = JSON.parse(Buffer.from(body, "base64url").toString("utf8"));
  } catch {
    return null;
  }
  if (typeof payload !== "object" || payload === null) return null;
  const exp = (payload as { exp?: unknown }).exp;
  if (typeof exp !== "number" || exp < ctx.now()) return null;
  return payload as Record<string, unknown>;
}
