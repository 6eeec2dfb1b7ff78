/**
 * @module Server-side key backups (spec "Server-side key backups"), as Synapse keeps them
 * (`E2eRoomKeysHandler`): a user's backup versions, each with opaque `auth_data` and the encrypted Megolm sessions
 * clients put in it. Only the newest backup takes keys; an `etag` changes whenever its keys do.
 *
 * A session already stored is replaced only by a better copy (Synapse's `_should_replace_room_key`): a verified
 * copy beats an unverified one, else a lower `first_message_index` wins, else a lower `forwarded_count`.
 */
import type { AccountsContext } from "../accounts/context.js";
import type { BackedUpKey, KeySelection } from "../db/room-key-backup-keys.js";
import type { Tables } from "../db/stores.js";
import { ErrCode, MatrixError, refuseNul } from "../errors.js";

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Backup versions come from one counter, so a version number is never used twice, even after a deletion. */
const VERSION_COUNTER = "room_key_backup_version";

/** https://spec.matrix.org/v1.16/client-server-api/#get_matrixclientv3room_keysversion */
export interface BackupVersionResponse {
  version: string;
  algorithm: string;
  auth_data: unknown;
  etag: string;
  count: number;
}

/** https://spec.matrix.org/v1.16/client-server-api/#put_matrixclientv3room_keyskeys */
export interface RoomKeysUpdateResponse {
  etag: string;
  count: number;
}

/** `KeyBackupData`. */
export interface KeyBackupData {
  first_message_index: number;
  forwarded_count: number;
  is_verified: boolean;
  session_data: unknown;
}

/** Our versions are numbers; any other string names no backup (as in Synapse). */
function versionNumber(version: string): number | null {
  return /^[0-9]{1,15}$/.test(version) ? Number(version) : null;
}

const unknownVersion = () => new MatrixError(ErrCode.NotFound, "Unknown backup version");

/** `algorithm` and `auth_data` of a version body. */
function parseVersionBody(body: Json): { algorithm: string; authData: Json } {
  if (typeof body.algorithm !== "string") throw new MatrixError(ErrCode.BadJson, "'algorithm' must be a string");
  if (!isObject(body.auth_data)) throw new MatrixError(ErrCode.BadJson, "'auth_data' must be an object");
  refuseNul(body.algorithm, "algorithm");
  return { algorithm: body.algorithm, authData: body.auth_data };
}

/** `POST /room_keys/version`: a new backup, which from now on is the one keys go to. */
export async function createBackupVersion(
  ctx: AccountsContext,
  userId: string,
  body: Json,
): Promise<{ version: string }> {
  const { algorithm, authData } = parseVersionBody(body);
  const version = await ctx.stores.transaction(async (t) => {
    const v = await t.counters.next(VERSION_COUNTER);
    await t.roomKeyBackupVersions.create(userId, v, algorithm, authData);
    return v;
  });
  return { version: String(version) };
}

/** `GET /room_keys/version[/{version}]`: the newest backup, or the one named; 404 "No backup found" otherwise. */
export async function getBackupVersion(
  ctx: AccountsContext,
  userId: string,
  version: string | null,
): Promise<BackupVersionResponse> {
  const n = version === null ? null : versionNumber(version);
  const info = version !== null && n === null ? null : await ctx.stores.roomKeyBackupVersions.get(userId, n);
  if (!info) throw new MatrixError(ErrCode.NotFound, "No backup found");
  return {
    version: String(info.version),
    algorithm: info.algorithm,
    auth_data: info.authData,
    etag: String(info.etag),
    count: await ctx.stores.roomKeyBackupKeys.count(userId, info.version),
  };
}

/** `PUT /room_keys/version/{version}`: new `auth_data` for a backup; its algorithm cannot change. */
export async function updateBackupVersion(
  ctx: AccountsContext,
  userId: string,
  version: string,
  body: Json,
): Promise<Record<string, never>> {
  if (body.version !== undefined && body.version !== version) {
    throw new MatrixError(ErrCode.InvalidParam, "Version in body does not match");
  }
  const { algorithm, authData } = parseVersionBody(body);
  const n = versionNumber(version);
  if (n === null) throw unknownVersion();
  await ctx.stores.transaction(async (t) => {
    const info = await t.roomKeyBackupVersions.lock(userId, n);
    if (!info) throw unknownVersion();
    if (info.algorithm !== algorithm) throw new MatrixError(ErrCode.InvalidParam, "Algorithm does not match");
    await t.roomKeyBackupVersions.setAuthData(userId, n, authData);
  });
  return {};
}

