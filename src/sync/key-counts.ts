/**
 * @module The requesting device's key counts (`device_one_time_keys_count`, `device_unused_fallback_key_types`),
 * which every `/sync` response carries, remembered per device between responses.
 *
 * Every write that changes them takes a stream position (an upload that adds a one-time key or sets a fallback
 * key, a claim that takes a key: src/keys/keys.ts; a device deleted with its keys and made again goes through a
 * device-list change, which takes one too). So counts read once a sync's position P was visible still hold at a
 * later position Q when every position in (P, Q] is an event, whichever process wrote what: the recent-events cache
 * knows that (`onlyEvents`), as it does for the to-device queue. Any other position reads them again.
 */
import type { AccountsContext } from "../accounts/context.js";
import type { Stores } from "../db/stores.js";
import { keyCountsForSync } from "../keys/keys.js";

export type KeyCounts = Awaited<ReturnType<typeof keyCountsForSync>>;

/** Per device: the counts, read after position `at` was visible. One map per server. */
const held = new WeakMap<Stores, Map<string, Held>>();
interface Held {
  at: number;
  counts: KeyCounts;
}
/** Devices remembered at most before all are forgotten. */
const MAX_DEVICES = 100_000;

/**
 * The device's key counts for a response at `position`: from memory when the ones last read still hold, else read.
 * The answer is shared between responses: read it, never change it.
 */
export async function keyCountsAt(
  ctx: AccountsContext,
  userId: string,
  deviceId: string,
  position: number,
  onlyEvents: (after: number, upTo: number) => boolean,
): Promise<KeyCounts> {
  let known = held.get(ctx.stores);
  if (!known) held.set(ctx.stores, (known = new Map<string, Held>()));
  const device = `${userId}\u0000${deviceId}`;
  const last = known.get(device);
  if (last && last.at <= position && onlyEvents(last.at, position)) return last.counts;
  const counts = await keyCountsForSync(ctx, userId, deviceId);
  if (known.size >= MAX_DEVICES) known.clear();
  // Read after `position` was visible: they hold at `position` (a later write has a later position).
  known.set(device, { at: position, counts });
  return counts;
}
