/**
 * @module A user's devices as the client API manages them: list, look up, rename, delete (with UIA).
 *
 * Deleting a device deletes its access and refresh tokens with it (and its keys, by foreign-key cascade), in one
 * transaction for the whole list.
 */
import type { Device } from "../db/devices.js";
import type { Tables } from "../db/stores.js";
import { withDeviceListChange } from "../keys/device-lists.js";
import { ErrCode, MatrixError, refuseNul } from "../errors.js";
import type { Requester } from "./auth.js";
import type { AccountsContext, ServerContext } from "./context.js";
import { MAX_DEVICE_DISPLAY_NAME_LENGTH } from "./sessions.js";
import { validateUserViaUiAuth } from "./uia-password.js";

export async function listDevices(ctx: AccountsContext, userId: string): Promise<Device[]> {
  return ctx.stores.devices.listForUser(userId);
}

export async function getDevice(ctx: AccountsContext, userId: string, deviceId: string): Promise<Device> {
  const device = await ctx.stores.devices.get(userId, deviceId);
  if (!device) throw new MatrixError(ErrCode.NotFound, "No device found");
  return device;
}

/** The display name a `PUT /devices/{deviceId}` body asks for: a string, or null to leave the name as it is. */
export function parseDeviceUpdate(body: Record<string, unknown>): string | null {
  const name = body.display_name;
  if (name === undefined || name === null) return null;
  if (typeof name !== "string") throw new MatrixError(ErrCode.BadJson, "display_name must be a string");
  refuseNul(name, "display_name");
  // Python's len() counts code points; Synapse answers 400 here, not M_TOO_LARGE's usual 413.
  if ([...name].length > MAX_DEVICE_DISPLAY_NAME_LENGTH) {
    throw new MatrixError(ErrCode.TooLarge, `Device display name is too long (max ${MAX_DEVICE_DISPLAY_NAME_LENGTH})`, {
      status: 400,
    });
  }
  return name;
}

/** Renames the device (`name` null leaves it); an unknown device is 404 either way. Runs on stores or a transaction. */
export async function writeDeviceUpdate(
  t: Tables,
  userId: string,
  deviceId: string,
  name: string | null,
): Promise<void> {
  if (name !== null ? await t.devices.setDisplayName(userId, deviceId, name) : await t.devices.get(userId, deviceId)) {
    return;
  }
  throw new MatrixError(ErrCode.NotFound, "Not found");
}

/**
 * `PUT /devices/{deviceId}`: a string `display_name` replaces the name; absent or null leaves it. An unknown device
 * is 404 either way (Synapse answers 200 to an empty update of an unknown device). A rename is a device-list change
 * (as in Synapse: other users see the name in `/keys/query`).
 */
export async function updateDevice(
  ctx: AccountsContext,
  userId: string,
  deviceId: string,
  body: Record<string, unknown>,
): Promise<void> {
  const name = parseDeviceUpdate(body);
  await withDeviceListChange(ctx.stores, userId, async (t) => {
    await writeDeviceUpdate(t, userId, deviceId, name);
    return name === null ? [] : [deviceId];
  });
}

/** The deletions inside the caller's transaction; returns the devices that existed and went. */
export async function writeDeviceDeletion(t: Tables, userId: string, deviceIds: string[]): Promise<string[]> {
  const gone: string[] = [];
  for (const id of new Set(deviceIds)) if (await t.devices.delete(userId, id)) gone.push(id);
  return gone;
}

/** Deletes the devices in one transaction; IDs the user does not have are ignored, as in Synapse. */
export async function deleteDevices(ctx: AccountsContext, userId: string, deviceIds: string[]): Promise<void> {
  await withDeviceListChange(ctx.stores, userId, (t) => writeDeviceDeletion(t, userId, deviceIds));
}

export interface DeleteDevicesRequest {
  uri: string;
  method: string;
  body: Record<string, unknown>;
  /** Synapse's words: "remove a device from your account" or "remove device(s) from your account". */
  description: string;
}

/** https://spec.matrix.org/v1.16/client-server-api/#post_matrixclientv3delete_devices */
export interface DeleteDevicesBody {
  devices: string[];
}

/** The `devices` list of `POST /delete_devices`, required on every request of the UIA exchange as in Synapse. */
export function parseDeleteDevices(body: Record<string, unknown>): DeleteDevicesBody {
  const devices = body.devices;
  if (!Array.isArray(devices) || !devices.every((d) => typeof d === "string")) {
    throw new MatrixError(ErrCode.BadJson, "devices must be a list of strings");
  }
  return { devices };
}

/** `DELETE /devices/{deviceId}` and `POST /delete_devices`: UIA `[m.login.password]`, then `deleteDevices`. */
export async function deleteDevicesWithAuth(
  sc: ServerContext,
  requester: Requester,
  deviceIds: string[],
  req: DeleteDevicesRequest,
): Promise<void> {
  await validateUserViaUiAuth(sc, requester.userId, req);
  await deleteDevices(sc.accounts, requester.userId, deviceIds);
}
