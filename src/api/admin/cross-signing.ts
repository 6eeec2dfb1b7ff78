/**
 * @module Synapse's admin endpoint for cross-signing resets (`UserReplaceMasterCrossSigningKeyRestServlet`), which
 * account services such as MAS call when a user has proven who they are some other way.
 */
import { allowCrossSigningReplacement } from "../../keys/cross-signing.js";
import { requireAdminActor } from "../../http/auth.js";
import { ADMIN } from "../../http/paths.js";
import type { RouteModule } from "../../http/server.js";
import { userIdOf } from "./users.js";

export const adminCrossSigningRoutes: RouteModule = (app, { accounts }) => {
  /**
   * # `POST /_synapse/admin/v1/users/{userId}/_allow_cross_signing_replacement_without_uia`
   * - The user may replace their master cross-signing key without UIA for 10 minutes (until they do):
   *   `{"updatable_without_uia_before_ms": ts}`. No master key (or no such user): 404 "User has no master
   *   cross-signing key". Audited.
   */
  app.post(`${ADMIN}/v1/users/:userId/_allow_cross_signing_replacement_without_uia`, async (request) => {
    const actor = await requireAdminActor(request, accounts);
    return allowCrossSigningReplacement(accounts, actor, userIdOf(request));
  });
};
