/**
 * @module Synapse's per-user admin settings (`synapse/rest/admin/users.py` `RateLimitRestServlet`,
 * `synapse/rest/admin/experimental_features.py`): a user's message-limit override and experimental features.
 * Every endpoint needs a server admin's token; the writes are audited.
 */
import {
  deleteRatelimitOverride,
  getExperimentalFeatures,
  getRatelimitOverride,
  setExperimentalFeatures,
  setRatelimitOverride,
} from "../../accounts/admin-user-overrides.js";
import { requireAdmin, requireAdminActor } from "../../http/auth.js";
import { ADMIN } from "../../http/paths.js";
import { jsonObjectBody, optionalJsonObjectBody } from "../../http/request.js";
import type { RouteModule } from "../../http/server.js";
import { userIdOf } from "./users.js";

export const adminUserOverridesRoutes: RouteModule = (app, { accounts }) => {
  /**
   * # `GET /_synapse/admin/v1/users/{userId}/override_ratelimit`
   * - `{messages_per_second, burst_count}`, or `{}` when the user has none. Another server's user: 400 "Can only
   *   look up local users"; unknown: 404 "User not found".
   */
  app.get(`${ADMIN}/v1/users/:userId/override_ratelimit`, async (request) => {
    await requireAdmin(request, accounts);
    return getRatelimitOverride(accounts, userIdOf(request));
  });

  /**
   * # `POST /_synapse/admin/v1/users/{userId}/override_ratelimit`
   * - Body optional, `{messages_per_second?, burst_count?}`: integers of at least 0 (absent: 0; else 400
   *   `M_INVALID_PARAM` "<value> parameter must be a positive int"). Replaces `rc_message` for the user; a rate of
   *   0 lifts their message and join limits. Answers the override as stored. Another server's user: 400 "Only
   *   local users can be ratelimited"; unknown: 404.
   */
  app.post(`${ADMIN}/v1/users/:userId/override_ratelimit`, async (request) => {
    const actor = await requireAdminActor(request, accounts);
    return setRatelimitOverride(accounts, actor, userIdOf(request), () => optionalJsonObjectBody(request));
  });

  /**
   * # `DELETE /_synapse/admin/v1/users/{userId}/override_ratelimit`
   * - The user's limits are the configured ones again. `{}`, whether or not there was an override.
   */
  app.delete(`${ADMIN}/v1/users/:userId/override_ratelimit`, async (request) => {
    const actor = await requireAdminActor(request, accounts);
    await deleteRatelimitOverride(accounts, actor, userIdOf(request));
    return {};
  });

  /**
   * # `GET /_synapse/admin/v1/experimental_features/{userId}`
   * - `{features: {msc3881, msc3575, msc4222: bool}}`, false for a feature never set. Another server's user: 400.
   */
  app.get(`${ADMIN}/v1/experimental_features/:userId`, async (request) => {
    await requireAdmin(request, accounts);
    return getExperimentalFeatures(accounts, userIdOf(request));
  });

  /**
   * # `PUT /_synapse/admin/v1/experimental_features/{userId}`
   * - `{features: {name: bool}}`: sets those, leaves the rest. No features: 400 "You must provide features to set.";
   *   an unknown name: 400 "'<name>' is not recognised as a valid experimental feature."; unknown user: 404. `{}`.
   */
  app.put(`${ADMIN}/v1/experimental_features/:userId`, async (request) => {
    const actor = await requireAdminActor(request, accounts);
    return setExperimentalFeatures(accounts, actor, userIdOf(request), () => jsonObjectBody(request));
  });
};
