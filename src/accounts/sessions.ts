/**
 * @module Starting a logged-in session: a device and an access token, written together.
 *
 * Registration and login both end here, so a new session is made the same way whichever door it came through.
 */
import { ErrCode, MatrixError } from "../http/errors.js";
import type { Tables } from "../db/stores.js";
import { generateAccessToken, generateDeviceId, hashToken } from "./tokens.js";

export const MAX_DEVICE_ID_LENGTH = 512;
export const MAX_DEVICE_DISPLAY_NAME_LENGTH = 100;

export interface SessionRequest {
  userId: string;
  localpart: string;
  /** Reused if the user already has it (its other tokens stay valid, as in Synapse); made if not. */
  deviceId: string | null;
  initialDeviceDisplayName: string | null;
  validUntilMs: number | null;
  now: number;
}

export interface Session {
  accessToken: string;
  deviceId: string;
  validUntilMs: number | null;
}

/** Checks a client-chosen device ID and display name before anything is written. */
export function checkDeviceParams(deviceId: unknown, displayName: unknown): void {
  if (deviceId !== undefined && deviceId !== null) {
    if (typeof deviceId !== "string") throw new MatrixError(ErrCode.InvalidParam, "device_id must be a string");
    if (deviceId.length > MAX_DEVICE_ID_LENGTH) {
      throw new MatrixError(ErrCode.InvalidParam, "device_id cannot be longer than 512 characters.");
    }
  }
  if (displayName !== undefined && displayName !== null) {
    if (typeof displayName !== "string") {
      throw new MatrixError(ErrCode.InvalidParam, "initial_device_display_name must be a string");
    }
    if (displayName.length > MAX_DEVICE_DISPLAY_NAME_LENGTH) {
      throw new MatrixError(ErrCode.TooLarge, "Device display name is too long (max 100)");
    }
  }
}

/** Must run inside the caller's transaction, so an account is never left without its device and token. */
export async function startSession(tables: Tables, req: SessionRequest): Promise<Session> {
  const deviceId = req.deviceId ?? generateDeviceId();
  await tables.devices.ensure(req.userId, deviceId, req.initialDeviceDisplayName, req.now);
  const accessToken = generateAccessToken(req.localpart);
  await tables.accessTokens.insert({
    tokenHash: hashToken(accessToken),
    userId: req.userId,
    deviceId,
    createdTs: req.now,
    validUntilMs: req.validUntilMs,
    puppetsUserId: null,
  });
  return { accessToken, deviceId, validUntilMs: req.validUntilMs };
}
