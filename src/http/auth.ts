/**
 * @module Authenticating a request: the token from the request, the requester from the accounts service.
 */
import type { FastifyRequest } from "fastify";
import { authenticate, type AuthenticateOptions, type Requester } from "../accounts/auth.js";
import type { AccountsContext } from "../accounts/context.js";
import { ErrCode, MatrixError } from "./errors.js";
import { accessTokenOf } from "./request.js";

export async function requireUser(
  request: FastifyRequest,
  accounts: AccountsContext,
  options: AuthenticateOptions = {},
): Promise<Requester> {
  return authenticate(accounts, accessTokenOf(request), options);
}

/** `requireUser` for endpoints Synapse closes to guests: a guest gets 403 `M_GUEST_ACCESS_FORBIDDEN`. */
export async function requireNonGuest(request: FastifyRequest, accounts: AccountsContext): Promise<Requester> {
  const requester = await requireUser(request, accounts);
  if (requester.isGuest) throw new MatrixError(ErrCode.GuestAccessForbidden, "Guest access not allowed");
  return requester;
}
