/**
 * @module Synapse's user admin API (`synapse/rest/admin/users.py`, `username_available.py`): accounts looked up,
 * listed, created or modified, promoted, deactivated, suspended, shadow-banned, given a new password, logged in as.
 *
 * Every endpoint needs an admin's access token (403 `M_FORBIDDEN` "You are not a server admin" otherwise), read
 * fresh from the database. User IDs in paths may be raw (`@alice:example.org`) or percent-encoded.
 */
import type { FastifyRequest } from "fastify";
import { loginAsUser } from "../../accounts/admin-login-as.js";
import { parseUserId } from "../../accounts/admin-user-ids.js";
import {
  parseDeactivate,
  parseResetPassword,
  parseSetAdmin,
  parseSuspend,
  parseUserPut,
} from "../../accounts/admin-user-commands.js";
import { putUser } from "../../accounts/admin-user-put.js";
import type { AdminUserListResponse, AdminUserResponse } from "../../accounts/admin-user-response.js";
import {
  adminDeactivate,
  resetPassword,
  setAdminFlag,
  setShadowBan,
  setSuspended,
} from "../../accounts/admin-user-writes.js";
import { getAdminFlag, getUser, listUsers, usernameAvailable } from "../../accounts/admin-users-query.js";
import { USER_SORT_COLUMNS, type UserListQuery } from "../../db/users.js";
import { requireAdmin, requireAdminActor } from "../../http/auth.js";
import { ADMIN } from "../../http/paths.js";
import {
  adminPagingParams,
  booleanParam,
  enumParam,
  queryOf,
  requiredStringParam,
  stringParam,
  stringsParam,
  type Query,
} from "../../http/query.js";
import { jsonObjectBody, optionalJsonObjectBody } from "../../http/request.js";
import type { RouteModule } from "../../http/server.js";

/** The user ID as sent: raw or percent-encoded (the router has decoded it). */
export const userIdOf = (request: FastifyRequest) => (request.params as { userId: string }).userId;

/**
 * The query of `GET /v2/users` and `/v3/users`, checked in Synapse's order with Synapse's words. Exported for the
 * admin CLI's database mode, so its `user list` reads its flags exactly as this endpoint does.
 */
export function userListQuery(query: Query, version: 2 | 3): UserListQuery {
  const { from, limit } = adminPagingParams(query);
  const userIdContains = stringParam(query, "user_id");
  const name = stringParam(query, "name");
  const guests = booleanParam(query, "guests", true);
  const deactivatedParam = booleanParam(query, "deactivated", null);
  // v2: absent or false hides deactivated accounts, true shows them too. v3: a plain filter (absent: all).
  const deactivated = version === 2 ? (deactivatedParam === true ? null : false) : deactivatedParam;
  const locked = booleanParam(query, "locked", false);
  const admins = booleanParam(query, "admins", null);
  const suspended = booleanParam(query, "suspended", null);
  const orderBy = enumParam(query, "order_by", USER_SORT_COLUMNS, "name");
  const direction = enumParam(query, "dir", ["f", "b"] as const, "f");
  return {
    from,
    limit,
    name,
    userIdContains,
    isGuest: guests ? null : false,
    deactivated,
    locked: locked ? null : false,
    suspended: suspended === false ? false : null,
    admin: admins,
    userTypes: "user_types" in query ? stringsParam(query, "user_types") : null,
    notUserTypes: stringsParam(query, "not_user_type"),
    orderBy,
    direction,
  };
}

