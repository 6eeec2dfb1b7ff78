/**
 * @module `/sync`'s `to_device` section: the requesting device's queue, oldest first, at most `TO_DEVICE_LIMIT` a
 * response (the spec's recommendation and Synapse's limit).
 *
 * A response at position P carries the device's oldest messages of positions up to P, whatever its `since`. The
 * next request's `since` is the acknowledgement (the spec's and Synapse's rule): a sync with `since` = S deletes the
 * messages the response at S carried, which are those of positions up to S, except the ones it left out for the
 * limit. Those are marked with S when left out (`withheld_in`), the only write a sync makes besides the
 * acknowledgement, and the mark takes a new stream position, so that the response that carries them next is at a
 * later position than S. Hence:
 *
 * - `next_batch` moves on like every other section's: messages left over by the limit are still queued, so the
 *   next sync returns at once with them instead of waiting.
 * - A message left out at S and carried by a later response at S' > S is acknowledged by S' (its mark is below S');
 *   a later response that leaves it out again marks it again.
 * - A sync repeated with an older `since` (a lost response) gets the same messages again, as nothing was deleted.
 * - A response reads only messages stamped at or before its position, as every section reads, and a reader at a
 *   position sees every row stamped at or before it (src/sync/stream.ts): the response at S saw all it carried.
 * - An idle sync reads once and writes nothing.
 * - A sync woken by something else (a message in a room) does not read the queue when this process knows it holds
 *   nothing to send: a sync that read it at position P found nothing there that `since` S does not acknowledge, the
 *   new sync's `since` is S or later (what S acknowledges, any later `since` does too), and every position from P to
 *   the new one is an event (a to-device message or a mark takes a stream position of its own, whichever process
 *   writes it). The acknowledgement is then left to a later sync; until then the messages it would delete are ones a
 *   response up to `since` carried, which no response after it sends again. An older `since` (a lost response)
 *   reads the queue.
 */
import type { Requester } from "../accounts/auth.js";
import type { Stores } from "../db/stores.js";
import type { PendingToDeviceMessage } from "../db/to-device-messages.js";
import { inStreamTransaction } from "./stream.js";

/** The most to-device messages one response carries. */
export const TO_DEVICE_LIMIT = 100;

/** https://spec.matrix.org/v1.16/client-server-api/#extensions-to-sync-2 */
export interface ToDeviceEvent {
  sender: string;
  type: string;
  content: Record<string, unknown>;
}

interface Drained {
  since: number;
  at: number;
}

/**
 * Per device, the `since` of a sync and the position up to which the device's queue held nothing that `since` does
 * not acknowledge; one map per server.
 */
const drained = new WeakMap<Stores, Map<string, Drained>>();
/** Devices remembered at most before all are forgotten. */
const MAX_DRAINED = 100_000;

/**
 * Acknowledges what the response at `since` carried, then takes the device's oldest messages for the response at
 * `position`. Writes go straight to the stores, not through the sync's read cache. `onlyEvents(after, upTo)` says
 * whether every position in (`after`, `upTo`] is known to be an event (src/sync/recent-events.ts).
 */
export async function toDeviceEvents(
  stores: Stores,
  requester: Requester,
  since: number | null,
  position: number,
  onlyEvents: (after: number, upTo: number) => boolean = () => false,
): Promise<ToDeviceEvent[]> {
  const { userId, deviceId } = requester;
  if (deviceId === null) return [];
  let known = drained.get(stores);
  if (!known) drained.set(stores, (known = new Map<string, Drained>()));
  const device = `${userId}\u0000${deviceId}`;
  const held = known.get(device);
  if (since !== null && held && since >= held.since && held.at <= position && onlyEvents(held.at, position)) {
    held.at = position;
    return [];
  }
  known.delete(device);
  const queue = stores.toDeviceMessages;
  // One more than the limit tells whether the response leaves any out.
  let batch = await queue.pending(userId, deviceId, position, TO_DEVICE_LIMIT + 1);
  if (since !== null && batch.some((m) => acknowledged(m, since))) {
    await queue.acknowledge(userId, deviceId, since);
    // A batch that was not full held the whole queue: what is left of it is the rest, without reading again.
    batch =
      batch.length > TO_DEVICE_LIMIT
        ? await queue.pending(userId, deviceId, position, TO_DEVICE_LIMIT + 1)
        : batch.filter((m) => !acknowledged(m, since));
  }
  if (since !== null && batch.length <= TO_DEVICE_LIMIT) {
    if (known.size >= MAX_DRAINED) known.clear();
    // Nothing left over: what the queue holds now is acknowledged by this `since` if the batch is empty, else by the
    // next one, this response's position (a non-empty batch always ends the sync at `position`).
    known.set(device, batch.length === 0 ? { since, at: position } : { since: position, at: position });
  }
  if (batch.length > TO_DEVICE_LIMIT) {
    batch = batch.slice(0, TO_DEVICE_LIMIT);
    const last = batch.at(-1)!;
    // A new position with the mark: the response that carries these must have a later one than this, or its
    // `since` could not tell the two apart.
    await inStreamTransaction(stores, async (tables, writer) => {
      await tables.toDeviceMessages.withhold(userId, deviceId, { streamId: last.streamId, seq: last.seq }, position);
      await writer.next();
    });
  }
  return batch.map((m) => ({ sender: m.sender, type: m.type, content: m.content }));
}

function acknowledged(m: PendingToDeviceMessage, since: number): boolean {
  return m.streamId <= since && (m.withheldIn === null || m.withheldIn < since);
}
