/**
 * @module Another user's devices through the admin API (Synapse's `synapse/rest/admin/devices.py`): list, create,
 * look up, rename, delete. The renaming and deletion rules are the client API's (`devices.ts`); each change is
 * written with its audit entry in one transaction.
 */
import type { Device } from "../db/devices.js";
import { ErrCode, MatrixError } from "../errors.js";
import { withDeviceListChange } from "../keys/device-lists.js";
import { existingUser } from "./admin-user-ids.js";
import { recordAudit, type AdminActor } from "./audit.js";
import type { AccountsContext } from "./context.js";
import { parseDeleteDevices, parseDeviceUpdate, writeDeviceDeletion, writeDeviceUpdate } from "./devices.js";
import { checkDeviceParams } from "./sessions.js";

/** A device as the admin API shows it: every field present, null when unknown. */
export interface AdminDeviceResponse {
  device_id: string;
  display_name: string | null;
  last_seen_ip: string | null;
  last_seen_ts: number | null;
  last_seen_user_agent: string | null;
  user_id: string;
  /** There are no dehydrated devices (MSC3814) here. */
  dehydrated: boolean;
}

export function adminDevice(d: Device): AdminDeviceResponse {
  return {
    device_id: d.deviceId,
    display_name: d.displayName,
    last_seen_ip: d.lastSeenIp,
    last_seen_ts: d.lastSeenTs,
    last_seen_user_agent: d.lastSeenUserAgent,
    user_id: d.userId,
    dehydrated: false,
  };
}

/** Synapse's checks for every device endpoint: a local user ("Can only lookup local users") who exists. */
async function owner(ctx: AccountsContext, userId: string): Promise<void> {
  await existingUser(ctx, userId, "Can only lookup local users", "Unknown user");
}

/** `GET /_synapse/admin/v2/users/{userId}/devices`. */
export async function listUserDevices(
  ctx: AccountsContext,
  userId: string,
): Promise<{ devices: AdminDeviceResponse[]; total: number }> {
  await owner(ctx, userId);
  const devices = (await ctx.stores.devices.listForUser(userId)).map(adminDevice);
  return { devices, total: devices.length };
}

/** The body of `POST /_synapse/admin/v2/users/{userId}/devices`. */
export interface CreateDeviceCommand {
  deviceId: string;
}

/** `device_id` required (400 "Missing device_id"), checked as the client API checks a device ID. */
export function parseCreateDevice(body: Record<string, unknown>): CreateDeviceCommand {
  const deviceId = body.device_id;
  if (deviceId === undefined || deviceId === null || deviceId === "") {
    throw new MatrixError(ErrCode.Unknown, "Missing device_id");
  }
  checkDeviceParams(deviceId, null);
  return { deviceId: deviceId as string };
}

/** `POST /_synapse/admin/v2/users/{userId}/devices`: makes the device if the user lacks it. */
export async function createUserDevice(
  ctx: AccountsContext,
  actor: AdminActor,
  userId: string,
  readCommand: () => CreateDeviceCommand,
): Promise<void> {
  await owner(ctx, userId);
  const id = readCommand().deviceId;
  await withDeviceListChange(ctx.stores, userId, async (t) => {
    if (await t.devices.get(userId, id)) return [];
    await t.devices.ensure(userId, id, null, ctx.now());
    await recordAudit(t, ctx, actor, "device.create", userId, {}, { device_id: id });
    return [id];
  });
}

/** `GET /_synapse/admin/v2/users/{userId}/devices/{deviceId}`. */
export async function getUserDevice(
  ctx: AccountsContext,
  userId: string,
  deviceId: string,
): Promise<AdminDeviceResponse> {
  await owner(ctx, userId);
  const device = await ctx.stores.devices.get(userId, deviceId);
  if (!device) throw new MatrixError(ErrCode.NotFound, "No device found");
  return adminDevice(device);
}

/** The body of `PUT /_synapse/admin/v2/users/{userId}/devices/{deviceId}`: a null name leaves the name. */
export interface UpdateDeviceCommand {
  displayName: string | null;
}

/** `display_name` as the client API's rename reads it. */
export function parseUpdateDevice(body: Record<string, unknown>): UpdateDeviceCommand {
  return { displayName: parseDeviceUpdate(body) };
}

/** `PUT /_synapse/admin/v2/users/{userId}/devices/{deviceId}`. */
export async function updateUserDevice(
  ctx: AccountsContext,
  actor: AdminActor,
  userId: string,
  deviceId: string,
  readCommand: () => UpdateDeviceCommand,
): Promise<void> {
  await owner(ctx, userId);
  const name = readCommand().displayName;
  await withDeviceListChange(ctx.stores, userId, async (t) => {
    const before = await t.devices.get(userId, deviceId);
    await writeDeviceUpdate(t, userId, deviceId, name);
    if (!before || name === null || before.displayName === name) return [];
    await recordAudit(
      t,
      ctx,
      actor,
      "device.update",
      userId,
      { device_id: deviceId, display_name: before.displayName },
      { device_id: deviceId, display_name: name },
    );
    return [deviceId];
  });
}

/**
 * `DELETE …/devices/{deviceId}` and `POST …/delete_devices`: the devices go with their tokens and keys; IDs the user
 * does not have are ignored, as in Synapse.
 */
export async function deleteUserDevices(
  ctx: AccountsContext,
  actor: AdminActor,
  userId: string,
  deviceIds: string[],
): Promise<void> {
  await owner(ctx, userId);
  await withDeviceListChange(ctx.stores, userId, async (t) => {
    const gone = await writeDeviceDeletion(t, userId, deviceIds);
    if (gone.length > 0) await recordAudit(t, ctx, actor, "device.delete", userId, { devices: gone }, { devices: [] });
    return gone;
  });
}

/** The `devices` list of `POST …/delete_devices`: required (400 `M_MISSING_PARAM`), a list of strings. */
export function parseAdminDeleteDevices(body: Record<string, unknown>): string[] {
  if (!("devices" in body)) throw new MatrixError(ErrCode.MissingParam, "Missing params: ['devices']");
  return parseDeleteDevices(body).devices;
}
