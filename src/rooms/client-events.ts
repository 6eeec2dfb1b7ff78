/**
 * @module Events as clients see them (spec "Room event format", `ClientEvent`): the PDU without its federation
 * fields, `unsigned.age`, the previous content of a replaced state event, the transaction ID for the device that
 * sent it, for a redacted event its pruned body with `redacted_because`, and the bundled aggregations of its
 * thread and edits (src/rooms/aggregations.ts).
 */
import type { ReadFor, StoredEvent } from "../db/events.js";
import type { Tables } from "../db/stores.js";
import { redactEvent } from "../matrix/redaction.js";
import { roomVersion, type RoomVersion } from "../matrix/room-versions.js";
import { loadAggregations, type Aggregations } from "./aggregations.js";

/** https://spec.matrix.org/v1.16/client-server-api/#room-event-format */
export interface ClientEvent {
  content: Record<string, unknown>;
  event_id: string;
  origin_server_ts: number;
  room_id?: string;
  sender: string;
  type: string;
  state_key?: string;
  redacts?: string;
  unsigned?: Record<string, unknown>;
}

/** https://spec.matrix.org/v1.16/client-server-api/#stripped-state */
export interface StrippedStateEvent {
  content: Record<string, unknown>;
  sender: string;
  state_key: string;
  type: string;
}

/** Who is reading: the device that sent an event sees its transaction ID. */
export interface Reader {
  userId: string;
  deviceId: string | null;
}

export interface SerializeOptions {
  now: number;
  /** `/sync` leaves `room_id` out of events inside a room's section. */
  omitRoomId?: boolean;
  /**
   * False for a block of state (`/sync`'s `state`, `/messages`' members, `/context`'s state): Synapse bundles the
   * aggregations of timeline events only, and looking them up cost a statement per room on every initial sync.
   */
  bundleAggregations?: boolean;
}

/** Serializes `events` for `reader`, loading the redactions and transaction IDs they need in a few queries. */
export async function serializeEvents(
  tables: Tables,
  events: readonly StoredEvent[],
  reader: Reader,
  options: SerializeOptions,
): Promise<ClientEvent[]> {
  if (events.length === 0) return [];
  const versions = new Map<string, RoomVersion>();
  for (const roomId of new Set(events.map((e) => e.roomId))) {
    const room = await tables.rooms.get(roomId);
    versions.set(roomId, roomVersion(room?.roomVersion ?? "11") ?? (roomVersion("11") as RoomVersion));
  }
  const redactionIds = events.map((e) => e.redactedBy).filter((id): id is string => id !== null);
  // Only `send` and `redact` take a transaction ID, and neither makes a state event. An event read for this reader
  // came with its own.
  const own = events
    .filter((e) => e.sender === reader.userId && e.stateKey === null && readForReader(e, reader) === undefined)
    .map((e) => e.eventId);
  // Together: none needs another's answer, so on PostgreSQL a page waits for one round trip instead of three.
  const [redactionEvents, txns, aggregations] = await Promise.all([
    redactionIds.length === 0 ? [] : tables.events.getMany(redactionIds),
    reader.deviceId === null || own.length === 0
      ? new Map<string, string>()
      : tables.eventTxns.forEvents(reader.userId, reader.deviceId, own),
    options.bundleAggregations === false
      ? new Map<string, Aggregations>()
      : loadAggregations(tables, events, reader.userId),
  ]);
  const redactions = new Map(redactionEvents.map((e) => [e.eventId, e]));
  return events.map((e) => {
    const v = versions.get(e.roomId) as RoomVersion;
    const redaction = e.redactedBy !== null ? redactions.get(e.redactedBy) : undefined;
    const client = clientEvent(e, v, options, readForReader(e, reader)?.transactionId ?? txns.get(e.eventId));
    if (redaction) {
      const pruned = redactEvent(e.pdu, v);
      client.content = (pruned.content ?? {}) as Record<string, unknown>;
      client.unsigned = {
        ...client.unsigned,
        redacted_because: clientEvent(redaction, v, options, undefined),
      };
      delete client.unsigned.prev_content;
    }
    const bundle = aggregations.get(e.eventId);
    if (bundle) {
      // The children are shown as they are, without their own aggregations, as Synapse does.
      const relations: Record<string, unknown> = {};
      if (bundle.thread) {
        relations["m.thread"] = {
          latest_event: clientEvent(bundle.thread.latest, v, options, undefined),
          count: bundle.thread.count,
          current_user_participated: bundle.thread.participated,
        };
      }
      if (bundle.replace) relations["m.replace"] = clientEvent(bundle.replace, v, options, undefined);
      client.unsigned = { ...client.unsigned, "m.relations": relations };
    }
    return client;
  });
}

/** What was read with `e` for this reader's device, if it was read for them. */
function readForReader(e: StoredEvent, reader: Reader): ReadFor | undefined {
  const r = e.readFor;
  return r && r.userId === reader.userId && r.deviceId === reader.deviceId ? r : undefined;
}

/** One event in client format, without looking anything up. */
export function clientEvent(
  e: StoredEvent,
  v: RoomVersion,
  options: SerializeOptions,
  transactionId: string | undefined,
): ClientEvent {
  const pdu = e.pdu;
  const stored = (pdu.unsigned ?? {}) as Record<string, unknown>;
  const unsigned: Record<string, unknown> = { age: Math.max(0, options.now - e.originServerTs) };
  if (e.stateKey !== null && stored.replaces_state !== undefined) {
    unsigned.replaces_state = stored.replaces_state;
    unsigned.prev_content = stored.prev_content;
    unsigned.prev_sender = stored.prev_sender;
  }
  if (transactionId !== undefined) unsigned.transaction_id = transactionId;
  const out: ClientEvent = {
    content: (pdu.content ?? {}) as Record<string, unknown>,
    event_id: e.eventId,
    origin_server_ts: e.originServerTs,
    sender: e.sender,
    type: e.type,
    unsigned,
  };
  if (!options.omitRoomId) out.room_id = e.roomId;
  if (e.stateKey !== null) out.state_key = e.stateKey;
  if (e.type === "m.room.redaction") {
    // In every version Synapse puts `redacts` in both places, so clients of either era find it.
    const redacts = v.v11Redactions ? out.content.redacts : pdu.redacts;
    if (typeof redacts === "string") {
      out.redacts = redacts;
      if (!v.v11Redactions) out.content = { ...out.content, redacts };
    }
  }
  return out;
}

export function strippedState(e: StoredEvent): StrippedStateEvent {
  return {
    content: (e.pdu.content ?? {}) as Record<string, unknown>,
    sender: e.sender,
    state_key: e.stateKey ?? "",
    type: e.type,
  };
}

export async function serializeEvent(
  tables: Tables,
  event: StoredEvent,
  reader: Reader,
  options: SerializeOptions,
): Promise<ClientEvent> {
  const [client] = await serializeEvents(tables, [event], reader, options);
  if (!client) throw new Error("serializeEvents returned nothing for one event");
  return client;
}
