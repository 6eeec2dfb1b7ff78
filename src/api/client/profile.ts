/**
 * @module Profiles of the client-server API (spec: "Profiles"): display name and avatar.
 */
import type { FastifyRequest } from "fastify";
import {
  ProfileField,
  getProfile,
  getProfileField,
  setProfileField,
  type ProfileResponse,
} from "../../accounts/profile.js";
import { requireNonGuest, requireUser } from "../../http/auth.js";
import { clientPaths } from "../../http/paths.js";
import { jsonObjectBody } from "../../http/request.js";
import type { RouteModule } from "../../http/server.js";

/** https://spec.matrix.org/v1.16/client-server-api/#get_matrixclientv3profileuseridkeyname */
export type ProfileFieldResponse = Partial<Record<ProfileField, string | null>>;

/** The user ID as sent: `@alice:example.org` raw or percent-encoded (the router has decoded it). */
const userIdOf = (request: FastifyRequest) => (request.params as { userId: string }).userId;

export const profileRoutes: RouteModule = (app, { accounts }) => {
  /**
   * # `GET /_matrix/client/v3/profile/{userId}`
   * - No authentication. The fields that are set; a local user with neither, an unknown user or a user of another
   *   server (there is no federation) is 404 `M_NOT_FOUND` "Profile was not found".
   * - A malformed user ID is 400 `M_INVALID_PARAM` "Invalid user id".
   */
  for (const url of clientPaths("/profile/:userId", { apiV1: true })) {
    app.get(url, async (request): Promise<ProfileResponse> => getProfile(accounts, userIdOf(request)));
  }

  for (const field of [ProfileField.Displayname, ProfileField.AvatarUrl]) {
    /**
     * # `GET /_matrix/client/v3/profile/{userId}/displayname` and `.../avatar_url`
     * - No authentication. `{"<field>": value}`, the value null when unset (Synapse's answer); unknown user 404.
     */
    for (const url of clientPaths(`/profile/:userId/${field}`, { apiV1: true })) {
      app.get(url, async (request): Promise<ProfileFieldResponse> => ({
        [field]: await getProfileField(accounts, userIdOf(request), field),
      }));
    }

    /**
     * # `PUT /_matrix/client/v3/profile/{userId}/displayname` and `.../avatar_url`
     * - Only for oneself (an admin may set anyone's): another user's is 403 `M_FORBIDDEN`. Guests may set their
     *   display name but not an avatar.
     * - The body must hold the field (400 `M_MISSING_PARAM`), as a string (400 `M_INVALID_PARAM`; null too).
     *   `displayname` ≤ 256 code points, stored trimmed; `avatar_url` ≤ 1000 and an `mxc://` URI. Either limit
     *   broken is 400 `M_TOO_LARGE`. An empty string clears the field.
     */
    for (const url of clientPaths(`/profile/:userId/${field}`, { apiV1: true })) {
      app.put(url, async (request) => {
        const requester =
          field === ProfileField.Displayname
            ? await requireUser(request, accounts)
            : await requireNonGuest(request, accounts);
        await setProfileField(accounts, requester, userIdOf(request), field, jsonObjectBody(request));
        return {};
      });
    }
  }
};
