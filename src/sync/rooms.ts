/**
 * @module The `rooms` section of `/sync` (spec "Syncing"): joined rooms with their timeline, state and summary;
 * invites with stripped state; rooms the user left, once.
 *
 * Everything is read up to the sync's position (`next_batch`), never past it, so a write that commits while a sync
 * is being built is sent by the next one, not half by each. An incremental sync looks only at what happened after
 * `since`: the rooms with new events in which the user is joined (found from the new positions, not by walking the
 * user's rooms) and the user's own membership changes. An initial sync walks all of the user's rooms.
 */
import type { StoredEvent } from "../db/events.js";
import type { Membership } from "../db/room-memberships.js";
import type { StateEntry } from "../db/room-state.js";
import type { Tables } from "../db/stores.js";
import {
  serializeEvents,
  strippedState,
  type ClientEvent,
  type Reader,
  type StrippedStateEvent,
} from "../rooms/client-events.js";
import { pageOfTimeline } from "../rooms/paginate.js";
import { visibilityFor, type VisibilityCheck } from "../rooms/visibility.js";
import {
  eventFilterAllows,
  lazyLoadMembers,
  roomFilter,
  roomSection,
  syncIncludesRoom,
  threadCountsWanted,
  timelineLimit,
  type FilterJson,
} from "./filters.js";
import { formatStreamToken } from "./stream.js";
import { contentOf, membershipIn } from "../rooms/event-content.js";
import { unreadCountsOf } from "../push/counts.js";
import { RoomEphemeral, type EphemeralEvent } from "./ephemeral.js";

/** https://spec.matrix.org/v1.16/client-server-api/#get_matrixclientv3sync (`Joined Room`) */
export interface JoinedRoom {
  timeline: { events: ClientEvent[]; limited: boolean; prev_batch: string };
  state: { events: ClientEvent[] };
  ephemeral: { events: EphemeralEvent[] };
  account_data: { events: AccountDataEvent[] };
  summary: { "m.heroes"?: string[]; "m.joined_member_count"?: number; "m.invited_member_count"?: number };
  unread_notifications: { notification_count: number; highlight_count: number };
  unread_thread_notifications?: Record<string, { notification_count: number; highlight_count: number }>;
}

export interface InvitedRoom {
  invite_state: { events: StrippedStateEvent[] };
}

export interface LeftRoom {
  timeline: { events: ClientEvent[]; limited: boolean; prev_batch: string };
  state: { events: ClientEvent[] };
  account_data: { events: AccountDataEvent[] };
}

export interface AccountDataEvent {
  type: string;
  content: Record<string, unknown>;
}

export interface RoomsSection {
  join: Record<string, JoinedRoom>;
  invite: Record<string, InvitedRoom>;
  leave: Record<string, LeftRoom>;
  knock: Record<string, never>;
}

export interface RoomsSyncParams {
  reader: Reader;
  filter: FilterJson;
  since: number | null;
  position: number;
  fullState: boolean;
  now: number;
}

/** The state a user sees in an invite (Synapse's default `room_prejoin_state`), plus the invite itself. */
const INVITE_STATE_TYPES = [
  "m.room.create",
  "m.room.join_rules",
  "m.room.name",
  "m.room.avatar",
  "m.room.canonical_alias",
  "m.room.encryption",
  "m.room.topic",
];

const HEROES = 5;

/** How a `state` block is serialized: as the timeline, but without bundled aggregations (as Synapse). */
const STATE_BLOCK = (now: number) => ({ now, omitRoomId: true, bundleAggregations: false });

/** Rooms whose sections are built concurrently (a fraction of the PostgreSQL pool, `cp_max`, 10 by default). */
const ROOMS_AT_ONCE = 4;

interface RoomMembership {
  roomId: string;
  membership: Membership;
  eventId: string;
  position: number;
  /** The membership changed after `since` (always true on an initial sync). */
  changed: boolean;
  forgotten: boolean;
}

export function isEmpty(section: RoomsSection): boolean {
  return (
    Object.keys(section.join).length === 0 &&
    Object.keys(section.invite).length === 0 &&
    Object.keys(section.leave).length === 0
  );
}

