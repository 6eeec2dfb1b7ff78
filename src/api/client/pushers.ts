/**
 * @module Pushers of the client-server API (spec "Push Notifications": pushers). Stored only: this server does not
 * contact push gateways yet. Closed to guests (403 `M_GUEST_ACCESS_FORBIDDEN`), as in Synapse.
 */
import { pushersOf, setPusher, type PusherJson } from "../../push/pushers.js";
import { requireNonGuest } from "../../http/auth.js";
import { clientPaths } from "../../http/paths.js";
import { jsonObjectBody } from "../../http/request.js";
import type { RouteModule } from "../../http/server.js";

export const pushersRoutes: RouteModule = (app, { accounts }) => {
  /**
   * # `GET /_matrix/client/v3/pushers`
   * - `{"pushers": [...]}`: the user's pushers, oldest first.
   */
  for (const url of clientPaths("/pushers")) {
    app.get(url, async (request): Promise<{ pushers: PusherJson[] }> => {
      const requester = await requireNonGuest(request, accounts);
      return { pushers: await pushersOf(accounts, requester.userId) };
    });
  }

  /**
   * # `POST /_matrix/client/v3/pushers/set`
   * - Creates or replaces the user's pusher of (`app_id`, `pushkey`); `kind: null` deletes it. Without
   *   `append: true`, other users' pushers with the same `app_id` and `pushkey` are removed.
   * - As Synapse: a missing field is 400 `M_MISSING_PARAM` "Missing params: [...]"; an HTTP pusher without
   *   `data.url`, or with a URL whose path is not `/_matrix/push/v1/notify`, 400 `M_MISSING_PARAM` "Config Error: …";
   *   an email pusher for an address not bound to the account, 400 `M_THREEPID_NOT_FOUND`.
   * - Beyond Synapse: a `kind` other than `http`/`email`, an `app_id` over 64 characters, a `pushkey` over 512
   *   bytes or a field of the wrong type is 400 `M_INVALID_PARAM` (the spec's limits).
   */
  for (const url of clientPaths("/pushers/set")) {
    app.post(url, async (request) => {
      const requester = await requireNonGuest(request, accounts);
      await setPusher(accounts, requester.userId, requester.deviceId, jsonObjectBody(request));
      return {};
    });
  }
};
