/**
 * @module The admin API's view of a user's pushers (Synapse's `GET /_synapse/admin/v1/users/{userId}/pushers`).
 */
import { existingUser } from "../../accounts/admin-user-ids.js";
import { requireAdmin } from "../../http/auth.js";
import type { RouteModule } from "../../http/server.js";
import { pushersOf, type PusherJson } from "../../push/pushers.js";

export const adminPushersRoutes: RouteModule = (app, { accounts }) => {
  /**
   * # `GET /_synapse/admin/v1/users/{userId}/pushers`
   * - `{pushers: [...], total}`, each pusher as `GET /pushers` shows it. Another server's user: 400
   *   "Can only look up local users"; unknown: 404 `M_NOT_FOUND` "User not found" (as Synapse).
   */
  app.get<{ Params: { userId: string } }>("/_synapse/admin/v1/users/:userId/pushers", async (request) => {
    await requireAdmin(request, accounts);
    const user = await existingUser(accounts, request.params.userId, "Can only look up local users");
    const pushers: PusherJson[] = await pushersOf(accounts, user.userId);
    return { pushers, total: pushers.length };
  });
};