export async function syncRooms(tables: Tables, p: RoomsSyncParams): Promise<RoomsSection> {
  const section: RoomsSection = { join: {}, invite: {}, leave: {}, knock: {} };
  const accountData = await roomAccountData(tables, p);
  const ephemeral = await RoomEphemeral.load(tables, p);
  const rooms = await roomsToReport(tables, p, [...accountData.keys(), ...ephemeral.changedRooms()]);
  if (p.since === null || p.fullState) {
    await ephemeral.prefetch(
      tables,
      rooms.filter((r) => r.membership === "join").map((r) => r.roomId),
    );
  }
  const includeLeave = roomFilter(p.filter).include_leave === true;
  const build = async (room: RoomMembership): Promise<(() => void) | null> => {
    if (!syncIncludesRoom(p.filter, room.roomId)) return null;
    if (room.membership === "join") {
      const joined = await joinedRoom(tables, p, room, accountData, ephemeral);
      return () => void (section.join[room.roomId] = joined);
    } else if (room.membership === "invite") {
      if (!room.changed && !p.fullState) return null;
      const invited = await invitedRoom(tables, room);
      return () => void (section.invite[room.roomId] = invited);
    } else if (room.membership === "leave" || room.membership === "ban") {
      if (room.forgotten) return null;
      if ((p.since !== null && room.changed) || (includeLeave && (p.since === null || p.fullState))) {
        const left = await leftRoom(tables, p, room, accountData);
        return () => void (section.leave[room.roomId] = left);
      }
    }
    return null;
  };
  // A few rooms at a time: on PostgreSQL their statements overlap on the pool's connections instead of waiting for
  // each other's round trips; the rooms are added in their order whatever order they finish in.
  for (let i = 0; i < rooms.length; i += ROOMS_AT_ONCE) {
    const added = await Promise.all(rooms.slice(i, i + ROOMS_AT_ONCE).map(build));
    for (const add of added) add?.();
  }
  return section;
}

/**
 * The user's room account data to send, by room: all of it on an initial or full-state sync, else what was written
 * after `since`; never what was written after the sync's position.
 */
async function roomAccountData(tables: Tables, p: RoomsSyncParams): Promise<Map<string, AccountDataEvent[]>> {
  const userId = p.reader.userId;
  const entries =
    p.since === null || p.fullState
      ? (await tables.roomAccountData.listForUser(userId)).filter((e) => e.streamId <= p.position)
      : await tables.roomAccountData.changedBetween(userId, p.since, p.position);
  const section = roomSection(p.filter, "account_data");
  const byRoom = new Map<string, AccountDataEvent[]>();
  for (const e of entries) {
    if (!eventFilterAllows(section, { type: e.type, roomId: e.roomId })) continue;
    const list = byRoom.get(e.roomId) ?? [];
    list.push({ type: e.type, content: e.content });
    byRoom.set(e.roomId, list);
  }
  return byRoom;
}

/**
 * The user's rooms to look at, with their membership as of `p.position`: on an incremental sync, those with new
 * events, a membership change of the user's, or new account data (`extra`).
 */
async function roomsToReport(tables: Tables, p: RoomsSyncParams, extra: string[]): Promise<RoomMembership[]> {
  const userId = p.reader.userId;
  const byRoom = new Map<string, RoomMembership>();
  if (p.since === null || p.fullState) {
    for (const m of await tables.roomMemberships.roomsOfUser(userId, ["join", "invite", "leave", "ban"])) {
      byRoom.set(m.roomId, {
        roomId: m.roomId,
        membership: m.membership,
        eventId: m.eventId,
        position: m.streamOrdering,
        changed: p.since === null || m.streamOrdering > p.since,
        forgotten: m.forgotten,
      });
    }
  } else {
    const withEvents = await tables.events.joinedRoomsWithEventsBetween(userId, p.since, p.position);
    for (const roomId of new Set([...withEvents, ...extra])) {
      const m = await tables.roomMemberships.get(roomId, userId);
      if (m) {
        byRoom.set(roomId, {
          roomId,
          membership: m.membership,
          eventId: m.eventId,
          position: m.streamOrdering,
          changed: false,
          forgotten: m.forgotten,
        });
      }
    }
    const changes = await tables.roomState.membershipsOfUserBetween(userId, p.since, p.position);
    const changedEvents = new Map(
      (await tables.events.getMany(changes.map((c) => c.eventId))).map((e) => [e.eventId, e]),
    );
    for (const c of changes) {
      const e = changedEvents.get(c.eventId);
      const membership = membershipIn(e ? contentOf(e) : undefined);
      const forgotten = (await tables.roomMemberships.get(c.roomId, userId))?.forgotten ?? false;
      byRoom.set(c.roomId, {
        roomId: c.roomId,
        membership: membership as Membership,
        eventId: c.eventId,
        position: c.streamOrdering,
        changed: true,
        forgotten,
      });
    }
  }
  // A membership written after the sync's position is read as it was at that position.
  for (const [roomId, room] of byRoom) {
    if (room.position <= p.position) continue;
    const [entry] = await tables.roomState.keysAt(roomId, [["m.room.member", userId]], p.position);
    const event = entry ? await tables.events.get(entry.eventId) : null;
    if (!entry || !event) {
      byRoom.delete(roomId);
      continue;
    }
    room.membership = membershipIn(contentOf(event)) as Membership;
    room.eventId = entry.eventId;
    room.position = entry.streamOrdering;
    room.changed = p.since === null || entry.streamOrdering > p.since;
  }
  return [...byRoom.values()];
}