/** `DELETE /room_keys/version/{version}`: the backup is marked deleted and its keys go. */
export async function deleteBackupVersion(
  ctx: AccountsContext,
  userId: string,
  version: string,
): Promise<Record<string, never>> {
  const n = versionNumber(version);
  if (n === null) throw unknownVersion();
  await ctx.stores.transaction(async (t) => {
    if (!(await t.roomKeyBackupVersions.markDeleted(userId, n))) throw unknownVersion();
    await t.roomKeyBackupKeys.delete(userId, n, {});
  });
  return {};
}

function isCount(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}

/** One `KeyBackupData`, checked whole; `where` names it in the error. */
function parseKey(v: unknown, roomId: string, sessionId: string): BackedUpKey {
  const where = `session ${sessionId} in room ${roomId}`;
  if (!isObject(v)) throw new MatrixError(ErrCode.BadJson, `The key for ${where} must be an object`);
  if (!isCount(v.first_message_index) || !isCount(v.forwarded_count)) {
    throw new MatrixError(
      ErrCode.BadJson,
      `first_message_index and forwarded_count must be non-negative integers in the key for ${where}`,
    );
  }
  if (typeof v.is_verified !== "boolean") {
    throw new MatrixError(ErrCode.InvalidParam, `is_verified must be a boolean in keys for ${where}`);
  }
  if (!isObject(v.session_data)) {
    throw new MatrixError(ErrCode.BadJson, `session_data must be an object in the key for ${where}`);
  }
  refuseNul(roomId, "room_id");
  refuseNul(sessionId, "session_id");
  return {
    roomId,
    sessionId,
    firstMessageIndex: v.first_message_index,
    forwardedCount: v.forwarded_count,
    isVerified: v.is_verified,
    sessionData: v.session_data,
  };
}

/** The keys of a PUT body at any of its three depths (all rooms, one room, one session), every one checked. */
export function parseKeysUpload(body: Json, which: KeySelection): BackedUpKey[] {
  const { roomId, sessionId } = which;
  if (roomId !== undefined && sessionId !== undefined) return [parseKey(body, roomId, sessionId)];
  const sessionsOf = (room: unknown, id: string): BackedUpKey[] => {
    const sessions = isObject(room) ? room.sessions : undefined;
    if (!isObject(sessions)) throw new MatrixError(ErrCode.BadJson, `'sessions' of room ${id} must be an object`);
    return Object.entries(sessions).map(([sid, key]) => parseKey(key, id, sid));
  };
  if (roomId !== undefined) return sessionsOf(body, roomId);
  if (!isObject(body.rooms)) throw new MatrixError(ErrCode.BadJson, "'rooms' must be an object");
  return Object.entries(body.rooms).flatMap(([id, room]) => sessionsOf(room, id));
}

/** Synapse's `_should_replace_room_key`. */
export function isBetterKey(candidate: BackedUpKey, stored: BackedUpKey): boolean {
  if (candidate.isVerified && !stored.isVerified) return true;
  if (candidate.firstMessageIndex < stored.firstMessageIndex) return true;
  return candidate.forwardedCount < stored.forwardedCount;
}

/** The backup keys may go to: `version` must be the newest (403 `M_WRONG_ROOM_KEYS_VERSION` names it) and exist. */
async function writableVersion(t: Tables, userId: string, version: string): Promise<number> {
  const notFound = () => new MatrixError(ErrCode.NotFound, `Version '${version}' not found`);
  const current = await t.roomKeyBackupVersions.get(userId, null);
  if (!current) throw notFound();
  const n = versionNumber(version);
  if (n !== current.version) {
    if (n === null || !(await t.roomKeyBackupVersions.get(userId, n))) throw notFound();
    throw new MatrixError(
      ErrCode.WrongRoomKeysVersion,
      `Wrong room_keys version. Current version is ${current.version}`,
      {
        extra: { current_version: String(current.version) },
      },
    );
  }
  return n;
}

