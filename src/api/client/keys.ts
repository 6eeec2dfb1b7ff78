/**
 * @module End-to-end encryption key endpoints of the client-server API (spec "Key management API"). Cross-signing
 * uploads are in `cross-signing.ts`, key backup in `key-backup.ts`. Guests may use these, as in Synapse.
 */
import {
  claimKeys,
  keyChanges,
  queryKeys,
  uploadKeys,
  type ClaimKeysResponse,
  type KeyChangesResponse,
  type QueryKeysResponse,
  type UploadKeysResponse,
} from "../../keys/keys.js";
import { requireUser } from "../../http/auth.js";
import { clientPaths } from "../../http/paths.js";
import { jsonObjectBody } from "../../http/request.js";
import type { RouteModule } from "../../http/server.js";

function queryString(query: unknown, name: string): string | undefined {
  const v = (query as Record<string, unknown> | undefined)?.[name];
  const s: unknown = Array.isArray(v) ? v[0] : v;
  return typeof s === "string" ? s : undefined;
}

export const keysRoutes: RouteModule = (app, { accounts }) => {
  /**
   * # `POST /_matrix/client/v3/keys/upload`
   * - For the requester's device only: `device_keys.user_id`/`device_id` naming anyone else is 400 `M_BAD_JSON`
   *   (Synapse's errcode and words); a token without a device is 400 `M_UNKNOWN`.
   * - `device_keys` stored (a change wakes the user's syncs with `device_lists.changed`), `one_time_keys` added
   *   (the same ID with a different key is 400), `fallback_keys` replace the fallback key of their algorithm.
   * - Answers `{"one_time_key_counts": {algorithm: n}}`, `signed_curve25519` always present.
   */
  for (const url of clientPaths("/keys/upload")) {
    app.post(url, async (request): Promise<UploadKeysResponse> => {
      const requester = await requireUser(request, accounts);
      return uploadKeys(accounts, requester, jsonObjectBody(request));
    });
  }

  /**
   * # `POST /_matrix/client/v3/keys/query`
   * - `{"device_keys": {userId: [] | [deviceId…]}}` → the devices with keys of every asked-about local user who is
   *   the requester or joined or invited to a room the requester is joined or invited to (anyone else is left out,
   *   where Synapse answers for anyone), each as uploaded plus `unsigned.device_display_name`; users of other
   *   servers are listed under `failures`.
   * - Device keys carry the signatures of them by their owner's self-signing key. `master_keys` and
   *   `self_signing_keys` of everyone asked about whom the requester may see and who has them; `user_signing_keys`
   *   only the requester's own; on a master key, only the signatures the requester made of it.
   */
  for (const url of clientPaths("/keys/query")) {
    app.post(url, async (request): Promise<QueryKeysResponse> => {
      const requester = await requireUser(request, accounts);
      return queryKeys(accounts, requester.userId, jsonObjectBody(request));
    });
  }

  /**
   * # `POST /_matrix/client/v3/keys/claim`
   * - `{"one_time_keys": {userId: {deviceId: algorithm}}}` → `{userId: {deviceId: {"alg:id": key}}}`: a one-time
   *   key, taken in one statement (two claimers never get the same key), oldest first; when none is left, the
   *   device's fallback key (which stays, marked used); devices with neither are left out.
   */
  for (const url of clientPaths("/keys/claim")) {
    app.post(url, async (request): Promise<ClaimKeysResponse> => {
      await requireUser(request, accounts);
      return claimKeys(accounts, jsonObjectBody(request));
    });
  }

  /**
   * # `GET /_matrix/client/v3/keys/changes`
   * - `from` (required, a `/sync` token) and optional `to` → `{"changed": [userIds], "left": [userIds]}`, computed
   *   as `/sync`'s `device_lists`: whose devices changed among the users sharing a room with the requester, and who
   *   stopped sharing any.
   */
  for (const url of clientPaths("/keys/changes")) {
    app.get(url, async (request): Promise<KeyChangesResponse> => {
      const requester = await requireUser(request, accounts);
      return keyChanges(
        accounts,
        requester.userId,
        queryString(request.query, "from"),
        queryString(request.query, "to"),
      );
    });
  }
};
