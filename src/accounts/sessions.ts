/**
 * @module Starting a logged-in session: a device and an access token, written together.
 *
 * Registration and login both end here, so a new session is made the same way whichever door it came through.
 */
import { ErrCode, MatrixError, refuseNul } from "../errors.js";
import type { Tables } from "../db/stores.js";
import type { Config } from "../config/schema.js";
import { formatToken, generateAccessToken, generateDeviceId, hashToken } from "./tokens.js";

export const MAX_DEVICE_ID_LENGTH = 512;
export const MAX_DEVICE_DISPLAY_NAME_LENGTH = 100;

export interface SessionRequest {
  userId: string;
  localpart: string;
  /** Reused if the user already has it (its other tokens stay valid, as in Synapse); made if not. */
  deviceId: string | null;
  initialDeviceDisplayName: string | null;
  validUntilMs: number | null;
  /** Issue a refresh token with these expiries; null for a plain, non-refreshable session. */
  refresh?: RefreshExpiry | null;
  now: number;
}

export interface RefreshExpiry {
  expiryTs: number | null;
  ultimateSessionExpiryTs: number | null;
}

export interface Session {
  accessToken: string;
  deviceId: string;
  validUntilMs: number | null;
  refreshToken: string | null;
}

export type LifetimeConfig = Pick<
  Config,
  | "session_lifetime"
  | "refreshable_access_token_lifetime"
  | "refresh_token_lifetime"
  | "nonrefreshable_access_token_lifetime"
>;

/** Synapse's `register_device_inner` expiry rules. Refresh is honoured only when refresh tokens are enabled. */
export function tokenLifetimes(
  config: LifetimeConfig,
  wantRefresh: boolean,
  now: number,
): { validUntilMs: number | null; refresh: RefreshExpiry | null } {
  const sessionEnd = config.session_lifetime === null ? null : now + config.session_lifetime;
  const cap = (t: number | null) => (t === null ? sessionEnd : sessionEnd === null ? t : Math.min(t, sessionEnd));
  if (wantRefresh && config.refreshable_access_token_lifetime !== null) {
    return {
      validUntilMs: cap(now + config.refreshable_access_token_lifetime),
      refresh: {
        // Synapse caps only a configured refresh_token_lifetime; with none, the session end is checked separately.
        expiryTs: config.refresh_token_lifetime === null ? null : cap(now + config.refresh_token_lifetime),
        ultimateSessionExpiryTs: sessionEnd,
      },
    };
  }
  const nonRefreshable =
    config.nonrefreshable_access_token_lifetime === null ? null : now + config.nonrefreshable_access_token_lifetime;
  return { validUntilMs: cap(nonRefreshable), refresh: null };
}

/** Checks a client-chosen device ID and display name before anything is written. */
export function checkDeviceParams(deviceId: unknown, displayName: unknown): void {
  if (deviceId !== undefined && deviceId !== null) {
    if (typeof deviceId !== "string") throw new MatrixError(ErrCode.InvalidParam, "device_id must be a string");
    refuseNul(deviceId, "device_id");
    if ([...deviceId].length > MAX_DEVICE_ID_LENGTH) {
      throw new MatrixError(ErrCode.InvalidParam, "device_id cannot be longer than 512 characters.");
    }
  }
  if (displayName !== undefined && displayName !== null) {
    if (typeof displayName !== "string") {
      throw new MatrixError(ErrCode.InvalidParam, "initial_device_display_name must be a string");
    }
    refuseNul(displayName, "initial_device_display_name");
    // Python's len() counts code points; Synapse answers 400 here, not M_TOO_LARGE's usual 413.
    if ([...displayName].length > MAX_DEVICE_DISPLAY_NAME_LENGTH) {
      throw new MatrixError(ErrCode.TooLarge, "Device display name is too long (max 100)", { status: 400 });
    }
  }
}

/** Must run inside the caller's transaction, so an account is never left without its device and token. */
export async function startSession(tables: Tables, req: SessionRequest): Promise<Session> {
  const deviceId = req.deviceId ?? generateDeviceId();
  await tables.devices.ensure(req.userId, deviceId, req.initialDeviceDisplayName, req.now);
  const accessToken = generateAccessToken(req.localpart);
  let refreshToken: string | null = null;
  if (req.refresh) {
    refreshToken = formatToken("syr", req.localpart);
    await tables.refreshTokens.insert({
      tokenHash: hashToken(refreshToken),
      userId: req.userId,
      deviceId,
      nextTokenHash: null,
      expiryTs: req.refresh.expiryTs,
      ultimateSessionExpiryTs: req.refresh.ultimateSessionExpiryTs,
      createdTs: req.now,
    });
  }
  await tables.accessTokens.insert({
    tokenHash: hashToken(accessToken),
    userId: req.userId,
    deviceId,
    createdTs: req.now,
    validUntilMs: req.validUntilMs,
    puppetsUserId: null,
    refreshTokenHash: refreshToken === null ? null : hashToken(refreshToken),
  });
  return { accessToken, deviceId, validUntilMs: req.validUntilMs, refreshToken };
}
