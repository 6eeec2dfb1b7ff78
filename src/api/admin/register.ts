/**
 * @module Shared-secret registration, Synapse's `/_synapse/admin/v1/register`.
 */
import {
  issueRegistrationNonce,
  registerWithSharedSecret,
  type SharedSecretRegisterResponse,
} from "../../accounts/shared-secret.js";
import { ADMIN } from "../../http/paths.js";
import { jsonObjectBody } from "../../http/request.js";
import type { RouteModule } from "../../http/server.js";

export interface NonceResponse {
  nonce: string;
}

export const registerRoutes: RouteModule = (app, { accounts, config }) => {
  /**
   * # `GET /_synapse/admin/v1/register`
   * - No authentication; works whether or not a secret is configured, as in Synapse.
   * - The nonce is good for 60 seconds, once, on any Gatehouse process sharing the database.
   */
  app.get(`${ADMIN}/v1/register`, async (): Promise<NonceResponse> => ({
    nonce: await issueRegistrationNonce(accounts),
  }));

  /**
   * # `POST /_synapse/admin/v1/register`
   * - Checks the HMAC-SHA1 of `nonce\0username\0password\0admin|notadmin[\0user_type]` in constant time.
   * - Works with `enable_registration: false`; 400 when no shared secret is configured.
   * - Honours `admin`, `user_type`, `displayname`, `inhibit_login`, `device_id`, `initial_device_display_name`,
   *   and `refresh_token`; the issued token follows `session_lifetime` and the refresh settings, as `/register`'s.
   */
  app.post(`${ADMIN}/v1/register`, async (request): Promise<SharedSecretRegisterResponse> => {
    return registerWithSharedSecret(accounts, () => jsonObjectBody(request), config);
  });
};
