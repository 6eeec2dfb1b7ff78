/**
 * @module "This user's devices changed": the one write every device change goes through (a device created or
 * deleted, renamed, its keys replaced, the user's cross-signing keys replaced), so `/sync` and `/keys/changes` can
 * tell the user's other devices and everyone who shares a room with them (src/sync/device-lists.ts reads it).
 */
import type { Stores, Tables } from "../db/stores.js";
import { inStreamTransaction, type StreamWriter } from "../sync/stream.js";

/**
 * Records, inside the transaction that makes the change, that `deviceIds` of `userId` changed, at a new stream
 * position, and wakes (after the commit) the user's syncs and those of every user joined to a room they are joined
 * to: the users whose `device_lists.changed` will name them (Synapse's `get_users_who_share_room_with_user`).
 * Read and write only through `tables` here: the caller's transaction holds the connection.
 */
export async function recordDeviceListChange(
  tables: Tables,
  writer: StreamWriter,
  userId: string,
  deviceIds: readonly string[],
): Promise<void> {
  const ids = [...new Set(deviceIds)];
  if (ids.length === 0) return;
  await tables.deviceListChanges.insert(await writer.next(), userId, ids);
  writer.wake(userId);
  for (const other of await tables.roomMemberships.joinedCoMembers(userId)) writer.wake(other);
}

/**
 * For a change that has already committed in a transaction of its own (admin and bulk paths that delete devices
 * in many statements): records it in a transaction of its own. Prefer `recordDeviceListChange` in the change's
 * own transaction, so a reader never sees one without the other.
 */
export async function deviceListChanged(stores: Stores, userId: string, deviceIds: string[]): Promise<void> {
  if (deviceIds.length === 0) return;
  await inStreamTransaction(stores, (tables, writer) => recordDeviceListChange(tables, writer, userId, deviceIds));
}

/**
 * Runs `fn` in one stream transaction and records the devices of `userId` it returns (those it created, deleted or
 * renamed) as changed in that same transaction. Returns them.
 */
export function withDeviceListChange(
  stores: Stores,
  userId: string,
  fn: (tables: Tables) => Promise<string[]>,
): Promise<string[]> {
  return inStreamTransaction(stores, async (tables, writer) => {
    const changed = await fn(tables);
    await recordDeviceListChange(tables, writer, userId, changed);
    return changed;
  });
}
