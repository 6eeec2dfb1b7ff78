/**
 * @module What every room service needs: the account services' context (stores, clock, server name) and the key
 * this server signs its events with.
 */
import { randomBytes } from "node:crypto";
import type { AccountsContext } from "../accounts/context.js";
import { DEFAULT_ROOM_VERSION } from "../matrix/room-versions.js";
import type { SigningKey } from "../matrix/signing.js";
import { reconcileMemberships } from "./member-sync.js";

export interface RoomsContext extends AccountsContext {
  signingKey: SigningKey;
  /** The version `createRoom` uses when the request names none. */
  defaultRoomVersion: string;
  /** Random bytes for room IDs; injectable so tests can make IDs collide. */
  randomBytes: (n: number) => Uint8Array;
}

export function createRoomsContext(
  accounts: AccountsContext,
  signingKey: SigningKey,
  options: { defaultRoomVersion?: string } = {},
): RoomsContext {
  const ctx: RoomsContext = {
    ...accounts,
    signingKey,
    defaultRoomVersion: options.defaultRoomVersion ?? DEFAULT_ROOM_VERSION,
    randomBytes: (n) => randomBytes(n),
  };
  accounts.userHooks.userChanged = (userId) => reconcileMemberships(ctx, userId);
  return ctx;
}
