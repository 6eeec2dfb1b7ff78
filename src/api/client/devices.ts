/**
 * @module Device management of the client-server API (spec: "Device management").
 */
import type { FastifyRequest } from "fastify";
import {
  deleteDevicesWithAuth,
  getDevice,
  listDevices,
  parseDeleteDevices,
  updateDevice,
} from "../../accounts/devices.js";
import type { Device } from "../../db/devices.js";
import { requireNonGuest, requireUser } from "../../http/auth.js";
import { ErrCode, MatrixError } from "../../errors.js";
import { clientPaths } from "../../http/paths.js";
import { jsonObjectBody } from "../../http/request.js";
import type { RouteModule } from "../../http/server.js";

/** https://spec.matrix.org/v1.16/client-server-api/#get_matrixclientv3devices (`definitions/client_device.yaml`) */
export interface ClientDevice {
  device_id: string;
  /** Not in the spec's schema; Synapse sends it and clients tolerate it. */
  user_id: string;
  display_name?: string;
  last_seen_ip?: string;
  last_seen_ts?: number;
}

/** https://spec.matrix.org/v1.16/client-server-api/#get_matrixclientv3devices */
export interface DevicesResponse {
  devices: ClientDevice[];
}

/** The spec's optional fields are left out when unset, rather than sent as null. */
function clientDevice(d: Device): ClientDevice {
  const out: ClientDevice = { device_id: d.deviceId, user_id: d.userId };
  if (d.displayName !== null) out.display_name = d.displayName;
  if (d.lastSeenIp !== null) out.last_seen_ip = d.lastSeenIp;
  if (d.lastSeenTs !== null) out.last_seen_ts = d.lastSeenTs;
  return out;
}

/** Synapse treats a body that is not JSON as `{}` on device deletion (for old clients that sent none). */
function bodyOrEmpty(request: FastifyRequest): Record<string, unknown> {
  try {
    return jsonObjectBody(request);
  } catch (err) {
    if (err instanceof MatrixError && err.errcode === ErrCode.NotJson) return {};
    throw err;
  }
}

const uriOf = (request: FastifyRequest) => request.url.split("?")[0]!;
const deviceIdOf = (request: FastifyRequest) => (request.params as { deviceId: string }).deviceId;

export const devicesRoutes: RouteModule = (app, deps) => {
  const { accounts } = deps;

  /**
   * # `GET /_matrix/client/v3/devices`
   * - Every device of the requester (guests too), ordered by device ID; `last_seen_user_agent` is never sent.
   */
  for (const url of clientPaths("/devices")) {
    app.get(url, async (request): Promise<DevicesResponse> => {
      const r = await requireUser(request, accounts);
      return { devices: (await listDevices(accounts, r.userId)).map(clientDevice) };
    });
  }

  /**
   * # `GET /_matrix/client/v3/devices/{deviceId}`
   * - One of the requester's devices; another user's or an unknown one is 404 `M_NOT_FOUND` "No device found".
   */
  for (const url of clientPaths("/devices/:deviceId")) {
    app.get(url, async (request): Promise<ClientDevice> => {
      const r = await requireUser(request, accounts);
      return clientDevice(await getDevice(accounts, r.userId, deviceIdOf(request)));
    });
  }

  /**
   * # `PUT /_matrix/client/v3/devices/{deviceId}`
   * - `display_name` (string, ≤ 100 code points, else 400 `M_TOO_LARGE`) renames the device; absent leaves it.
   * - Unknown device: 404 `M_NOT_FOUND`. Devices are never created here (that is for application services).
   */
  for (const url of clientPaths("/devices/:deviceId")) {
    app.put(url, async (request) => {
      const r = await requireUser(request, accounts);
      await updateDevice(accounts, r.userId, deviceIdOf(request), jsonObjectBody(request));
      return {};
    });
  }

  /**
   * # `DELETE /_matrix/client/v3/devices/{deviceId}`
   * - UIA `[m.login.password]` ("remove a device from your account"); no guests.
   * - The device goes with its tokens and keys; an unknown device ID is not an error, as in Synapse.
   */
  for (const url of clientPaths("/devices/:deviceId")) {
    app.delete(url, async (request) => {
      const r = await requireNonGuest(request, accounts);
      await deleteDevicesWithAuth(deps, r, [deviceIdOf(request)], {
        uri: uriOf(request),
        method: request.method,
        body: bodyOrEmpty(request),
        description: "remove a device from your account",
      });
      return {};
    });
  }

  /**
   * # `POST /_matrix/client/v3/delete_devices`
   * - `devices`: a list of device IDs, required on every request of the exchange (else 400 `M_BAD_JSON`).
   * - UIA `[m.login.password]` ("remove device(s) from your account"); all listed devices go in one transaction.
   */
  for (const url of clientPaths("/delete_devices")) {
    app.post(url, async (request) => {
      const r = await requireNonGuest(request, accounts);
      const body = bodyOrEmpty(request);
      const { devices } = parseDeleteDevices(body);
      await deleteDevicesWithAuth(deps, r, devices, {
        uri: uriOf(request),
        method: request.method,
        body,
        description: "remove device(s) from your account",
      });
      return {};
    });
  }
};
