/**
 * @module The one way an event enters a room: every room write (createRoom, membership, messages, state,
 * redactions) builds its event here, inside a stream transaction.
 *
 * In one transaction the event takes the next stream position (which holds the stream, so events of a room are
 * appended one at a time and the DAG never forks), is checked against the room's current state by the room
 * version's authorization rules, gets `prev_events`, `auth_events` and `depth`, its content hash, this server's
 * signature and its reference-hash event ID, and is stored with the state and membership it changes (and its text in
 * the search index, src/rooms/search-index.ts; a redaction takes its target's out). A refused event
 * throws, which rolls back the transaction: it leaves no row, no position and no wake-up behind. The users whose
 * `/sync` shows the event (the room's joined and invited members, and the member event's subject) are woken after
 * the commit.
 */
import type { TxnEndpoint } from "../db/event-txns.js";
import type { StoredEvent } from "../db/events.js";
import type { Membership } from "../db/room-memberships.js";
import type { Tables } from "../db/stores.js";
import { ErrCode, MatrixError } from "../errors.js";
import { AuthError, authEventKeys, checkEventAuth, PowerLevels, type AuthEvent } from "../matrix/auth-rules.js";
import { CanonicalJsonError, canonicalJson } from "../matrix/canonical-json.js";
import { eventIdFor, hashAndSign } from "../matrix/hashes.js";
import { roomVersion, type RoomVersion } from "../matrix/room-versions.js";
import { recordPushActions } from "../push/actions.js";
import { inStreamTransaction, type StreamWriter } from "../sync/stream.js";
import { checkCanonicalAlias } from "./canonical-alias.js";
import type { RoomsContext } from "./context.js";
import { authEventOf } from "./event-content.js";
import { searchEntryOf } from "./search-index.js";

/** Synapse's limit on a PDU's canonical JSON, from the spec ("Size limits"). */
export const MAX_EVENT_SIZE = 65_536;

/** The spec's limit on an event's `type` and `state_key`, in bytes of UTF-8 ("Size limits"). */
export const MAX_KEY_BYTES = 255;

/** An event as its sender asks for it; the rest of the PDU is filled in here. */
export interface EventDraft {
  roomId: string;
  type: string;
  stateKey?: string;
  sender: string;
  content: Record<string, unknown>;
  /** A redaction's target. */
  redacts?: string;
}

/** A send's transaction ID, the device that used it and the endpoint, so a retry returns the same event. */
export interface TxnScope {
  deviceId: string;
  /** Absent: `send`. */
  endpoint?: TxnEndpoint;
  txnId: string;
}

/** Adds one event to a room within the current transaction; returns it as stored. */
export type Append = (draft: EventDraft, txn?: TxnScope) => Promise<StoredEvent>;

/** Thrown inside the transaction when the transaction ID was used already, so nothing of this attempt is kept. */
class DuplicateTransaction extends Error {
  constructor(readonly eventId: string) {
    super("duplicate transaction");
  }
}

const VALID_MEMBERSHIPS = new Set(["join", "invite", "leave", "ban", "knock"]);

/**
 * Runs `fn` with an `append` that adds events to rooms, all in one transaction: all of them land, or none. `writer`
 * stamps other rows that land with them (room account data, say) and wakes their users.
 */
export async function inRoomTransaction<T>(
  ctx: RoomsContext,
  fn: (append: Append, tables: Tables, writer: StreamWriter) => Promise<T>,
): Promise<T> {
  return inStreamTransaction(ctx.stores, (tables, writer) =>
    fn((draft, txn) => appendEvent(ctx, tables, writer, draft, txn), tables, writer),
  );
}

/**
 * Adds one event in its own transaction. With `txn`, a transaction ID the device used before returns that
 * event's ID instead of making another. `rateLimited`: a client's message, state or redaction, which counts in the
 * sender's `rc_message` bucket.
 */
export async function sendEvent(
  ctx: RoomsContext,
  draft: EventDraft,
  txn?: TxnScope,
  options: { rateLimited?: boolean } = {},
): Promise<string> {
  if (txn) {
    const seen = await ctx.stores.eventTxns.get(draft.sender, txn.deviceId, txn.endpoint ?? "send", txn.txnId);
    if (seen !== null) return seen;
  }
  // After the transaction lookup: a retry of a send that went through is answered, not limited (as in Synapse).
  if (options.rateLimited) await ctx.limiter.checkUser("rc_message", draft.sender, ctx.rateLimits.message);
  try {
    const event = await inRoomTransaction(ctx, (append) => append(draft, txn));
    return event.eventId;
  } catch (err) {
    if (err instanceof DuplicateTransaction) return err.eventId;
    throw err;
  }
}

