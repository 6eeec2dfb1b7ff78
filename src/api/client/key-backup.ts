/**
 * @module Server-side key backups of the client-server API (spec "Server-side key backups"): backup versions and
 * the room keys in them. No guests, as in Synapse.
 */
import type { FastifyRequest } from "fastify";
import type { KeySelection } from "../../db/room-key-backup-keys.js";
import {
  createBackupVersion,
  deleteBackupVersion,
  deleteRoomKeys,
  getBackupVersion,
  getRoomKeys,
  parseKeysUpload,
  putRoomKeys,
  updateBackupVersion,
  type BackupVersionResponse,
  type RoomKeysUpdateResponse,
} from "../../keys/key-backup.js";
import { requireNonGuest } from "../../http/auth.js";
import { clientPaths } from "../../http/paths.js";
import { queryOf, requiredStringParam } from "../../http/query.js";
import { jsonObjectBody } from "../../http/request.js";
import type { RouteModule } from "../../http/server.js";

const versionOf = (request: FastifyRequest) => (request.params as { version: string }).version;

/** The room and session a `/room_keys/keys` path names, if any. */
function selectionOf(request: FastifyRequest): KeySelection {
  const p = request.params as { roomId?: string; sessionId?: string };
  return { roomId: p.roomId, sessionId: p.sessionId };
}

const KEY_PATHS = ["/room_keys/keys", "/room_keys/keys/:roomId", "/room_keys/keys/:roomId/:sessionId"];

export const keyBackupRoutes: RouteModule = (app, { accounts }) => {
  /**
   * # `POST /_matrix/client/v3/room_keys/version`
   * - `{algorithm, auth_data}` (a string and an object, else 400 `M_BAD_JSON`): a new backup, which becomes the
   *   one keys go to. `{"version": "<n>"}`.
   */
  for (const url of clientPaths("/room_keys/version")) {
    app.post(url, async (request) => {
      const r = await requireNonGuest(request, accounts);
      return createBackupVersion(accounts, r.userId, jsonObjectBody(request));
    });
  }

  /**
   * # `GET /_matrix/client/v3/room_keys/version`
   * - The newest backup: `{version, algorithm, auth_data, etag, count}`; none: 404 `M_NOT_FOUND` "No backup found".
   */
  for (const url of clientPaths("/room_keys/version")) {
    app.get(url, async (request): Promise<BackupVersionResponse> => {
      const r = await requireNonGuest(request, accounts);
      return getBackupVersion(accounts, r.userId, null);
    });
  }

  /**
   * # `GET /_matrix/client/v3/room_keys/version/{version}`
   * - That backup, as above; unknown or deleted: 404 `M_NOT_FOUND` "No backup found".
   */
  for (const url of clientPaths("/room_keys/version/:version")) {
    app.get(url, async (request): Promise<BackupVersionResponse> => {
      const r = await requireNonGuest(request, accounts);
      return getBackupVersion(accounts, r.userId, versionOf(request));
    });
  }

  /**
   * # `PUT /_matrix/client/v3/room_keys/version/{version}`
   * - `{algorithm, auth_data, version?}`: replaces `auth_data`. A different `version` in the body or a different
   *   algorithm: 400 `M_INVALID_PARAM`; unknown backup: 404 "Unknown backup version". `{}`.
   */
  for (const url of clientPaths("/room_keys/version/:version")) {
    app.put(url, async (request) => {
      const r = await requireNonGuest(request, accounts);
      return updateBackupVersion(accounts, r.userId, versionOf(request), jsonObjectBody(request));
    });
  }

  /**
   * # `DELETE /_matrix/client/v3/room_keys/version/{version}`
   * - Deletes the backup and its keys (its number is not used again); unknown: 404 "Unknown backup version". `{}`.
   */
  for (const url of clientPaths("/room_keys/version/:version")) {
    app.delete(url, async (request) => {
      const r = await requireNonGuest(request, accounts);
      return deleteBackupVersion(accounts, r.userId, versionOf(request));
    });
  }

  for (const path of KEY_PATHS) {
    /**
     * # `PUT /_matrix/client/v3/room_keys/keys[/{roomId}[/{sessionId}]]`
     * - `?version=` (required) must be the newest backup: an older one is 403 `M_WRONG_ROOM_KEYS_VERSION` with
     *   `current_version`, an unknown one 404. Body: `{rooms: {roomId: {sessions: {id: KeyBackupData}}}}`, a room's
     *   `{sessions}`, or one `KeyBackupData`; every key is checked before any is stored (400 `M_BAD_JSON`, or
     *   `M_INVALID_PARAM` for `is_verified`). A stored session is replaced only by a better copy. `{etag, count}`.
     */
    for (const url of clientPaths(path)) {
      app.put(url, async (request): Promise<RoomKeysUpdateResponse> => {
        const r = await requireNonGuest(request, accounts);
        const version = requiredStringParam(queryOf(request), "version");
        const keys = parseKeysUpload(jsonObjectBody(request), selectionOf(request));
        return putRoomKeys(accounts, r.userId, version, keys);
      });
    }

    /**
     * # `GET /_matrix/client/v3/room_keys/keys[/{roomId}[/{sessionId}]]`
     * - `?version=` (required; unknown: 404 "Unknown backup version"). `{rooms}`, a room's `{sessions}` (empty when
     *   none), or one `KeyBackupData` (404 "No room_keys found" when that session is not backed up).
     */
    for (const url of clientPaths(path)) {
      app.get(url, async (request) => {
        const r = await requireNonGuest(request, accounts);
        const version = requiredStringParam(queryOf(request), "version");
        return getRoomKeys(accounts, r.userId, version, selectionOf(request));
      });
    }

    /**
     * # `DELETE /_matrix/client/v3/room_keys/keys[/{roomId}[/{sessionId}]]`
     * - `?version=` (required; unknown: 404). Deletes those keys of the backup; the `etag` changes. `{etag, count}`.
     */
    for (const url of clientPaths(path)) {
      app.delete(url, async (request): Promise<RoomKeysUpdateResponse> => {
        const r = await requireNonGuest(request, accounts);
        const version = requiredStringParam(queryOf(request), "version");
        return deleteRoomKeys(accounts, r.userId, version, selectionOf(request));
      });
    }
  }
};