/** `PUT /room_keys/keys[/{roomId}[/{sessionId}]]?version=`: each key stored unless a better copy is. */
export async function putRoomKeys(
  ctx: AccountsContext,
  userId: string,
  version: string,
  keys: BackedUpKey[],
): Promise<RoomKeysUpdateResponse> {
  return ctx.stores.transaction(async (t) => {
    const n = await writableVersion(t, userId, version);
    const info = await t.roomKeyBackupVersions.lock(userId, n);
    if (!info) throw new MatrixError(ErrCode.NotFound, `Version '${version}' not found`);
    const byRoom = new Map<string, BackedUpKey[]>();
    for (const k of keys) byRoom.set(k.roomId, [...(byRoom.get(k.roomId) ?? []), k]);
    let changed = false;
    for (const [roomId, roomKeys] of byRoom) {
      const ids = [...new Set(roomKeys.map((k) => k.sessionId))];
      const stored = new Map(
        (await t.roomKeyBackupKeys.ofSessions(userId, n, roomId, ids)).map((k) => [k.sessionId, k]),
      );
      for (const k of roomKeys) {
        const current = stored.get(k.sessionId);
        if (current && !isBetterKey(k, current)) continue;
        await t.roomKeyBackupKeys.put(userId, n, k);
        stored.set(k.sessionId, k);
        changed = true;
      }
    }
    const etag = changed ? info.etag + 1 : info.etag;
    if (changed) await t.roomKeyBackupVersions.setEtag(userId, n, etag);
    return { etag: String(etag), count: await t.roomKeyBackupKeys.count(userId, n) };
  });
}

const keyData = (k: BackedUpKey): KeyBackupData => ({
  first_message_index: k.firstMessageIndex,
  forwarded_count: k.forwardedCount,
  is_verified: k.isVerified,
  session_data: k.sessionData,
});

/**
 * `GET /room_keys/keys[/{roomId}[/{sessionId}]]?version=`: `{rooms: {…}}`, a room's `{sessions: {…}}` (empty when
 * none), or one session's `KeyBackupData` (404 "No room_keys found" when not backed up).
 */
export async function getRoomKeys(
  ctx: AccountsContext,
  userId: string,
  version: string,
  which: KeySelection,
): Promise<Json> {
  const n = versionNumber(version);
  if (n === null || !(await ctx.stores.roomKeyBackupVersions.get(userId, n))) throw unknownVersion();
  const keys = await ctx.stores.roomKeyBackupKeys.list(userId, n, which);
  if (which.sessionId !== undefined) {
    if (keys.length === 0) throw new MatrixError(ErrCode.NotFound, "No room_keys found");
    return keyData(keys[0]!) as unknown as Json;
  }
  const rooms: Record<string, { sessions: Record<string, KeyBackupData> }> = {};
  for (const k of keys) (rooms[k.roomId] ??= { sessions: {} }).sessions[k.sessionId] = keyData(k);
  if (which.roomId !== undefined) return rooms[which.roomId] ?? { sessions: {} };
  return { rooms };
}

/** `DELETE /room_keys/keys[/{roomId}[/{sessionId}]]?version=`: the keys go, the `etag` changes. */
export async function deleteRoomKeys(
  ctx: AccountsContext,
  userId: string,
  version: string,
  which: KeySelection,
): Promise<RoomKeysUpdateResponse> {
  const n = versionNumber(version);
  if (n === null) throw unknownVersion();
  return ctx.stores.transaction(async (t) => {
    const info = await t.roomKeyBackupVersions.lock(userId, n);
    if (!info) throw unknownVersion();
    await t.roomKeyBackupKeys.delete(userId, n, which);
    await t.roomKeyBackupVersions.setEtag(userId, n, info.etag + 1);
    return { etag: String(info.etag + 1), count: await t.roomKeyBackupKeys.count(userId, n) };
  });
}