/** The room's version, or 404 when the room is unknown. */
export async function versionOfRoom(tables: Tables, roomId: string): Promise<RoomVersion> {
  return knownRoomVersion((await tables.rooms.get(roomId))?.roomVersion);
}

/** A stored room's version: a room we do not have, or whose version we cannot run, is not found. */
function knownRoomVersion(name: string | undefined): RoomVersion {
  const v = name === undefined ? null : roomVersion(name);
  if (!v) throw new MatrixError(ErrCode.NotFound, "Unknown room");
  return v;
}

async function appendEvent(
  ctx: RoomsContext,
  tables: Tables,
  writer: StreamWriter,
  draft: EventDraft,
  txn: TxnScope | undefined,
): Promise<StoredEvent> {
  const position = await writer.next();
  if (txn) {
    // Checked again now that the stream is held: two concurrent retries cannot both pass.
    const seen = await tables.eventTxns.get(draft.sender, txn.deviceId, txn.endpoint ?? "send", txn.txnId);
    if (seen !== null) throw new DuplicateTransaction(seen);
  }
  const isCreate = draft.type === "m.room.create" && draft.stateKey === "";
  let v: RoomVersion | null;
  let prev: { eventId: string; depth: number } | null;
  if (isCreate) {
    v = roomVersion(typeof draft.content.room_version === "string" ? draft.content.room_version : "1");
    if (!v) throw new MatrixError(ErrCode.UnsupportedRoomVersion, "Unsupported room version");
    prev = await tables.events.latest(draft.roomId);
  } else {
    // The version and the newest event in one read (one round trip on PostgreSQL).
    const tip = await tables.events.roomTip(draft.roomId);
    v = knownRoomVersion(tip?.roomVersion);
    prev = tip!.latest;
  }
  // Before the authorization rules, as Synapse's `_check_size_limits`: an oversized event is refused whoever sends it.
  if (Buffer.byteLength(draft.type) > MAX_KEY_BYTES) throw new MatrixError(ErrCode.TooLarge, "'type' too large");
  if (draft.stateKey !== undefined && Buffer.byteLength(draft.stateKey) > MAX_KEY_BYTES) {
    throw new MatrixError(ErrCode.TooLarge, "'state_key' too large");
  }

  const authEvent: AuthEvent = {
    prev_events: prev ? [prev.eventId] : [],
    room_id: draft.roomId,
    type: draft.type,
    sender: draft.sender,
    content: draft.content,
    ...(draft.stateKey !== undefined ? { state_key: draft.stateKey } : {}),
  };
  const state = await loadAuthState(tables, draft, authEvent);
  try {
    checkEventAuth(authEvent, (t, k) => state.get(stateId(t, k))?.auth, v);
  } catch (err) {
    if (err instanceof AuthError) throw new MatrixError(ErrCode.Forbidden, err.message);
    throw err;
  }
  if (draft.type === "m.room.member" && !VALID_MEMBERSHIPS.has(String(draft.content.membership))) {
    throw new MatrixError(ErrCode.BadJson, "Invalid membership");
  }
  if (draft.type === "m.room.canonical_alias" && draft.stateKey !== undefined) {
    const previous = state.get(stateId(draft.type, draft.stateKey))?.auth.content;
    await checkCanonicalAlias(tables, ctx.serverName, draft.roomId, draft.content, previous);
  }
  let target: StoredEvent | null = null;
  if (draft.type === "m.room.redaction" && draft.redacts !== undefined) {
    target = await checkRedaction(tables, draft, state, v);
  }

  const now = ctx.now();
  const pdu: Record<string, unknown> = {
    auth_events: authEventKeys(authEvent)
      .map(([t, k]) => state.get(stateId(t, k))?.eventId)
      .filter((id): id is string => id !== undefined),
    content: draft.content,
    depth: prev ? prev.depth + 1 : 1,
    origin_server_ts: now,
    prev_events: prev ? [prev.eventId] : [],
    room_id: draft.roomId,
    sender: draft.sender,
    type: draft.type,
  };
  if (draft.stateKey !== undefined) pdu.state_key = draft.stateKey;
  if (!v.v11Redactions) pdu.origin = ctx.serverName;
  if (draft.redacts !== undefined && !v.v11Redactions) pdu.redacts = draft.redacts;
  let signed: Record<string, unknown>;
  try {
    signed = hashAndSign(pdu, v, ctx.serverName, ctx.signingKey);
    if (Buffer.byteLength(canonicalJson(signed)) > MAX_EVENT_SIZE) {
      throw new MatrixError(ErrCode.TooLarge, "event too large");
    }
  } catch (err) {
    if (err instanceof CanonicalJsonError) throw new MatrixError(ErrCode.BadJson, err.message);
    throw err;
  }
  const eventId = eventIdFor(signed, v);

  const replaced = draft.stateKey !== undefined ? state.get(stateId(draft.type, draft.stateKey)) : undefined;
  const unsigned: Record<string, unknown> = {};
  if (replaced) {
    unsigned.replaces_state = replaced.eventId;
    unsigned.prev_content = replaced.auth.content;
    unsigned.prev_sender = replaced.auth.sender;
  }
  const stored: StoredEvent = {
    streamOrdering: position,
    eventId,
    roomId: draft.roomId,
    type: draft.type,
    stateKey: draft.stateKey ?? null,
    sender: draft.sender,
    originServerTs: now,
    depth: pdu.depth as number,
    pdu: Object.keys(unsigned).length > 0 ? { ...signed, unsigned } : signed,
    redactedBy: null,
  };
  const relation = relationOf(draft.content);
  await tables.events.insert({ ...stored, relatesTo: relation?.eventId ?? null, relType: relation?.relType ?? null });
  if (txn) await tables.eventTxns.insert(draft.sender, txn.deviceId, txn.endpoint ?? "send", txn.txnId, eventId, now);
  const searchable = searchEntryOf(stored);
  if (searchable) await tables.eventSearch.insert(searchable);
  if (target) {
    await tables.events.setRedactedBy(target.eventId, eventId);
    // A redacted event is no longer found by `/search`.
    await tables.eventSearch.remove(target.streamOrdering);
  }
  if (draft.stateKey !== undefined) {
    const entry = { type: draft.type, stateKey: draft.stateKey, eventId, streamOrdering: position };
    await tables.roomState.insert(draft.roomId, entry);
    await tables.currentState.put(draft.roomId, entry);
    if (draft.type === "m.room.member") {
      const membership = draft.content.membership as Membership;
      await tables.roomMemberships.put(draft.roomId, draft.stateKey, membership, eventId, position);
      writer.wake(draft.stateKey);
    }
  }
  // One read of the members, after this event's own membership row: whom it may notify and whom it wakes.
  const members = await tables.roomMemberships.members(draft.roomId, ["join", "invite"]);
  await recordPushActions(tables, ctx.serverName, stored, (t, k) => state.get(stateId(t, k))?.auth, v, members);
  for (const m of members) writer.wake(m.userId);
  return stored;
}

