/**
 * @module `PUT /sendToDevice/{eventType}/{txnId}` (spec "Send-to-Device messaging"): the send, as Synapse does it
 * for local recipients.
 *
 * - `messages` maps user IDs to device IDs to content. A device map whose only key is `*` means every device the
 *   user has at the time of the send; otherwise `*` is an ordinary (and so unknown) device ID, as in Synapse.
 * - Devices that do not exist and local users with no devices get nothing, silently (Synapse drops them too).
 *   Users of other servers are dropped as well: there is no federation, and Synapse would queue them for it.
 * - The whole send takes one stream position, in the transaction that stores its rows, and wakes the syncs of each
 *   user who got a message. A transaction ID the sending device used before makes the request do nothing.
 * - A device holds at most `MAX_PENDING_PER_DEVICE` messages: a send beyond that drops the device's oldest, down to
 *   `TRIMMED_PENDING` (an abandoned device would otherwise collect every room key sent to it for ever; refusing the
 *   send instead would stop the room keys reaching everyone else in the room). The queue is counted only when the
 *   bound kept beside it (`to_device_counts`, raised by each send, made exact by the count) passes the cap: once
 *   per 10,000 messages to a device that reads its messages, once per 1,000 to one that never does.
 */
import type { Requester } from "../accounts/auth.js";
import type { AccountsContext } from "../accounts/context.js";
import type { NewToDeviceMessage } from "../db/to-device-messages.js";
import { ErrCode, MatrixError, refuseNul } from "../errors.js";
import { parseUserId } from "../matrix/ids.js";
import { inStreamTransaction } from "./stream.js";

/** The most messages a device's queue holds; a send beyond drops the oldest, down to `TRIMMED_PENDING`. */
export const MAX_PENDING_PER_DEVICE = 10_000;
export const TRIMMED_PENDING = 9_000;

/** What `PUT /sendToDevice` asks for: content by local user, then by device ID (or the lone `*`). */
export interface ToDeviceSend {
  type: string;
  txnId: string;
  messages: Map<string, Map<string, Record<string, unknown>>>;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Reads the request into a send, checking all of it before anything is stored: a malformed user ID is 400
 * `M_INVALID_PARAM` (Synapse's `UserID.from_string`), a body not of the spec's shape 400 `M_BAD_JSON`.
 */
export function parseToDeviceSend(
  serverName: string,
  type: string,
  txnId: string,
  body: Record<string, unknown>,
): ToDeviceSend {
  refuseNul(type, "eventType");
  refuseNul(txnId, "txnId");
  if (!("messages" in body)) throw new MatrixError(ErrCode.MissingParam, "Missing params: ['messages']");
  if (!isObject(body.messages)) throw new MatrixError(ErrCode.BadJson, "'messages' must be an object");
  const messages = new Map<string, Map<string, Record<string, unknown>>>();
  for (const [userId, byDevice] of Object.entries(body.messages)) {
    const parsed = parseUserId(userId);
    if (!parsed) throw new MatrixError(ErrCode.InvalidParam, `Invalid user ID: ${JSON.stringify(userId)}`);
    if (!isObject(byDevice)) {
      throw new MatrixError(ErrCode.BadJson, `The messages for ${userId} must be an object of device IDs`);
    }
    const devices = new Map<string, Record<string, unknown>>();
    for (const [deviceId, content] of Object.entries(byDevice)) {
      refuseNul(deviceId, "device_id");
      if (!isObject(content)) {
        throw new MatrixError(ErrCode.BadJson, `The message for ${userId}'s device ${deviceId} must be an object`);
      }
      devices.set(deviceId, content);
    }
    if (parsed.serverName === serverName && devices.size > 0) messages.set(userId, devices);
  }
  return { type, txnId, messages };
}

/** The devices each user's messages go to: the lone `*` is all of the user's devices, other IDs must exist. */
function address(
  messages: ToDeviceSend["messages"],
  existing: Map<string, string[]>,
): { userId: string; deviceId: string; content: Record<string, unknown> }[] {
  const out: { userId: string; deviceId: string; content: Record<string, unknown> }[] = [];
  for (const [userId, byDevice] of messages) {
    const devices = existing.get(userId) ?? [];
    const all = byDevice.get("*");
    if (all && byDevice.size === 1) {
      for (const deviceId of devices) out.push({ userId, deviceId, content: all });
      continue;
    }
    const known = new Set(devices);
    for (const [deviceId, content] of byDevice) if (known.has(deviceId)) out.push({ userId, deviceId, content });
  }
  return out;
}

/** Stores the send's messages at one new stream position and wakes their recipients; a retried `txnId` is a no-op. */
export async function sendToDevice(ctx: AccountsContext, requester: Requester, send: ToDeviceSend): Promise<void> {
  const now = ctx.now();
  // A token without a device (an admin's login-as) keeps its transaction IDs under the empty device ID.
  const senderDevice = requester.deviceId ?? "";
  await inStreamTransaction(ctx.stores, async (tables, writer) => {
    if (!(await tables.toDeviceTxns.claim(requester.userId, senderDevice, send.txnId, now))) return;
    const targets = address(send.messages, await tables.toDeviceMessages.devicesOf([...send.messages.keys()]));
    if (targets.length === 0) return;
    const position = await writer.next();
    const rows: NewToDeviceMessage[] = targets.map((t, seq) => ({
      userId: t.userId,
      deviceId: t.deviceId,
      seq,
      sender: requester.userId,
      type: send.type,
      content: JSON.stringify(t.content),
    }));
    const bounds = await tables.toDeviceMessages.insert(position, rows);
    for (const q of bounds) {
      if (q.bound > MAX_PENDING_PER_DEVICE) {
        await tables.toDeviceMessages.recount(q.userId, q.deviceId, MAX_PENDING_PER_DEVICE, TRIMMED_PENDING);
      }
    }
    for (const t of targets) writer.wake(t.userId);
  });
}
