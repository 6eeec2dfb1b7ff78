/**
 * @module Capabilities negotiation of the client-server API (spec: "Capabilities negotiation").
 */
import { requireUser } from "../../http/auth.js";
import { clientPaths } from "../../http/paths.js";
import type { RouteModule } from "../../http/server.js";
import { CREATABLE_ROOM_VERSIONS } from "../../matrix/room-versions.js";

/** https://spec.matrix.org/v1.16/client-server-api/#get_matrixclientv3capabilities */
export interface BooleanCapability {
  enabled: boolean;
}

/** https://spec.matrix.org/v1.16/client-server-api/#mroom_versions-capability */
export interface RoomVersionsCapability {
  default: string;
  available: Record<string, "stable" | "unstable">;
}

/** https://spec.matrix.org/v1.16/client-server-api/#get_matrixclientv3capabilities */
export interface CapabilitiesResponse {
  capabilities: {
    "m.change_password": BooleanCapability;
    "m.room_versions": RoomVersionsCapability;
    "m.set_displayname": BooleanCapability;
    "m.set_avatar_url": BooleanCapability;
    "m.3pid_changes": BooleanCapability;
    "m.get_login_token": BooleanCapability;
  };
}

export const capabilitiesRoutes: RouteModule = (app, { accounts, config, rooms }) => {
  /**
   * # `GET /_matrix/client/v3/capabilities`
   * - Needs an access token (guests too).
   * - `m.change_password` follows `password_config.enabled` and `localdb_enabled`; `m.get_login_token` follows
   *   `login_via_existing_session.enabled`; display name and avatar are always settable; no 3PIDs exist to change.
   * - `m.room_versions`: the versions rooms can be created in (10 and 11), and the default (11, as Synapse).
   */
  for (const url of clientPaths("/capabilities")) {
    app.get(url, async (request): Promise<CapabilitiesResponse> => {
      await requireUser(request, accounts);
      return {
        capabilities: {
          "m.change_password": { enabled: accounts.passwordChangeEnabled },
          "m.room_versions": {
            default: rooms.defaultRoomVersion,
            available: Object.fromEntries(CREATABLE_ROOM_VERSIONS.map((v) => [v, "stable" as const])),
          },
          "m.set_displayname": { enabled: true },
          "m.set_avatar_url": { enabled: true },
          "m.3pid_changes": { enabled: config.enable_3pid_changes && config.email !== null },
          "m.get_login_token": { enabled: config.login_via_existing_session.enabled },
        },
      };
    });
  }
};
