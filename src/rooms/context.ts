/**
 * @module What every room service needs: the account services' context (stores, clock, server name) and the key
 * this server signs its events with.
 */
import { randomBytes } from "node:crypto";
import { consentSettings, type ConsentSettings } from "../accounts/consent.js";
import type { AccountsContext } from "../accounts/context.js";
import type { RateLimiter } from "../accounts/ratelimit.js";
import type {
  Config,
  RateLimitConfig,
  RoomDirectoryRule,
  ServerNoticesConfig,
  UserDirectoryConfig,
} from "../config/schema.js";
import type { SigningKey } from "../matrix/signing.js";
import { reconcileMemberships } from "./member-sync.js";

export interface RoomsContext extends AccountsContext {
  signingKey: SigningKey;
  /** The version `createRoom` uses when the request names none. */
  defaultRoomVersion: string;
  limiter: RateLimiter;
  rateLimits: { message: RateLimitConfig; joins: RateLimitConfig };
  /** Random bytes for room IDs; injectable so tests can make IDs collide. */
  randomBytes: (n: number) => Uint8Array;
  /** `room_list_publication_rules`, `alias_creation_rules` and `user_directory` from the configuration. */
  directory: DirectoryConfig;
  /** `server_notices` from the configuration; null: server notices are off. */
  serverNotices: ServerNoticesConfig | null;
  /** `user_consent` with its `form_secret`; null: no terms to accept. */
  consent: ConsentSettings | null;
}

export type RoomsConfig = Pick<
  Config,
  | "default_room_version"
  | "rc_message"
  | "rc_joins"
  | "room_list_publication_rules"
  | "alias_creation_rules"
  | "user_directory"
  | "server_notices"
  | "user_consent"
  | "form_secret"
  | "public_baseurl"
  | "server_name"
>;

export interface DirectoryConfig {
  publicationRules: readonly RoomDirectoryRule[];
  aliasCreationRules: readonly RoomDirectoryRule[];
  userDirectory: UserDirectoryConfig;
}

export function createRoomsContext(
  accounts: AccountsContext,
  signingKey: SigningKey,
  config: RoomsConfig,
  limiter: RateLimiter,
): RoomsContext {
  const ctx: RoomsContext = {
    ...accounts,
    signingKey,
    defaultRoomVersion: config.default_room_version,
    limiter,
    rateLimits: { message: config.rc_message, joins: config.rc_joins.local },
    randomBytes: (n) => randomBytes(n),
    directory: {
      publicationRules: config.room_list_publication_rules,
      aliasCreationRules: config.alias_creation_rules,
      userDirectory: config.user_directory,
    },
    serverNotices: config.server_notices,
    consent: consentSettings(config),
  };
  accounts.userHooks.userChanged = (userId) => reconcileMemberships(ctx, userId);
  return ctx;
}
