/**
 * @module Reading a room: one event, its state (all, or one entry), its members, and the rooms a user is in.
 *
 * What a user may read follows their membership: a member reads the room as it is now; someone who left or was
 * banned reads it as it was when they left; anyone reads a `world_readable` room; everyone else gets 403, as in
 * Synapse; a user who forgot the room reads it as one never in it. Single events also pass the history visibility
 * rule (src/rooms/visibility.ts).
 */
import type { Requester } from "../accounts/auth.js";
import type { StoredEvent } from "../db/events.js";
import type { Membership } from "../db/room-memberships.js";
import type { StateEntry } from "../db/room-state.js";
import type { Tables } from "../db/stores.js";
import { ErrCode, MatrixError } from "../errors.js";
import { isValidEventId } from "../matrix/ids.js";
import { parseStreamToken } from "../sync/stream.js";
import { serializeEvent, serializeEvents, type ClientEvent } from "./client-events.js";
import type { RoomsContext } from "./context.js";
import { contentOf } from "./event-content.js";
import { resolveRoom } from "./membership.js";
import { visibilityFor } from "./visibility.js";

/** The position up to which `userId` may read the room's state: null for "now". */
export async function readablePosition(tables: Tables, roomId: string, userId: string): Promise<number | null> {
  const m = await tables.roomMemberships.get(roomId, userId);
  if (m?.membership === "join") return null;
  // A forgotten room is read as by someone never in it (Synapse: `did_forget` in check_user_in_room).
  if (m && !m.forgotten && (m.membership === "leave" || m.membership === "ban")) return m.streamOrdering;
  const [vis] = await tables.currentState.get(roomId, [["m.room.history_visibility", ""]]);
  if (vis) {
    const e = await tables.events.get(vis.eventId);
    if (e?.pdu.content && (e.pdu.content as Record<string, unknown>).history_visibility === "world_readable") {
      return null;
    }
  }
  throw new MatrixError(ErrCode.Forbidden, `User ${userId} not in room ${roomId}, and room previews are disabled`);
}

/**
 * Synapse's `check_user_in_room_or_world_readable` without departed users: a joined member, or anyone when the
 * room's history is `world_readable`; anyone else 403 with Synapse's words.
 */
export async function assertJoinedOrWorldReadable(tables: Tables, roomId: string, userId: string): Promise<void> {
  const m = await tables.roomMemberships.get(roomId, userId);
  if (m?.membership === "join") return;
  const [vis] = await tables.currentState.get(roomId, [["m.room.history_visibility", ""]]);
  const e = vis ? await tables.events.get(vis.eventId) : null;
  if ((e?.pdu.content as Record<string, unknown> | undefined)?.history_visibility === "world_readable") return;
  throw new MatrixError(ErrCode.Forbidden, `User ${userId} not in room ${roomId}, and room previews are disabled`);
}

async function stateEntries(tables: Tables, roomId: string, at: number | null): Promise<StateEntry[]> {
  return at === null ? tables.currentState.all(roomId) : tables.roomState.at(roomId, at);
}

async function loadInOrder(tables: Tables, entries: StateEntry[]): Promise<StoredEvent[]> {
  return tables.events.getMany(entries.map((e) => e.eventId));
}

/** `GET /rooms/{roomId}/state`: every state event the user may see. */
export async function getRoomState(
  ctx: RoomsContext,
  requester: Requester,
  roomIdOrAlias: string,
): Promise<ClientEvent[]> {
  const roomId = await resolveRoom(ctx, roomIdOrAlias);
  const at = await readablePosition(ctx.stores, roomId, requester.userId);
  const events = await loadInOrder(ctx.stores, await stateEntries(ctx.stores, roomId, at));
  return serializeEvents(ctx.stores, events, requester, { now: ctx.now() });
}

/** `GET /rooms/{roomId}/state/{type}/{stateKey}`: the content, or with `format=event` the whole event. */
export async function getStateEvent(
  ctx: RoomsContext,
  requester: Requester,
  roomIdOrAlias: string,
  type: string,
  stateKey: string,
  format: "content" | "event",
): Promise<Record<string, unknown>> {
  const roomId = await resolveRoom(ctx, roomIdOrAlias);
  const at = await readablePosition(ctx.stores, roomId, requester.userId);
  const [entry] =
    at === null
      ? await ctx.stores.currentState.get(roomId, [[type, stateKey]])
      : await ctx.stores.roomState.keysAt(roomId, [[type, stateKey]], at);
  const event = entry ? await ctx.stores.events.get(entry.eventId) : null;
  if (!event) throw new MatrixError(ErrCode.NotFound, "Event not found.");
  const client = await serializeEvent(ctx.stores, event, requester, { now: ctx.now() });
  return format === "event" ? { ...client } : client.content;
}

/** `GET /rooms/{roomId}/event/{eventId}`: 404 for an event the user may not see, as for one that does not exist. */
export async function getEvent(
  ctx: RoomsContext,
  requester: Requester,
  roomIdOrAlias: string,
  eventId: string,
): Promise<ClientEvent> {
  const roomId = await resolveRoom(ctx, roomIdOrAlias);
  if (!isValidEventId(eventId)) throw new MatrixError(ErrCode.NotFound, "Event not found.");
  const event = await ctx.stores.events.get(eventId);
  if (!event || event.roomId !== roomId) throw new MatrixError(ErrCode.NotFound, "Event not found.");
  const check = await visibilityFor(ctx.stores, roomId, requester.userId);
  if (!check.visible(event)) throw new MatrixError(ErrCode.NotFound, "Event not found.");
  return serializeEvent(ctx.stores, event, requester, { now: ctx.now() });
}

