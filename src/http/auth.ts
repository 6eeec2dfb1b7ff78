/**
 * @module Authenticating a request: the token from the request, the requester from the accounts service.
 */
import type { FastifyRequest } from "fastify";
import { assertAdmin, authenticate, type AuthenticateOptions, type Requester } from "../accounts/auth.js";
import type { AdminActor } from "../accounts/audit.js";
import type { AccountsContext } from "../accounts/context.js";
import { noteSeen } from "../accounts/last-seen.js";
import { ErrCode, MatrixError } from "../errors.js";
import { accessTokenOf, clientIp } from "./request.js";

/** The requester, or 401; the request is noted as the device's last use (written at most once a minute). */
export async function requireUser(
  request: FastifyRequest,
  accounts: AccountsContext,
  options: AuthenticateOptions = {},
): Promise<Requester> {
  const requester = await authenticate(accounts, accessTokenOf(request), options);
  const ua = request.headers["user-agent"];
  await noteSeen(accounts, requester, { ip: clientIp(request), userAgent: typeof ua === "string" ? ua : null });
  return requester;
}

/**
 * `requireUser` for the admin API: the token's user must be an admin, as the database says now (not as the token
 * cache remembers), so a demotion takes effect on the next request. Others: 403 `M_FORBIDDEN` "You are not a
 * server admin".
 */
export async function requireAdmin(request: FastifyRequest, accounts: AccountsContext): Promise<Requester> {
  const requester = await requireUser(request, accounts);
  await assertAdmin(accounts, requester);
  return { ...requester, admin: true };
}

/** `requireAdmin`, answered as the actor the audit log records: who, with which session, from which address. */
export async function requireAdminActor(request: FastifyRequest, accounts: AccountsContext): Promise<AdminActor> {
  const r = await requireAdmin(request, accounts);
  return {
    userId: r.userId,
    deviceId: r.deviceId,
    tokenHash: r.tokenHash,
    ip: clientIp(request),
    impersonator: r.impersonator,
  };
}

/** `requireUser` for endpoints Synapse closes to guests: a guest gets 403 `M_GUEST_ACCESS_FORBIDDEN`. */
export async function requireNonGuest(request: FastifyRequest, accounts: AccountsContext): Promise<Requester> {
  const requester = await requireUser(request, accounts);
  if (requester.isGuest) throw new MatrixError(ErrCode.GuestAccessForbidden, "Guest access not allowed");
  return requester;
}