export const adminUsersRoutes: RouteModule = (app, { accounts }) => {
  for (const version of [2, 3] as const) {
    /**
     * # `GET /_synapse/admin/v2/users` (and `GET /_synapse/admin/v3/users`)
     * - `from`, `limit` (default 100): non-negative integers; `name` (localpart or display name contains, any
     *   case), `user_id` (ID contains; ignored with `name`); `guests`, `locked`, `admins`, `suspended`,
     *   `deactivated` exactly `true`/`false`; `not_user_type` (repeatable, `""` = ordinary users),
     *   `user_types` (repeatable, Gatehouse); `order_by` (Synapse's columns), `dir` `f`/`b`; then by name.
     * - v2: deactivated accounts only with `deactivated=true`; v3: `deactivated` filters (absent: all).
     * - `{users, total, next_token?}`, `creation_ts` in milliseconds.
     */
    app.get(`${ADMIN}/v${version}/users`, async (request): Promise<AdminUserListResponse> => {
      await requireAdmin(request, accounts);
      return listUsers(accounts, userListQuery(queryOf(request), version));
    });
  }

  /**
   * # `GET /_synapse/admin/v2/users/{userId}`
   * - The account (`creation_ts` in seconds), its 3PIDs and external IDs; never a password hash.
   * - Remote: 400 "Can only look up local users"; unknown: 404 `M_NOT_FOUND` "User not found".
   */
  app.get(`${ADMIN}/v2/users/:userId`, async (request): Promise<AdminUserResponse> => {
    await requireAdmin(request, accounts);
    return getUser(accounts, userIdOf(request));
  });

  /**
   * # `PUT /_synapse/admin/v2/users/{userId}`
   * - Creates the account (201) or changes the fields the body names (200); the answer is the account as `GET`.
   * - Fields: `password`, `logout_devices`, `displayname`, `avatar_url`, `threepids`, `external_ids`, `admin`,
   *   `deactivated`, `locked`, `user_type`; Synapse's checks and words; the password policy applies.
   * - All changes and their audit entry in one transaction.
   */
  app.put(`${ADMIN}/v2/users/:userId`, async (request, reply): Promise<AdminUserResponse> => {
    const actor = await requireAdminActor(request, accounts);
    const userId = userIdOf(request);
    parseUserId(userId);
    const body = jsonObjectBody(request);
    const result = await putUser(accounts, actor, userId, () => parseUserPut(body));
    reply.status(result.created ? 201 : 200);
    return result.user;
  });

  /**
   * # `GET /_synapse/admin/v1/users/{userId}/admin`
   * - `{"admin": bool}`, false for an unknown user; remote: 400 "Only local users can be admins of this homeserver".
   */
  app.get(`${ADMIN}/v1/users/:userId/admin`, async (request) => {
    await requireAdmin(request, accounts);
    return getAdminFlag(accounts, userIdOf(request));
  });

  /**
   * # `PUT /_synapse/admin/v1/users/{userId}/admin`
   * - `{"admin": value}` required (400 `M_MISSING_PARAM`), read as Python's truth value; demoting yourself: 400
   *   "You may not demote yourself."; unknown user: 404. `{}`.
   */
  app.put(`${ADMIN}/v1/users/:userId/admin`, async (request) => {
    const actor = await requireAdminActor(request, accounts);
    const userId = userIdOf(request);
    parseUserId(userId);
    await setAdminFlag(accounts, actor, userId, parseSetAdmin(jsonObjectBody(request)));
    return {};
  });

  /**
   * # `POST /_synapse/admin/v1/deactivate/{userId}`
   * - Body optional; `erase` a boolean (400 `M_BAD_JSON`). Devices, tokens and 3PIDs go, the password is cleared;
   *   with `erase` the profile too. `{"id_server_unbind_result": "success"}`.
   */
  app.post(`${ADMIN}/v1/deactivate/:userId`, async (request) => {
    const actor = await requireAdminActor(request, accounts);
    return adminDeactivate(accounts, actor, userIdOf(request), () => parseDeactivate(optionalJsonObjectBody(request)));
  });

  /**
   * # `POST /_synapse/admin/v1/reset_password/{userId}`
   * - `new_password` required (400 `M_MISSING_PARAM`), a non-empty string of ≤ 512 characters, then the password
   *   policy; `logout_devices` (default true) logs out every session of the user. Unknown user: 404 "Unknown user".
   */
  app.post(`${ADMIN}/v1/reset_password/:userId`, async (request) => {
    const actor = await requireAdminActor(request, accounts);
    const userId = userIdOf(request);
    parseUserId(userId);
    await resetPassword(accounts, actor, userId, parseResetPassword(jsonObjectBody(request)));
    return {};
  });

  /**
   * # `GET /_synapse/admin/v1/username_available`
   * - `?username=` (required): the username rules as given, not lower-cased; works with registration closed.
   *   `{"available": true}` or the rule's error (400 `M_USER_IN_USE`, `M_INVALID_USERNAME`).
   */
  app.get(`${ADMIN}/v1/username_available`, async (request) => {
    await requireAdmin(request, accounts);
    return usernameAvailable(accounts, requiredStringParam(queryOf(request), "username"));
  });

  /**
   * # `POST /_synapse/admin/v1/users/{userId}/login`
   * - Body optional; `valid_until_ms` an integer or null. A device-less token acting as the user:
   *   `{"access_token"}`. Yourself: 400 "Cannot use admin API to login as self".
   */
  app.post(`${ADMIN}/v1/users/:userId/login`, async (request) => {
    const actor = await requireAdminActor(request, accounts);
    return loginAsUser(accounts, actor, userIdOf(request), optionalJsonObjectBody(request));
  });

  /**
   * # `POST /_synapse/admin/v1/users/{userId}/shadow_ban`
   * - Marks the user shadow-banned (there are no events yet for it to hide). `{}`.
   */
  app.post(`${ADMIN}/v1/users/:userId/shadow_ban`, async (request) => {
    const actor = await requireAdminActor(request, accounts);
    await setShadowBan(accounts, actor, userIdOf(request), true);
    return {};
  });

  /**
   * # `DELETE /_synapse/admin/v1/users/{userId}/shadow_ban`
   * - Lifts the shadow-ban. `{}`.
   */
  app.delete(`${ADMIN}/v1/users/:userId/shadow_ban`, async (request) => {
    const actor = await requireAdminActor(request, accounts);
    await setShadowBan(accounts, actor, userIdOf(request), false);
    return {};
  });

  /**
   * # `PUT /_synapse/admin/v1/suspend/{userId}`
   * - `{"suspend": bool}` (else 400 `M_BAD_JSON`) → `{"user_<id>_suspended": bool}`.
   */
  app.put(`${ADMIN}/v1/suspend/:userId`, async (request) => {
    const actor = await requireAdminActor(request, accounts);
    return setSuspended(accounts, actor, userIdOf(request), () => parseSuspend(jsonObjectBody(request)));
  });
};
