/**
 * @module Cross-signing uploads of the client-server API (spec "Cross-signing"): the user's own signing keys, and
 * signatures made with them. `/keys/query` shows both (`keys.ts`).
 */
import { uploadSigningKeys } from "../../keys/cross-signing.js";
import { uploadSignatures, type SignaturesUploadResponse } from "../../keys/signatures.js";
import { requireNonGuest, requireUser } from "../../http/auth.js";
import { clientPaths } from "../../http/paths.js";
import { jsonObjectBody } from "../../http/request.js";
import type { RouteModule } from "../../http/server.js";

export const crossSigningRoutes: RouteModule = (app, deps) => {
  const { accounts } = deps;

  /**
   * # `POST /_matrix/client/v3/keys/device_signing/upload`
   * - `master_key`, `self_signing_key`, `user_signing_key` (each optional): the requester's own keys, each with
   *   `usage` naming its type and one ed25519 key (else 400 `M_INVALID_PARAM`); the self-signing and user-signing
   *   keys signed by the master key given, or else the stored one (400 `M_INVALID_SIGNATURE`; no master key at all:
   *   400 `M_MISSING_PARAM`). A key whose ID is one of the user's device IDs: 403 `M_FORBIDDEN`.
   * - Keys identical to the stored ones: `{}` at once. Replacing keys once a master key exists needs UIA
   *   `[m.login.password]` ("reset the device signing key on your account"), unless an admin opened a window.
   * - No guests. The change is a device-list change of the user.
   */
  for (const url of clientPaths("/keys/device_signing/upload")) {
    app.post(url, async (request) => {
      const requester = await requireNonGuest(request, accounts);
      return uploadSigningKeys(deps, requester, {
        uri: request.url.split("?")[0]!,
        method: request.method,
        body: jsonObjectBody(request),
      });
    });
  }

  /**
   * # `POST /_matrix/client/v3/keys/signatures/upload`
   * - `{userId: {keyId: signed object}}`: the requester's devices signed by their self-signing key, their master key
   *   signed by their devices, other users' master keys signed by their user-signing key. A value that is not an
   *   object of objects: 400 `M_INVALID_PARAM`, nothing stored.
   * - Each object must be the stored key (`signatures`, `unsigned` aside) and its signature must verify; what does
   *   not is listed in `failures[userId][keyId]` (`M_INVALID_SIGNATURE`, `M_NOT_FOUND`, `M_UNKNOWN` "Key does not
   *   match") and not stored. `{"failures": {}}` when all were stored.
   */
  for (const url of clientPaths("/keys/signatures/upload")) {
    app.post(url, async (request): Promise<SignaturesUploadResponse> => {
      const requester = await requireUser(request, accounts);
      return uploadSignatures(accounts, requester.userId, jsonObjectBody(request));
    });
  }
};
