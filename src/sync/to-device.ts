/**
 * @module `/sync`'s `to_device` section: the requesting device's queue, oldest first, at most `TO_DEVICE_LIMIT` a
 * response (the spec's recommendation and Synapse's limit).
 *
 * The queue is not a range of the stream. A sync delivers the device's oldest messages whatever its `since`, and
 * stamps each on first delivery with the response's position (`delivered_in` = its `next_batch`). A later sync from
 * the device with `since` at or after that position proves the client holds that response, so it deletes them
 * (the spec's and Synapse's acknowledgement: the next request's `since`). Hence:
 *
 * - `next_batch` moves on like every other section's: messages left over by the limit are simply still queued, and
 *   the next sync returns at once with them instead of waiting.
 * - A sync repeated with an older `since` (a lost response) gets the same messages again; they keep the position
 *   of their first delivery, which any later response also carried, since each takes the oldest.
 * - Only messages stamped at or before the response's position are read, as every section reads.
 */
import type { Requester } from "../accounts/auth.js";
import type { Stores } from "../db/stores.js";
import type { PendingToDeviceMessage } from "../db/to-device-messages.js";

/** The most to-device messages one response carries. */
export const TO_DEVICE_LIMIT = 100;

/** https://spec.matrix.org/v1.16/client-server-api/#extensions-to-sync-2 */
export interface ToDeviceEvent {
  sender: string;
  type: string;
  content: Record<string, unknown>;
}

/**
 * Acknowledges what a response at or before `since` carried, then takes the device's oldest messages for the
 * response at `position`. Writes go straight to the stores, not through the sync's read cache.
 */
export async function toDeviceEvents(
  stores: Stores,
  requester: Requester,
  since: number | null,
  position: number,
): Promise<ToDeviceEvent[]> {
  const { userId, deviceId } = requester;
  if (deviceId === null) return [];
  const queue = stores.toDeviceMessages;
  let batch = await queue.pending(userId, deviceId, position, TO_DEVICE_LIMIT);
  // An idle sync reads once; it deletes only when it has something to acknowledge.
  if (since !== null && batch.some((m) => acknowledged(m, since))) {
    await stores.transaction((t) => t.toDeviceMessages.acknowledge(userId, deviceId, since));
    batch = await queue.pending(userId, deviceId, position, TO_DEVICE_LIMIT);
  }
  const last = batch.at(-1);
  if (last && batch.some((m) => m.deliveredIn === null)) {
    await queue.markDelivered(userId, deviceId, { streamId: last.streamId, seq: last.seq }, position);
  }
  return batch.map((m) => ({ sender: m.sender, type: m.type, content: m.content }));
}

function acknowledged(m: PendingToDeviceMessage, since: number): boolean {
  return m.deliveredIn !== null && m.deliveredIn <= since;
}
