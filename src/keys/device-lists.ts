/**
 * @module "This user's devices changed": the one hook every device change goes through, so `/sync` and
 * `/keys/changes` can tell the user's other devices (and, once there are rooms, the users they share them with).
 */
import type { Stores } from "../db/stores.js";
import { withNewPosition } from "../sync/stream.js";

/**
 * Records that `deviceIds` of `userId` were added, deleted or had their keys replaced, and wakes the user's waiting
 * syncs. Call it after the change is committed (login, logout, device deletion, key upload).
 */
export async function deviceListChanged(stores: Stores, userId: string, deviceIds: string[]): Promise<void> {
  const ids = [...new Set(deviceIds)];
  if (ids.length === 0) return;
  await withNewPosition(stores, userId, (tables, position) => tables.deviceListChanges.insert(position, userId, ids));
}