/** The values `membership` and `not_membership` accept (Synapse's `Membership.LIST`). */
const MEMBERSHIPS: readonly string[] = ["invite", "join", "knock", "leave", "ban"];

export interface MembersQuery {
  at?: string;
  membership?: string;
  notMembership?: string;
}

/**
 * `GET /rooms/{roomId}/members`: the member events at `at` (a sync token: the state at that position), or now,
 * filtered by `membership` / `not_membership`.
 */
export async function getMembers(
  ctx: RoomsContext,
  requester: Requester,
  roomIdOrAlias: string,
  query: MembersQuery,
): Promise<{ chunk: ClientEvent[] }> {
  for (const [name, value] of [
    ["membership", query.membership],
    ["not_membership", query.notMembership],
  ] as const) {
    if (value !== undefined && !MEMBERSHIPS.includes(value)) {
      throw new MatrixError(
        ErrCode.InvalidParam,
        `Query parameter "${name}" must be one of [${MEMBERSHIPS.join(", ")}]`,
      );
    }
  }
  const roomId = await resolveRoom(ctx, roomIdOrAlias);
  let at = await readablePosition(ctx.stores, roomId, requester.userId);
  if (query.at !== undefined) {
    const position = parseStreamToken(query.at);
    if (position === null) throw new MatrixError(ErrCode.InvalidParam, "Invalid stream token");
    at = at === null ? position : Math.min(at, position);
    await checkStateVisibleAt(ctx.stores, roomId, requester.userId, at, query.at);
  }
  const entries = (await stateEntries(ctx.stores, roomId, at)).filter((e) => e.type === "m.room.member");
  let events = await loadInOrder(ctx.stores, entries);
  const membershipOf = (e: StoredEvent) => String((e.pdu.content as Record<string, unknown>).membership);
  if (query.membership !== undefined) events = events.filter((e) => membershipOf(e) === query.membership);
  if (query.notMembership !== undefined) events = events.filter((e) => membershipOf(e) !== query.notMembership);
  return { chunk: await serializeEvents(ctx.stores, events, requester, { now: ctx.now() }) };
}

/**
 * The state at a past position is the user's to read only if they were joined then or may see the room's last
 * event up to it (Synapse's `_user_can_see_state_at_event`): in a `joined` room, not the members from before
 * they joined.
 */
async function checkStateVisibleAt(
  tables: Tables,
  roomId: string,
  userId: string,
  position: number,
  token: string,
): Promise<void> {
  const [last] = await tables.events.window(roomId, { upTo: position, dir: "b", limit: 1 });
  if (!last) throw new MatrixError(ErrCode.NotFound, `Can't find event for token ${token}`);
  const check = await visibilityFor(tables, roomId, userId);
  if (check.membershipAt(last.streamOrdering) !== "join" && !check.visible(last)) {
    throw new MatrixError(
      ErrCode.Forbidden,
      `User ${userId} not allowed to view events in room ${roomId} at token ${token}`,
    );
  }
}

/** `GET /rooms/{roomId}/joined_members`: only for members (Synapse: 403 otherwise). */
export async function getJoinedMembers(
  ctx: RoomsContext,
  requester: Requester,
  roomIdOrAlias: string,
): Promise<{ joined: Record<string, { display_name?: string; avatar_url?: string }> }> {
  const roomId = await resolveRoom(ctx, roomIdOrAlias);
  const mine = await ctx.stores.roomMemberships.get(roomId, requester.userId);
  if (mine?.membership !== "join" && !requester.admin) {
    throw new MatrixError(ErrCode.Forbidden, `User ${requester.userId} not in room ${roomId}`);
  }
  const joined = await ctx.stores.roomMemberships.members(roomId, ["join"]);
  const events = await ctx.stores.events.getMany(joined.map((m) => m.eventId));
  const out: Record<string, { display_name?: string; avatar_url?: string }> = {};
  for (const e of events) {
    const c = (e.pdu.content ?? {}) as Record<string, unknown>;
    const entry: { display_name?: string; avatar_url?: string } = {};
    if (typeof c.displayname === "string") entry.display_name = c.displayname;
    if (typeof c.avatar_url === "string") entry.avatar_url = c.avatar_url;
    out[e.stateKey ?? ""] = entry;
  }
  return { joined: out };
}

export async function joinedRooms(ctx: RoomsContext, userId: string): Promise<{ joined_rooms: string[] }> {
  const rows = await ctx.stores.roomMemberships.roomsOfUser(userId, ["join"] satisfies Membership[]);
  return { joined_rooms: rows.map((r) => r.roomId) };
}

/** The content of the room's current state event at (`type`, `stateKey`); null when unset. */
export async function currentStateContent(
  ctx: RoomsContext,
  roomId: string,
  type: string,
  stateKey: string,
): Promise<Record<string, unknown> | null> {
  const [entry] = await ctx.stores.currentState.get(roomId, [[type, stateKey]]);
  const event = entry ? await ctx.stores.events.get(entry.eventId) : null;
  return event ? contentOf(event) : null;
}
