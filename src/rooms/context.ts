/**
 * @module What every room service needs: the account services' context (stores, clock, server name) and the key
 * this server signs its events with.
 */
import { randomBytes } from "node:crypto";
import type { AccountsContext } from "../accounts/context.js";
import type { RateLimiter } from "../accounts/ratelimit.js";
import type { Config, RateLimitConfig } from "../config/schema.js";
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
}

export type RoomsConfig = Pick<Config, "default_room_version" | "rc_message" | "rc_joins">;

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
  };
  accounts.userHooks.userChanged = (userId) => reconcileMemberships(ctx, userId);
  return ctx;
}
