/**
 * @module End-to-end encryption keys (spec "End-to-End Encryption": key management): device identity keys,
 * one-time and fallback keys, and who changed their devices.
 *
 * Only local users exist here (no federation): a query or claim for a user of another server is reported under
 * `failures` with that server's name. A query shows only the keys of users the requester shares a room with
 * (joined or invited), and their own. Cross-signing keys and signatures come from `cross-signing.ts`.
 */
import type { AccountsContext } from "../accounts/context.js";
import type { StoredKey } from "../db/one-time-keys.js";
import { ErrCode, MatrixError } from "../errors.js";
import { deviceListsBetween } from "../sync/device-lists.js";
import { currentPosition, inStreamTransaction, parseStreamToken } from "../sync/stream.js";
import { crossSigningKeysFor, withDeviceSignatures } from "./cross-signing.js";
import { recordDeviceListChange } from "./device-lists.js";

/** Always counted, even at zero: Element Android treats a missing count as "no need to upload" (Synapse #10456). */
const ALWAYS_COUNTED = "signed_curve25519";

/** https://spec.matrix.org/v1.16/client-server-api/#post_matrixclientv3keysupload */
export interface UploadKeysResponse {
  one_time_key_counts: Record<string, number>;
}

/** https://spec.matrix.org/v1.16/client-server-api/#post_matrixclientv3keysquery */
export interface QueryKeysResponse {
  device_keys: Record<string, Record<string, Record<string, unknown>>>;
  failures: Record<string, Record<string, unknown>>;
  master_keys: Record<string, unknown>;
  self_signing_keys: Record<string, unknown>;
  user_signing_keys: Record<string, unknown>;
}

/** https://spec.matrix.org/v1.16/client-server-api/#post_matrixclientv3keysclaim */
export interface ClaimKeysResponse {
  one_time_keys: Record<string, Record<string, Record<string, unknown>>>;
  failures: Record<string, Record<string, unknown>>;
}