interface Timeline {
  events: StoredEvent[];
  limited: boolean;
}

/**
 * The newest events of the room in (`after`, `upTo`] that the user may see and the timeline filter lets through,
 * at most `limit`, oldest first; `limited` when there were more.
 */
async function readTimeline(
  tables: Tables,
  roomId: string,
  after: number | undefined,
  upTo: number,
  limit: number,
  check: VisibilityCheck,
  filterSection: Record<string, unknown> | undefined,
): Promise<Timeline> {
  const page = await pageOfTimeline(tables, roomId, check, filterSection, { from: upTo, to: after, dir: "b", limit });
  return { events: page.items.reverse(), limited: page.more };
}

/** The room's account data for this sync: what `byRoom` holds, or all of it for a room the user just joined. */
async function accountDataOf(
  tables: Tables,
  p: RoomsSyncParams,
  roomId: string,
  fresh: boolean,
  byRoom: Map<string, AccountDataEvent[]>,
): Promise<AccountDataEvent[]> {
  if (!fresh || p.since === null || p.fullState) return byRoom.get(roomId) ?? [];
  const section = roomSection(p.filter, "account_data");
  return (await tables.roomAccountData.forRooms(p.reader.userId, [roomId]))
    .filter((e) => e.streamId <= p.position && eventFilterAllows(section, { type: e.type, roomId }))
    .map((e) => ({ type: e.type, content: e.content }));
}

async function joinedRoom(
  tables: Tables,
  p: RoomsSyncParams,
  room: RoomMembership,
  accountData: Map<string, AccountDataEvent[]>,
  ephemeral: RoomEphemeral,
): Promise<JoinedRoom> {
  const check = await visibilityFor(tables, room.roomId, p.reader.userId);
  // Newly joined (or an initial sync): the whole state, and the recent timeline whatever `since` was.
  const fresh = p.since === null || p.fullState || room.changed;
  const after = fresh ? undefined : (p.since ?? undefined);
  const timeline = await readTimeline(
    tables,
    room.roomId,
    after,
    p.position,
    timelineLimit(p.filter),
    check,
    roomSection(p.filter, "timeline"),
  );
  const start = timeline.events[0]?.streamOrdering ?? p.position + 1;
  const state = await stateBeforeTimeline(tables, p, room.roomId, timeline, fresh);
  return {
    timeline: {
      events: await serializeEvents(tables, timeline.events, p.reader, { now: p.now, omitRoomId: true }),
      limited: timeline.limited,
      prev_batch: formatStreamToken(start - 1),
    },
    state: { events: await serializeEvents(tables, state, p.reader, STATE_BLOCK(p.now)) },
    ephemeral: { events: await ephemeral.eventsFor(tables, room.roomId, fresh) },
    account_data: { events: await accountDataOf(tables, p, room.roomId, fresh, accountData) },
    summary: await summary(tables, room.roomId, p.reader.userId),
    ...(await unreadCountsOf(tables, room.roomId, p.reader.userId, p.position, threadCountsWanted(p.filter))),
  };
}

/**
 * The `state` block: the state at the start of the timeline, less what the timeline itself carries. In full on
 * a fresh sync; otherwise only what changed between `since` and the timeline's start (nothing, unless `limited`).
 * With `lazy_load_members`, member events only of the timeline's senders and the user.
 */
