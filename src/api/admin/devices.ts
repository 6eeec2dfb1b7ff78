/**
 * @module Synapse's device admin API (`synapse/rest/admin/devices.py`): another user's devices.
 *
 * For every endpoint: a remote user is 400 "Can only lookup local users", an unknown one 404 `M_NOT_FOUND`
 * "Unknown user" (Synapse's words here).
 */
import type { FastifyRequest } from "fastify";
import {
  createUserDevice,
  deleteUserDevices,
  getUserDevice,
  listUserDevices,
  parseAdminDeleteDevices,
  parseCreateDevice,
  parseUpdateDevice,
  updateUserDevice,
  type AdminDeviceResponse,
} from "../../accounts/admin-devices.js";
import { parseUserId } from "../../accounts/admin-user-ids.js";
import { requireAdmin, requireAdminActor } from "../../http/auth.js";
import { ADMIN } from "../../http/paths.js";
import { jsonObjectBody, optionalJsonObjectBody } from "../../http/request.js";
import type { RouteModule } from "../../http/server.js";
import { userIdOf } from "./users.js";

const deviceIdOf = (request: FastifyRequest) => (request.params as { deviceId: string }).deviceId;

/** The path's user ID, checked for shape first (400 `M_INVALID_PARAM`). */
function targetOf(request: FastifyRequest): string {
  const userId = userIdOf(request);
  parseUserId(userId);
  return userId;
}

export const adminDevicesRoutes: RouteModule = (app, { accounts }) => {
  /**
   * # `GET /_synapse/admin/v2/users/{userId}/devices`
   * - `{"devices": [{device_id, display_name, last_seen_ip, last_seen_ts, last_seen_user_agent, user_id,
   *   dehydrated}], "total": n}`, ordered by device ID; unknown values are null.
   */
  app.get(`${ADMIN}/v2/users/:userId/devices`, async (request) => {
    await requireAdmin(request, accounts);
    return listUserDevices(accounts, targetOf(request));
  });

  /**
   * # `POST /_synapse/admin/v2/users/{userId}/devices`
   * - `{"device_id"}` (else 400 "Missing device_id"): makes the device if the user lacks it. 201 `{}`.
   */
  app.post(`${ADMIN}/v2/users/:userId/devices`, async (request, reply) => {
    const actor = await requireAdminActor(request, accounts);
    const userId = targetOf(request);
    const body = jsonObjectBody(request);
    await createUserDevice(accounts, actor, userId, () => parseCreateDevice(body));
    reply.status(201);
    return {};
  });

  /**
   * # `GET /_synapse/admin/v2/users/{userId}/devices/{deviceId}`
   * - The device, or 404 `M_NOT_FOUND` "No device found".
   */
  app.get(`${ADMIN}/v2/users/:userId/devices/:deviceId`, async (request): Promise<AdminDeviceResponse> => {
    await requireAdmin(request, accounts);
    return getUserDevice(accounts, targetOf(request), deviceIdOf(request));
  });

  /**
   * # `PUT /_synapse/admin/v2/users/{userId}/devices/{deviceId}`
   * - Body optional; `display_name` as the client API's rename (≤ 100 code points). Unknown device: 404
   *   "Not found". `{}`.
   */
  app.put(`${ADMIN}/v2/users/:userId/devices/:deviceId`, async (request) => {
    const actor = await requireAdminActor(request, accounts);
    const userId = targetOf(request);
    const body = optionalJsonObjectBody(request);
    await updateUserDevice(accounts, actor, userId, deviceIdOf(request), () => parseUpdateDevice(body));
    return {};
  });

  /**
   * # `DELETE /_synapse/admin/v2/users/{userId}/devices/{deviceId}`
   * - The device goes with its tokens and keys; an unknown device ID is not an error. `{}`.
   */
  app.delete(`${ADMIN}/v2/users/:userId/devices/:deviceId`, async (request) => {
    const actor = await requireAdminActor(request, accounts);
    await deleteUserDevices(accounts, actor, targetOf(request), [deviceIdOf(request)]);
    return {};
  });

  /**
   * # `POST /_synapse/admin/v2/users/{userId}/delete_devices`
   * - `{"devices": [...]}` required (400 `M_MISSING_PARAM`), a list of strings (400 `M_BAD_JSON`); all go in one
   *   transaction, unknown IDs ignored. `{}`.
   */
  app.post(`${ADMIN}/v2/users/:userId/delete_devices`, async (request) => {
    const actor = await requireAdminActor(request, accounts);
    const userId = targetOf(request);
    const devices = parseAdminDeleteDevices(jsonObjectBody(request));
    await deleteUserDevices(accounts, actor, userId, devices);
    return {};
  });
};
