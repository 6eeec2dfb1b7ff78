/**
 * @module Authenticating a request: the token from the request, the requester from the accounts service.
 */
import type { FastifyRequest } from "fastify";
import { authenticate, type Requester } from "../accounts/auth.js";
import type { AccountsContext } from "../accounts/context.js";
import { accessTokenOf } from "./request.js";

export async function requireUser(request: FastifyRequest, accounts: AccountsContext): Promise<Requester> {
  return authenticate(accounts, accessTokenOf(request));
}
