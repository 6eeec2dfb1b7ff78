/**
 * @module The stream's recent events, held in memory per server, so that the incremental syncs one event wakes
 * (every member of its room) share one read of it instead of each rebuilding its answer from the database.
 *
 * The cache holds every event of every room with a position in (`floor`, `upTo`], nothing more and nothing less.
 * It learns of new events only by reading the stream: a sync that has read the current position `P` asks the cache
 * to cover `P`, and the first to ask reads (`upTo`, `P`] once (`events.inRange`) while the others wait for that read.
 * Since a position is visible only once every lower one has committed (src/sync/stream.ts), that read misses
 * nothing, whichever process wrote the events; so the cache needs no message from the write path, and another
 * process writing on the same PostgreSQL database is seen like this one.
 *
 * Next to the events, answers the sync path asks for again and again, each dropped when a new event could change
 * it: a key's state history (visibility reads the user's membership and the room's `history_visibility`), a room's
 * joined and invited members, a room's record, and single events by ID. Events are immutable but for
 * `redacted_by`: a redaction read into the cache makes the cache read its target again, from the database, so the
 * rule of what a redaction redacts stays in the write path. Purging a room clears the cache (`clear`); a purge by another process is not heard of, but
 * it only deletes rooms no local user is joined to any more, which no sync reads.
 *
 * `cachedTables` puts the cache in front of the stores for one sync or `/messages` page: the sync code, the
 * paginator, the visibility rule and the serializer run unchanged on it and get the database's answers, without the
 * queries.
 */
import type { StoredEvent } from "../db/events.js";
import { MAIN_THREAD } from "../db/event-push-actions.js";
import type { MembershipRecord } from "../db/room-memberships.js";
import type { RoomRecord } from "../db/rooms.js";
import type { StateEntry } from "../db/room-state.js";
import type { Stores, Tables } from "../db/stores.js";
import { currentPosition } from "./stream.js";
import { UnreadMemo, type HeldAction, type HeldStream } from "./unread-memo.js";

/** Events held at most; one stretch of the stream longer than this empties the cache and starts it again. */
const MAX_EVENTS = 5_000;
/** Derived answers (histories, member lists, rooms, events by ID) held at most before they are all dropped. */
const MAX_DERIVED = 20_000;
/**
 * Push action rows held at most (one per notified member and event); the oldest events' go first. Woken syncs ask
 * for the last few positions: at 200 members and 50 messages/s this is five seconds.
 */
const MAX_ACTION_ROWS = 50_000;
/** Events looked up by ID are kept only from lookups of at most this many. */
const SMALL_LOOKUP = 16;

const key = (...parts: string[]) => parts.join("\u0000");

/** The two actions nearly every row is, shared rather than one object per row. */
const MAIN_NOTIFY: HeldAction = { threadId: MAIN_THREAD, highlight: false };
const MAIN_HIGHLIGHT: HeldAction = { threadId: MAIN_THREAD, highlight: true };

export class RecentEvents {
  private started = false;
  private floor = 0;
  private upTo = 0;
  /** Oldest first, positions in (floor, upTo]. */
  private readonly events: StoredEvent[] = [];
  private readonly byRoom = new Map<string, StoredEvent[]>();
  private readonly byId = new Map<string, StoredEvent>();
  /** Event IDs an event in the cache relates to (`m.relates_to`). */
  private readonly relatedTo = new Set<string>();
  private pending: Promise<void> | null = null;
  private positionRead: Promise<number> | null = null;

  private readonly histories = new Map<string, StateEntry[]>();
  private readonly members = new Map<string, MembershipRecord[]>();
  private readonly rooms = new Map<string, RoomRecord>();
  private readonly known = new Map<string, StoredEvent>();
  /** Bumped whenever derived answers are dropped: a read that began before must not store what it got. */
  private generation = 0;

  /** The push actions of the events after `actionsFrom`, by position then user (src/sync/unread-memo.ts). */
  private readonly actions = new Map<number, Map<string, HeldAction>>();
  private actionRows = 0;
  private actionsFrom = 0;
  /** Read positions and unread counts carried forward over the events read into the cache. */
  readonly unread: UnreadMemo = new UnreadMemo(this.heldStream());