/** https://spec.matrix.org/v1.16/client-server-api/#get_matrixclientv3keyschanges */
export interface KeyChangesResponse {
  changed: string[];
  left: string[];
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** JSON with object keys sorted, so two uploads of the same key compare equal however their keys were ordered. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (isObject(value)) {
    const keys = Object.keys(value).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

function bad(message: string): MatrixError {
  return new MatrixError(ErrCode.BadJson, message);
}

const isStringMap = (v: unknown): boolean => isObject(v) && Object.values(v).every((s) => typeof s === "string");
const isSignatures = (v: unknown): boolean => isObject(v) && Object.values(v).every(isStringMap);

/** The shape Synapse's request model requires of `device_keys`. */
function checkDeviceKeys(v: unknown): Record<string, unknown> {
  if (v === null) throw bad("device_keys must not be null");
  if (!isObject(v)) throw bad("device_keys must be an object");
  if (typeof v.user_id !== "string") throw bad("device_keys.user_id must be a string");
  if (typeof v.device_id !== "string") throw bad("device_keys.device_id must be a string");
  if (!Array.isArray(v.algorithms) || !v.algorithms.every((a) => typeof a === "string")) {
    throw bad("device_keys.algorithms must be a list of strings");
  }
  if (!isStringMap(v.keys)) throw bad("device_keys.keys must be an object of strings");
  if (!isSignatures(v.signatures)) throw bad("device_keys.signatures must map user IDs to objects of strings");
  return v;
}

/** `one_time_keys` / `fallback_keys`: `{"<algorithm>:<key_id>": "<key>" | {key, signatures, fallback?}}`. */
function parseKeyMap(v: unknown, field: "one_time_keys" | "fallback_keys"): StoredKey[] {
  if (v === undefined || v === null) return [];
  if (!isObject(v)) throw bad(`${field} must be an object`);
  const keys: StoredKey[] = [];
  for (const [name, key] of Object.entries(v)) {
    const parts = name.split(":");
    if (parts.length !== 2) throw bad(`Invalid ${field} key '${name}'. Expected "<algorithm>:<device_id>".`);
    if (typeof key !== "string") {
      if (!isObject(key) || typeof key.key !== "string" || !isSignatures(key.signatures)) {
        throw bad(`${field}.${name} must be a string or an object with 'key' and 'signatures'`);
      }
      if (key.fallback !== undefined && key.fallback !== null && typeof key.fallback !== "boolean") {
        throw bad(`${field}.${name}.fallback must be a boolean`);
      }
    }
    keys.push({ algorithm: parts[0]!, keyId: parts[1]!, key });
  }
  return keys;
}

function deviceOf(requester: { deviceId: string | null }): string {
  if (requester.deviceId === null) {
    throw new MatrixError(ErrCode.Unknown, "To upload keys, you must pass device_id when authenticating");
  }
  return requester.deviceId;
}

export async function oneTimeKeyCounts(
  ctx: AccountsContext,
  userId: string,
  deviceId: string,
): Promise<Record<string, number>> {
  return { [ALWAYS_COUNTED]: 0, ...(await ctx.stores.oneTimeKeys.counts(userId, deviceId)) };
}

export function unusedFallbackKeyTypes(ctx: AccountsContext, userId: string, deviceId: string): Promise<string[]> {
  return ctx.stores.oneTimeKeys.unusedFallbackAlgorithms(userId, deviceId);
}

/** `oneTimeKeyCounts` and `unusedFallbackKeyTypes` together, in one statement: what every `/sync` response carries. */
export async function keyCountsForSync(
  ctx: AccountsContext,
  userId: string,
  deviceId: string,
): Promise<{ oneTimeKeyCounts: Record<string, number>; unusedFallbackKeyTypes: string[] }> {
  const { counts, unusedFallback } = await ctx.stores.oneTimeKeys.countsForSync(userId, deviceId);
  return { oneTimeKeyCounts: { [ALWAYS_COUNTED]: 0, ...counts }, unusedFallbackKeyTypes: unusedFallback };
}

/**
 * `POST /keys/upload`, for the requester's own device:
 * - `device_keys` must name the requester and their device (400 `M_BAD_JSON` otherwise, as in Synapse); new or
 *   changed keys are a device-list change (the user's syncs wake), an identical re-upload is not.
 * - `one_time_keys` are added; re-sending a key ID with the same key is ignored, with a different key it is 400.
 * - `fallback_keys` replace the device's fallback key of their algorithm.
 * All of it commits in one transaction, with the device-list change: a refused upload stores nothing.
 */
export async function uploadKeys(
  ctx: AccountsContext,
  requester: { userId: string; deviceId: string | null },
  body: Record<string, unknown>,
): Promise<UploadKeysResponse> {
  const { userId } = requester;
  const deviceId = deviceOf(requester);
  const deviceKeys = "device_keys" in body ? checkDeviceKeys(body.device_keys) : null;
  const oneTimeKeys = parseKeyMap(body.one_time_keys, "one_time_keys");
  const fallbackKeys = parseKeyMap(body.fallback_keys, "fallback_keys");
  if (deviceKeys) {
    if (deviceKeys.user_id !== userId) {
      throw bad("Provided `user_id` in `device_keys` does not match that of the authenticated user");
    }
    if (deviceKeys.device_id !== deviceId) {
      throw bad("Provided `device_id` in `device_keys` does not match that of the authenticated user device");
    }
  }
  const now = ctx.now();
  await inStreamTransaction(ctx.stores, async (tables, writer) => {
    if (oneTimeKeys.length > 0) {
      const existing = await tables.oneTimeKeys.existing(userId, deviceId, oneTimeKeys);
      const known = new Map(existing.map((k) => [`${k.algorithm}:${k.keyId}`, k.key]));
      const fresh: StoredKey[] = [];
      for (const k of oneTimeKeys) {
        const name = `${k.algorithm}:${k.keyId}`;
        if (!known.has(name)) {
          fresh.push(k);
          continue;
        }
        const old = known.get(name);
        if (canonicalJson(old) !== canonicalJson(k.key)) {
          throw new MatrixError(
            ErrCode.Unknown,
            `One time key ${name} already exists. Old key: ${canonicalJson(old)}; new key: ${canonicalJson(k.key)}`,
          );
        }
      }
      await tables.oneTimeKeys.insert(userId, deviceId, fresh, now);
      if (fresh.length > 0) await writer.next();
    }
    for (const k of fallbackKeys) await tables.oneTimeKeys.setFallback(userId, deviceId, k, now);
    // A position for the change of the counts every `/sync` reports, which a sync remembers over stretches of only
    // events (src/sync/key-counts.ts). Nobody is woken: Synapse sends new counts with the next response.
    if (fallbackKeys.length > 0) await writer.next();
    if (deviceKeys) {
      const old = await tables.deviceKeys.get(userId, deviceId);
      if (old === null || canonicalJson(old) !== canonicalJson(deviceKeys)) {
        await tables.deviceKeys.set(userId, deviceId, deviceKeys);
        await recordDeviceListChange(tables, writer, userId, [deviceId]);
      }
    }
  });

  return { one_time_key_counts: await oneTimeKeyCounts(ctx, userId, deviceId) };
}

/** The server part of a user ID, or null when it is not one. */
function serverOf(userId: string): string | null {
  if (!userId.startsWith("@")) return null;
  const i = userId.indexOf(":");
  return i > 1 ? userId.slice(i + 1) : null;
}

function remoteFailure(): Record<string, unknown> {
  return { status: 503, message: "This server does not federate: remote users' keys are unavailable" };
}

/**
 * `POST /keys/query`: `{device_keys: {userId: [] | [deviceIds]}}` → each device's keys as uploaded, plus
 * `unsigned.device_display_name` and the signatures of it by the owner's self-signing key. Every local user asked
 * about whom the requester may see (themself, or someone joined or invited to a room the requester is joined or
 * invited to) appears, with `{}` when they have no keys; anyone else is left out, as if unknown (Synapse answers
 * for any user). Devices without keys are left out. The cross-signing keys are as `requesterId` may see them
 * (`crossSigningKeysFor`).
 */
export async function queryKeys(
  ctx: AccountsContext,
  requesterId: string,
  body: Record<string, unknown>,
): Promise<QueryKeysResponse> {
  const query = body.device_keys;
  if (!isObject(query)) throw bad("'device_keys' must be a JSON object");
  if (!Object.values(query).every((ids) => Array.isArray(ids) && ids.every((id) => typeof id === "string"))) {
    throw bad("'device_keys' values must be a list of strings");
  }
  const response: QueryKeysResponse = {
    device_keys: {},
    failures: {},
    master_keys: {},
    self_signing_keys: {},
    user_signing_keys: {},
  };
  const asked = Object.keys(query).filter((u) => serverOf(u) === ctx.serverName && u !== requesterId);
  const visible = await ctx.stores.roomMemberships.meetingInARoom(requesterId, asked);
  visible.add(requesterId);
  for (const [userId, ids] of Object.entries(query as Record<string, string[]>)) {
    const server = serverOf(userId);
    if (server === null) continue;
    if (server !== ctx.serverName) {
      response.failures[server] = remoteFailure();
      continue;
    }
    if (!visible.has(userId)) continue;
    const wanted = ids.length > 0 ? new Set(ids) : null;
    const keys = await withDeviceSignatures(ctx.stores, userId, await ctx.stores.deviceKeys.listForUser(userId));
    const devices = new Map((await ctx.stores.devices.listForUser(userId)).map((d) => [d.deviceId, d]));
    const result: Record<string, Record<string, unknown>> = {};
    for (const [deviceId, deviceKeys] of keys) {
      if (wanted && !wanted.has(deviceId)) continue;
      const displayName = devices.get(deviceId)?.displayName ?? null;
      const unsigned = isObject(deviceKeys.unsigned) ? { ...deviceKeys.unsigned } : {};
      if (displayName !== null) unsigned.device_display_name = displayName;
      result[deviceId] = { ...deviceKeys, unsigned };
    }
    response.device_keys[userId] = result;
  }
  return { ...response, ...(await crossSigningKeysFor(ctx.stores, requesterId, Object.keys(response.device_keys))) };
}

/**
 * `POST /keys/claim`: `{one_time_keys: {userId: {deviceId: algorithm}}}` → one key per device: a one-time key
 * (taken, so no one else ever gets it), else the device's fallback key (which stays), else nothing for that device.
 */
export async function claimKeys(ctx: AccountsContext, body: Record<string, unknown>): Promise<ClaimKeysResponse> {
  const query = body.one_time_keys;
  if (!isObject(query)) throw bad("'one_time_keys' must be a JSON object");
  for (const devices of Object.values(query)) {
    if (!isObject(devices) || !Object.values(devices).every((alg) => typeof alg === "string")) {
      throw bad("'one_time_keys' must map user IDs to objects of device ID to algorithm");
    }
  }
  const response: ClaimKeysResponse = { one_time_keys: {}, failures: {} };
  const wanted: [userId: string, deviceId: string, algorithm: string][] = [];
  for (const [userId, devices] of Object.entries(query as Record<string, Record<string, string>>)) {
    const server = serverOf(userId);
    if (server === null) continue;
    if (server !== ctx.serverName) {
      response.failures[server] = remoteFailure();
      continue;
    }
    for (const [deviceId, algorithm] of Object.entries(devices)) wanted.push([userId, deviceId, algorithm]);
  }
  if (wanted.length === 0) return response;
  // With a stream position when a key was taken: the owners' `/sync` key counts are remembered over stretches of
  // only events (src/sync/key-counts.ts), and this tells every process's syncs that the stretch holds more.
  await inStreamTransaction(ctx.stores, async (tables, writer) => {
    let taken = false;
    for (const [userId, deviceId, algorithm] of wanted) {
      const key =
        (await tables.oneTimeKeys.claim(userId, deviceId, algorithm)) ??
        (await tables.oneTimeKeys.claimFallback(userId, deviceId, algorithm));
      if (!key) continue;
      taken = true;
      (response.one_time_keys[userId] ??= {})[deviceId] = { [`${key.algorithm}:${key.keyId}`]: key.key };
    }
    if (taken) await writer.next();
  });
  return response;
}

/**
 * `GET /keys/changes?from=…&to=…`: between two `/sync` tokens, the users whose devices changed and who share a room
 * with the user (`changed`) and those who no longer do (`left`), as `/sync` reports them (src/sync/device-lists.ts).
 * `to` defaults to now; a `to` before `from` is an empty stretch.
 */
export async function keyChanges(
  ctx: AccountsContext,
  userId: string,
  from: string | undefined,
  to: string | undefined,
): Promise<KeyChangesResponse> {
  if (from === undefined) throw new MatrixError(ErrCode.MissingParam, "Missing string query parameter 'from'");
  const fromPos = parseStreamToken(from);
  if (fromPos === null) throw new MatrixError(ErrCode.InvalidParam, "Invalid stream token");
  let toPos = await currentPosition(ctx.stores);
  if (to !== undefined) {
    const parsed = parseStreamToken(to);
    if (parsed === null) throw new MatrixError(ErrCode.InvalidParam, "Invalid stream token");
    toPos = Math.min(parsed, toPos);
  }
  if (toPos <= fromPos) return { changed: [], left: [] };
  return deviceListsBetween(ctx.stores, userId, fromPos, toPos);
}