async function stateBeforeTimeline(
  tables: Tables,
  p: RoomsSyncParams,
  roomId: string,
  timeline: Timeline,
  fresh: boolean,
): Promise<StoredEvent[]> {
  const startBefore = (timeline.events[0]?.streamOrdering ?? p.position + 1) - 1;
  let entries: StateEntry[];
  if (fresh) {
    entries = await tables.roomState.at(roomId, startBefore);
  } else if (timeline.limited && p.since !== null) {
    const changed = await tables.roomState.between(roomId, p.since, startBefore);
    const latest = new Map<string, StateEntry>();
    for (const e of changed) latest.set(`${e.type}\u0000${e.stateKey}`, e);
    entries = [...latest.values()];
  } else {
    entries = [];
  }
  const stateFilter = roomSection(p.filter, "state");
  if (lazyLoadMembers(stateFilter)) {
    const wanted = new Set([p.reader.userId, ...timeline.events.map((e) => e.sender)]);
    entries = entries.filter((e) => e.type !== "m.room.member" || wanted.has(e.stateKey));
    if (!fresh) {
      // An incremental sync still owes the client the members of senders it may never have seen.
      const have = new Set(entries.filter((e) => e.type === "m.room.member").map((e) => e.stateKey));
      const missing = [...wanted].filter((u) => !have.has(u)).map((u) => ["m.room.member", u] as const);
      entries.push(...(await tables.roomState.keysAt(roomId, missing, startBefore)));
    }
  }
  const inTimeline = new Set(timeline.events.map((e) => e.eventId));
  const events = await tables.events.getMany(entries.map((e) => e.eventId).filter((id) => !inTimeline.has(id)));
  return events.filter((e) =>
    eventFilterAllows(stateFilter, { type: e.type, sender: e.sender, content: contentOf(e) }),
  );
}

async function summary(tables: Tables, roomId: string, userId: string): Promise<JoinedRoom["summary"]> {
  const members = await tables.roomMemberships.members(roomId, ["join", "invite"]);
  const heroes = members
    .filter((m) => m.userId !== userId)
    .slice(0, HEROES)
    .map((m) => m.userId);
  return {
    "m.heroes": heroes,
    "m.joined_member_count": members.filter((m) => m.membership === "join").length,
    "m.invited_member_count": members.filter((m) => m.membership === "invite").length,
  };
}

async function invitedRoom(tables: Tables, room: RoomMembership): Promise<InvitedRoom> {
  const invites = await tables.events.getMany([room.eventId]);
  // The inviter's own member event too, as Synapse sends it: without it matrix-js-sdk (Element, Cinny) has no
  // other member to name an unnamed room after, and shows a DM invite as "Empty room".
  const keys = [
    ...INVITE_STATE_TYPES.map((t) => [t, ""] as const),
    ...invites.map((e) => ["m.room.member", e.sender] as const),
  ];
  const entries = await tables.roomState.keysAt(room.roomId, keys, room.position);
  const events = await tables.events.getMany(entries.map((e) => e.eventId));
  return { invite_state: { events: [...events, ...invites].map(strippedState) } };
}

async function leftRoom(
  tables: Tables,
  p: RoomsSyncParams,
  room: RoomMembership,
  accountData: Map<string, AccountDataEvent[]>,
): Promise<LeftRoom> {
  const check = await visibilityFor(tables, room.roomId, p.reader.userId);
  const timeline = await readTimeline(
    tables,
    room.roomId,
    p.since === null || p.fullState ? undefined : p.since,
    room.position,
    timelineLimit(p.filter),
    check,
    roomSection(p.filter, "timeline"),
  );
  const start = timeline.events[0]?.streamOrdering ?? room.position + 1;
  const state = await stateBeforeTimeline(tables, { ...p, position: room.position }, room.roomId, timeline, true);
  return {
    timeline: {
      events: await serializeEvents(tables, timeline.events, p.reader, { now: p.now, omitRoomId: true }),
      limited: timeline.limited,
      prev_batch: formatStreamToken(start - 1),
    },
    state: { events: await serializeEvents(tables, state, p.reader, STATE_BLOCK(p.now)) },
    account_data: { events: accountData.get(room.roomId) ?? [] },
  };
}