  /**
   * The stream's current position, read once for every caller that asks before the read starts: the syncs one event
   * wakes all ask in the same turn of the event loop, and a read that starts after each of them was woken sees
   * what woke them.
   */
  position(stores: Stores): Promise<number> {
    this.positionRead ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
      this.positionRead = null;
      return currentPosition(stores);
    });
    return this.positionRead;
  }

  /** Makes the cache hold every event up to `position`, reading what it lacks once, whoever asks. */
  async cover(stores: Stores, position: number): Promise<void> {
    if (!this.started) {
      this.started = true;
      this.floor = this.upTo = position;
    }
    while (this.upTo < position) {
      if (this.pending === null) {
        this.pending = this.read(stores, position).finally(() => {
          this.pending = null;
        });
      }
      await this.pending;
    }
  }

  /**
   * Reads, in a few statements for all of `userId`'s rooms, what an initial sync asks of each room one by one: the
   * rooms, their joined and invited members, the user's membership history and the visibility history, and those
   * histories' events. Call after `cover`, so that what is read is dropped by the events that change it.
   */
  async prefetch(stores: Stores, userId: string): Promise<void> {
    const generation = this.generation;
    const memberships = await stores.roomMemberships.roomsOfUser(userId, ["join", "invite", "leave", "ban"]);
    const roomIds = memberships.map((m) => m.roomId);
    const lacking = (map: Map<string, unknown>, k: (roomId: string) => string) =>
      roomIds.filter((id) => !map.has(k(id)));
    const own = (roomId: string) => key(roomId, "m.room.member", userId);
    const vis = (roomId: string) => key(roomId, "m.room.history_visibility", "");
    const [rooms, members, ownHistories, visHistories] = await Promise.all([
      stores.rooms.getMany(lacking(this.rooms, (id) => id)),
      stores.roomMemberships.membersOfRooms(
        lacking(this.members, (id) => id),
        ["join", "invite"],
      ),
      stores.roomState.historyInRooms(lacking(this.histories, own), "m.room.member", userId),
      stores.roomState.historyInRooms(lacking(this.histories, vis), "m.room.history_visibility", ""),
    ]);
    const eventIds = [...ownHistories.values(), ...visHistories.values()].flatMap((h) => h.map((e) => e.eventId));
    const events = await stores.events.getMany(eventIds.filter((id) => !this.byId.has(id) && !this.known.has(id)));
    for (const room of rooms) this.remember(this.rooms, room.roomId, generation, room);
    for (const [roomId, list] of members) this.remember(this.members, roomId, generation, list);
    for (const [roomId, h] of ownHistories) this.remember(this.histories, own(roomId), generation, h);
    for (const [roomId, h] of visHistories) this.remember(this.histories, vis(roomId), generation, h);
    for (const e of events) this.remember(this.known, e.eventId, generation, e);
  }

  /**
   * Whether the cache holds no event at or before `position`, and never will (it only moves on): every read that
   * ends there goes to the database.
   */
  holdsNothingUpTo(position: number): boolean {
    return !this.started || position <= this.floor;
  }

  /** Whether the cache holds everything in (`after`, `upTo`]. */
  holds(after: number, upTo: number): boolean {
    return this.started && after >= this.floor && upTo <= this.upTo;
  }

  /**
   * Whether the cache holds (`after`, `upTo`] and every position in it is an event: then nothing else that takes a
   * stream position (account data, receipts, typing, presence, to-device messages, device lists …) was written in
   * it, by any process.
   */
  onlyEvents(after: number, upTo: number): boolean {
    if (!this.holds(after, upTo)) return false;
    return countBetween(this.events, after, upTo) === upTo - after;
  }

  private heldStream(): HeldStream {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the getters below read the live fields
    const self = this;
    return {
      get upTo() {
        return self.upTo;
      },
      get actionsFrom() {
        return self.actionsFrom;
      },
      holds: (after, upTo) => this.holds(after, upTo),
      onlyEvents: (after, upTo) => this.onlyEvents(after, upTo),
      roomEvents: (roomId, after, upTo) => between(this.byRoom.get(roomId) ?? [], after, upTo),
      actionsAt: (position) => this.actions.get(position),
    };
  }

  /** Drops everything held, for a write that deletes rows (a purged room) rather than adding to the stream. */
  clear(): void {
    this.reset(this.upTo);
  }

  private async read(stores: Stores, position: number): Promise<void> {
    const from = this.upTo;
    // Positions are dense (a rolled-back write gives its position back): a longer gap holds too many events.
    const rows = position - from > MAX_EVENTS ? [] : await stores.events.inRange(from, position, MAX_EVENTS + 1);
    if (position - from > MAX_EVENTS || rows.length > MAX_EVENTS) {
      this.reset(position);
      return;
    }
    // Read before anything is appended: a failed read leaves the cache as it was.
    const actions =
      rows.length === 0
        ? []
        : await stores.eventPushActions.inRooms([...new Set(rows.map((e) => e.roomId))], from, position);
    const redacted: string[] = [];
    for (const a of actions) {
      let users = this.actions.get(a.streamOrdering);
      if (!users) this.actions.set(a.streamOrdering, (users = new Map<string, HeldAction>()));
      const inMain = a.highlight ? MAIN_HIGHLIGHT : MAIN_NOTIFY;
      users.set(a.userId, a.threadId === MAIN_THREAD ? inMain : { threadId: a.threadId, highlight: a.highlight });
      this.actionRows++;
    }
    for (const e of rows) {
      this.append(e);
      if (e.stateKey !== null) this.stateChanged(e);
      if (e.type === "m.room.redaction") {
        // Also when the target is not held: a read of it that is under way must not store what it got.
        this.generation++;
        // It deleted its target's push actions (src/push/actions.ts): counts from before it are read again.
        this.actionsFrom = Math.max(this.actionsFrom, e.streamOrdering);
        const content = (e.pdu.content ?? {}) as Record<string, unknown>;
        for (const target of [e.pdu.redacts, content.redacts]) {
          if (typeof target === "string" && (this.byId.has(target) || this.known.has(target))) redacted.push(target);
        }
      }
    }
    if (redacted.length > 0) {
      for (const fresh of await stores.events.getMany(redacted)) {
        for (const held of [this.byId.get(fresh.eventId), this.known.get(fresh.eventId)]) {
          if (held) held.redactedBy = fresh.redactedBy;
        }
      }
    }
    this.upTo = position;
    this.trim();
  }

  private append(e: StoredEvent): void {
    this.events.push(e);
    this.byId.set(e.eventId, e);
    const list = this.byRoom.get(e.roomId);
    if (list) list.push(e);
    else this.byRoom.set(e.roomId, [e]);
    const rel = (e.pdu.content as Record<string, unknown> | undefined)?.["m.relates_to"];
    if (typeof rel === "object" && rel !== null) {
      const target = (rel as Record<string, unknown>).event_id;
      if (typeof target === "string") this.relatedTo.add(target);
    }
  }

  private stateChanged(e: StoredEvent): void {
    this.generation++;
    this.histories.delete(key(e.roomId, e.type, e.stateKey ?? ""));
    if (e.type === "m.room.member") this.members.delete(e.roomId);
  }

  private trim(): void {
    const excess = Math.max(0, this.events.length - MAX_EVENTS);
    for (const e of this.events.splice(0, excess)) {
      this.byId.delete(e.eventId);
      const list = this.byRoom.get(e.roomId);
      list?.shift();
      if (list?.length === 0) this.byRoom.delete(e.roomId);
      this.floor = e.streamOrdering;
    }
    // Map iteration is insertion order, which is position order: the oldest go first.
    for (const [position, users] of this.actions) {
      if (this.actionRows <= MAX_ACTION_ROWS && position > this.floor) break;
      this.actions.delete(position);
      this.actionRows -= users.size;
      this.actionsFrom = Math.max(this.actionsFrom, position);
    }
  }

  private reset(position: number): void {
    this.generation++;
    this.events.length = 0;
    this.byRoom.clear();
    this.byId.clear();
    this.relatedTo.clear();
    this.histories.clear();
    this.members.clear();
    this.rooms.clear();
    this.known.clear();
    this.actions.clear();
    this.actionRows = 0;
    this.unread.clear();
    this.floor = this.upTo = this.actionsFrom = position;
  }

  /** Events in (`after`, `upTo`] of every room, oldest first. */
  private slice(after: number, upTo: number): StoredEvent[] {
    return between(this.events, after, upTo);
  }

  /** Remembers an answer read from the database, unless something it depends on changed meanwhile. */
  private remember<V>(map: Map<string, V>, k: string, generation: number, value: V): V {
    if (generation !== this.generation) return value;
    if (this.histories.size + this.members.size + this.rooms.size + this.known.size >= MAX_DERIVED) {
      this.histories.clear();
      this.members.clear();
      this.rooms.clear();
      this.known.clear();
    }
    map.set(k, value);
    return value;
  }

  /**
   * `tables` with the reads of `/sync` and `/messages` answered from the cache where it holds the answer; every
   * other read, and every read outside what the cache holds, goes to `tables` as before. For reads only, after
   * `cover` of the reader's position. (`rooms.get` may give a record whose `isPublic` is out of date: readers
   * here take only the room version from it, which never changes.)
   */
  cachedTables(tables: Tables): Tables {
    const events: Tables["events"] = {
      ...tables.events,
      window: async (roomId, w) => {
        const { after, upTo } = w;
        if (!this.started || upTo === undefined || upTo > this.upTo) return tables.events.window(roomId, w);
        const inRange = between(this.byRoom.get(roomId) ?? [], Math.max(after ?? this.floor, this.floor), upTo);
        const complete = after !== undefined && after >= this.floor;
        // Going back, the newest `limit` events the cache holds are the answer once it holds that many, whatever
        // lies before its floor.
        if (!complete && !(w.dir === "b" && inRange.length >= w.limit)) return tables.events.window(roomId, w);
        if (w.dir === "b") inRange.reverse();
        return inRange.slice(0, w.limit);
      },
      joinedRoomsWithEventsBetween: async (userId, after, upTo) => {
        if (!this.holds(after, upTo)) return tables.events.joinedRoomsWithEventsBetween(userId, after, upTo);
        const out: string[] = [];
        for (const roomId of new Set(this.slice(after, upTo).map((e) => e.roomId))) {
          const m = (await memberList(roomId)).find((r) => r.userId === userId);
          if (m?.membership === "join") out.push(roomId);
        }
        return out;
      },
      membersBetween: async (after, upTo) =>
        this.holds(after, upTo)
          ? this.slice(after, upTo).filter((e) => e.type === "m.room.member" && e.stateKey !== null)
          : tables.events.membersBetween(after, upTo),
      get: async (eventId) => this.byId.get(eventId) ?? this.known.get(eventId) ?? tables.events.get(eventId),
      getMany: async (ids) => {
        const found: StoredEvent[] = [];
        const missing: string[] = [];
        for (const id of new Set(ids)) {
          const e = this.byId.get(id) ?? this.known.get(id);
          if (e) found.push(e);
          else missing.push(id);
        }
        if (missing.length > 0) {
          const generation = this.generation;
          const fetched = await tables.events.getMany(missing);
          found.push(...fetched);
          // Small lookups (redactions, a history's events) recur; a whole room's state for an initial sync does not,
          // and would fill the memory with events read once.
          if (missing.length <= SMALL_LOOKUP)
            for (const e of fetched) this.remember(this.known, e.eventId, generation, e);
        }
        return found.sort((a, b) => a.streamOrdering - b.streamOrdering);
      },
      relationSummaries: async (ids, userId) => {
        // A child names its parent's ID, a hash of the parent, so it comes after it: a parent the cache holds has
        // every child up to `upTo` in the cache too.
        if (ids.every((id) => this.byId.has(id) && !this.relatedTo.has(id))) return [];
        return tables.events.relationSummaries(ids, userId);
      },
    };
    const memberList = async (roomId: string): Promise<MembershipRecord[]> => {
      const held = this.members.get(roomId);
      if (held) return held;
      const generation = this.generation;
      const list = await tables.roomMemberships.members(roomId, ["join", "invite"]);
      return this.remember(this.members, roomId, generation, list);
    };
    const roomMemberships: Tables["roomMemberships"] = {
      ...tables.roomMemberships,
      members: async (roomId, memberships) => {
        const wanted = new Set(memberships);
        if (wanted.size !== 2 || !wanted.has("join") || !wanted.has("invite")) {
          return tables.roomMemberships.members(roomId, memberships);
        }
        return memberList(roomId);
      },
      get: async (roomId, userId) => {
        // Joined and invited members are in the list; anyone else (left, banned, forgotten) is asked for.
        const m = (await memberList(roomId)).find((r) => r.userId === userId);
        return m ?? tables.roomMemberships.get(roomId, userId);
      },
    };
    const roomState: Tables["roomState"] = {
      ...tables.roomState,
      history: async (roomId, type, stateKey) => {
        const k = key(roomId, type, stateKey);
        const held = this.histories.get(k);
        if (held) return held;
        const generation = this.generation;
        return this.remember(this.histories, k, generation, await tables.roomState.history(roomId, type, stateKey));
      },
      membershipsOfUserBetween: async (userId, after, upTo) => {
        if (!this.holds(after, upTo)) return tables.roomState.membershipsOfUserBetween(userId, after, upTo);
        return this.slice(after, upTo)
          .filter((e) => e.type === "m.room.member" && e.stateKey === userId)
          .map((e) => ({
            roomId: e.roomId,
            type: e.type,
            stateKey: userId,
            eventId: e.eventId,
            streamOrdering: e.streamOrdering,
          }));
      },
    };
    const rooms: Tables["rooms"] = {
      ...tables.rooms,
      get: async (roomId) => {
        const held = this.rooms.get(roomId);
        if (held) return held;
        const generation = this.generation;
        const room = await tables.rooms.get(roomId);
        return room ? this.remember(this.rooms, roomId, generation, room) : null;
      },
    };
    // Every position is taken by an event or by one of these writes: a stretch the cache holds in which every
    // position is an event had none of them, for anyone.
    const onlyEvents = (after: number, upTo: number) => this.onlyEvents(after, upTo);
    const accountData: Tables["accountData"] = {
      ...tables.accountData,
      changedBetween: async (userId, after, upTo) =>
        onlyEvents(after, upTo) ? [] : tables.accountData.changedBetween(userId, after, upTo),
    };
    const roomAccountData: Tables["roomAccountData"] = {
      ...tables.roomAccountData,
      changedBetween: async (userId, after, upTo) =>
        onlyEvents(after, upTo) ? [] : tables.roomAccountData.changedBetween(userId, after, upTo),
    };
    const deviceListChanges: Tables["deviceListChanges"] = {
      ...tables.deviceListChanges,
      usersChangedBetween: async (userIds, after, upTo) =>
        onlyEvents(after, upTo) ? [] : tables.deviceListChanges.usersChangedBetween(userIds, after, upTo),
      changedBetween: async (after, upTo) =>
        onlyEvents(after, upTo) ? [] : tables.deviceListChanges.changedBetween(after, upTo),
    };
    const typing: Tables["typing"] = {
      ...tables.typing,
      joinedRoomsChangedBetween: async (userId, after, upTo) =>
        onlyEvents(after, upTo) ? [] : tables.typing.joinedRoomsChangedBetween(userId, after, upTo),
    };
    const unread = this.unread.wrap(tables);
    const receipts: Tables["receipts"] = {
      ...unread.receipts,
      changedInJoinedRooms: async (userId, after, upTo) =>
        onlyEvents(after, upTo) ? [] : tables.receipts.changedInJoinedRooms(userId, after, upTo),
    };
    const presence: Tables["presence"] = {
      ...tables.presence,
      changedForViewer: async (userId, after, upTo) =>
        onlyEvents(after, upTo) ? [] : tables.presence.changedForViewer(userId, after, upTo),
    };
    return {
      ...tables,
      eventPushActions: unread.eventPushActions,
      events,
      roomMemberships,
      roomState,
      rooms,
      accountData,
      roomAccountData,
      deviceListChanges,
      typing,
      receipts,
      presence,
    };
  }
}

/** The index of the first event of `list` (ordered by position) after `position`, found by bisection. */
function firstAbove(list: readonly StoredEvent[], position: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((list[mid] as StoredEvent).streamOrdering <= position) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The events of `list` (ordered by position) in (`after`, `upTo`]. */
function between(list: readonly StoredEvent[], after: number, upTo: number): StoredEvent[] {
  return list.slice(firstAbove(list, after), firstAbove(list, upTo));
}

/** How many events of `list` (ordered by position) are in (`after`, `upTo`]. */
function countBetween(list: readonly StoredEvent[], after: number, upTo: number): number {
  return firstAbove(list, upTo) - firstAbove(list, after);
}

const caches = new WeakMap<Stores, RecentEvents>();

/** The cache of the server whose stores these are (one per server, so two servers in one process keep apart). */
export function recentEventsOf(stores: Stores): RecentEvents {
  let cache = caches.get(stores);
  if (!cache) {
    cache = new RecentEvents();
    caches.set(stores, cache);
  }
  return cache;
}
