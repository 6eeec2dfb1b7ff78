/**
 * @module Publishing this server's signing keys (spec server-server API: "Retrieving server keys → Publishing Keys").
 */
import type { RouteModule } from "../../http/server.js";
import { serverKeysResponse, type ServerKeysResponse } from "../../matrix/signing.js";

export const serverKeyRoutes: RouteModule = (app, { accounts, config }) => {
  const answer = (): ServerKeysResponse =>
    serverKeysResponse(
      accounts.serverName,
      accounts.signingKeys,
      config.old_signing_keys,
      accounts.now() + config.key_refresh_interval,
    );

  /**
   * # `GET /_matrix/key/v2/server`
   * - No authentication; served on listeners with the `federation` or `keys` resource (Synapse's names).
   * - Every key of the `signing_key_path` file in `verify_keys`, `old_signing_keys` in `old_verify_keys`,
   *   `valid_until_ts` now + `key_refresh_interval`, signed by each current key.
   */
  app.get("/_matrix/key/v2/server", async () => answer());

  /**
   * # `GET /_matrix/key/v2/server/{keyId}`
   * - The deprecated form (removed from the spec in v1.1): the key ID is ignored and every key returned, as Synapse does.
   */
  app.get("/_matrix/key/v2/server/:keyId", async () => answer());
};
