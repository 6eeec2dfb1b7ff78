/**
 * @module Synapse's registration-tokens admin API (`synapse/rest/admin/registration_tokens.py`): list, look up,
 * create, change and delete the tokens `registration_requires_token` asks sign-ups for.
 *
 * Every endpoint needs an admin's access token (403 `M_FORBIDDEN` "You are not a server admin" otherwise). The API
 * works whether or not `registration_requires_token` is on, as in Synapse.
 */
import type { FastifyRequest } from "fastify";
import {
  createRegistrationToken,
  invitationSettings,
  parseCreateRegistrationToken,
  parseUpdateRegistrationToken,
  deleteRegistrationToken,
  getRegistrationToken,
  listRegistrationTokens,
  updateRegistrationToken,
  type RegistrationTokenListResponse,
  type RegistrationTokenResponse,
} from "../../accounts/registration-tokens.js";
import { requireAdmin, requireAdminActor } from "../../http/auth.js";
import { ADMIN } from "../../http/paths.js";
import { booleanParam, queryOf } from "../../http/query.js";
import { jsonObjectBody } from "../../http/request.js";
import type { RouteModule } from "../../http/server.js";

const TOKENS = `${ADMIN}/v1/registration_tokens`;

const tokenOf = (request: FastifyRequest) => (request.params as { token: string }).token;

export const adminRegistrationTokensRoutes: RouteModule = (app, { accounts, config }) => {
  /**
   * # `GET /_synapse/admin/v1/registration_tokens`
   * - `valid` exactly `true` (usable now) or `false` (used up or expired); absent: all.
   * - `{"registration_tokens": [{token, uses_allowed, pending, completed, expiry_time}]}`, oldest first.
   */
  app.get(TOKENS, async (request): Promise<RegistrationTokenListResponse> => {
    await requireAdmin(request, accounts);
    return listRegistrationTokens(accounts, booleanParam(queryOf(request), "valid", null));
  });

  /**
   * # `POST /_synapse/admin/v1/registration_tokens/new`
   * - A JSON object (`{}` will do): `token` (1–64 of `[A-Za-z0-9._~-]`) or `length` (1–64, default 16) for a
   *   generated one; `uses_allowed` null or an integer ≥ 0; `expiry_time` null or integer ms not in the past.
   * - 200 with the token; an existing name: 400 `M_INVALID_PARAM` "Token already exists: <token>".
   * - Gatehouse: `bound_username`, `bound_email`; with `bound_email` and `email` configured, the invitation mail
   *   (the sign-up page's link with the token) is queued with the token.
   */
  app.post(`${TOKENS}/new`, async (request): Promise<RegistrationTokenResponse> => {
    const actor = await requireAdminActor(request, accounts);
    return createRegistrationToken(
      accounts,
      actor,
      parseCreateRegistrationToken(accounts, jsonObjectBody(request)),
      invitationSettings(config),
    );
  });

  /**
   * # `GET /_synapse/admin/v1/registration_tokens/{token}`
   * - The token, or 404 `M_NOT_FOUND` "No such registration token: <token>".
   */
  app.get(`${TOKENS}/:token`, async (request): Promise<RegistrationTokenResponse> => {
    await requireAdmin(request, accounts);
    return getRegistrationToken(accounts, tokenOf(request));
  });

  /**
   * # `PUT /_synapse/admin/v1/registration_tokens/{token}`
   * - `uses_allowed` and/or `expiry_time`, checked as on creation (`null` clears); other keys ignored. The token
   *   as it is now, or 404.
   */
  app.put(`${TOKENS}/:token`, async (request): Promise<RegistrationTokenResponse> => {
    const actor = await requireAdminActor(request, accounts);
    return updateRegistrationToken(
      accounts,
      actor,
      tokenOf(request),
      parseUpdateRegistrationToken(accounts, jsonObjectBody(request)),
    );
  });

  /**
   * # `DELETE /_synapse/admin/v1/registration_tokens/{token}`
   * - `{}`, or 404.
   */
  app.delete(`${TOKENS}/:token`, async (request) => {
    const actor = await requireAdminActor(request, accounts);
    await deleteRegistrationToken(accounts, actor, tokenOf(request));
    return {};
  });
};