interface LoadedState {
  eventId: string;
  auth: AuthEvent;
}

function stateId(type: string, stateKey: string): string {
  return `${type}\u0000${stateKey}`;
}

/** The current state events the authorization rules read for this event: a handful of keys, whatever the room's size. */
async function loadAuthState(
  tables: Tables,
  draft: EventDraft,
  authEvent: AuthEvent,
): Promise<Map<string, LoadedState>> {
  const keys: [string, string][] = [
    ...authEventKeys(authEvent),
    ["m.room.join_rules", ""],
    ["m.room.history_visibility", ""],
  ];
  if (draft.stateKey !== undefined) keys.push([draft.type, draft.stateKey]);
  const state = new Map<string, LoadedState>();
  for (const e of await tables.events.currentStateEvents(draft.roomId, keys)) {
    if (e.stateKey === null) continue;
    state.set(stateId(e.type, e.stateKey), { eventId: e.eventId, auth: authEventOf(e) });
  }
  return state;
}

/**
 * A redaction may be sent by someone with the room's `redact` level, or by the sender of the event it redacts
 * (spec "Handling redactions", which v3+ leaves to the receiving server: here the one server decides once, when the
 * redaction is sent, as Synapse does for its own users). Returns the target when it is in this room.
 */
async function checkRedaction(
  tables: Tables,
  draft: EventDraft,
  state: Map<string, LoadedState>,
  v: RoomVersion,
): Promise<StoredEvent | null> {
  const target = await tables.events.get(draft.redacts ?? "");
  if (target && target.roomId !== draft.roomId) {
    throw new MatrixError(ErrCode.BadJson, "Cannot redact an event from a different room");
  }
  const pl = PowerLevels.from((t, k) => state.get(stateId(t, k))?.auth, v);
  if (pl.user(draft.sender) >= pl.redact) return target;
  if (target && target.sender === draft.sender) return target;
  throw new MatrixError(ErrCode.Forbidden, "You don't have permission to redact events");
}

function relationOf(content: Record<string, unknown>): { eventId: string; relType: string | null } | null {
  const rel = content["m.relates_to"];
  if (typeof rel !== "object" || rel === null || Array.isArray(rel)) return null;
  const r = rel as Record<string, unknown>;
  if (typeof r.event_id !== "string") return null;
  return { eventId: r.event_id, relType: typeof r.rel_type === "string" ? r.rel_type : null };
}
