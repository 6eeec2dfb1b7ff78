/**
 * @module What every room service needs: the account services' context (stores, clock, server name) and the key
 * this server signs its events with.
 */
import { randomBytes } from "node:crypto";
import type { AccountsContext } from "../accounts/context.js";
import type { RoomDirectoryRule, UserDirectoryConfig } from "../config/schema.js";
import { DEFAULT_ROOM_VERSION } from "../matrix/room-versions.js";
import type { SigningKey } from "../matrix/signing.js";

export interface RoomsContext extends AccountsContext {
  signingKey: SigningKey;
  /** The version `createRoom` uses when the request names none. */
  defaultRoomVersion: string;
  /** Random bytes for room IDs; injectable so tests can make IDs collide. */
  randomBytes: (n: number) => Uint8Array;
  /** `room_list_publication_rules` and `user_directory` from the configuration. */
  directory: DirectoryConfig;
}

export interface DirectoryConfig {
  publicationRules: readonly RoomDirectoryRule[];
  userDirectory: UserDirectoryConfig;
}

/** Synapse's defaults: nobody may publish a room; the user directory on, limited to people one could meet. */
export const DEFAULT_DIRECTORY_CONFIG: DirectoryConfig = {
  publicationRules: [],
  userDirectory: { enabled: true, search_all_users: false },
};

export function createRoomsContext(
  accounts: AccountsContext,
  signingKey: SigningKey,
  options: { defaultRoomVersion?: string; directory?: DirectoryConfig } = {},
): RoomsContext {
  return {
    ...accounts,
    signingKey,
    defaultRoomVersion: options.defaultRoomVersion ?? DEFAULT_ROOM_VERSION,
    randomBytes: (n) => randomBytes(n),
    directory: options.directory ?? DEFAULT_DIRECTORY_CONFIG,
  };
}
