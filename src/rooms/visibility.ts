/**
 * @module History visibility (spec "History visibility"): the one rule for which of a room's events a user may see,
 * used by every path that returns events (`/sync`, `/messages`, `/context`, `/event`, relations).
 *
 * An event is visible to a user when the room's `m.room.history_visibility` before it is `world_readable`; or the
 * user's membership at it was `join` (their own membership event counts with its new membership, so they see
 * their own leave); or it was `invite` and the visibility `invited`; or the visibility is `shared` and the user is
 * joined now. So a user who left sees what happened while they were in, not after; a user who joins a `shared`
 * room sees its history, one who joins a `joined` room only what follows. A user who forgot the room has no
 * membership in it at all for this rule (only `world_readable` history stays visible), as in Synapse. Both
 * histories are read once per call (they are short: one row per change), so filtering a page costs three queries,
 * whatever the room's size.
 */
import type { StoredEvent } from "../db/events.js";
import type { StateEntry } from "../db/room-state.js";
import type { Tables } from "../db/stores.js";
import { contentOf, membershipIn } from "./event-content.js";

type Visibility = "world_readable" | "shared" | "invited" | "joined";

interface Change<T> {
  position: number;
  value: T;
}

/** The value in force just before `position` (the last change strictly before it). */
function valueBefore<T>(changes: readonly Change<T>[], position: number, initial: T): T {
  let value = initial;
  for (const c of changes) {
    if (c.position >= position) break;
    value = c.value;
  }
  return value;
}

async function contents(tables: Tables, entries: StateEntry[]): Promise<Map<string, Record<string, unknown>>> {
  const events = await tables.events.getMany(entries.map((e) => e.eventId));
  return new Map(events.map((e) => [e.eventId, (e.pdu.content ?? {}) as Record<string, unknown>]));
}

/** Decides visibility of events of one room for one user; build once per request with `visibilityFor`. */
export interface VisibilityCheck {
  visible(event: StoredEvent): boolean;
  /** The user's membership just after `position` (`leave` if none). */
  membershipAt(position: number): string;
}

/**
 * A server admin's view through the admin API (Synapse's `use_admin_priviledge`): every event. Not a user's view:
 * only admin reads use it.
 */
export const EVERYTHING: VisibilityCheck = {
  visible: () => true,
  membershipAt: () => "join",
};

export async function visibilityFor(tables: Tables, roomId: string, userId: string): Promise<VisibilityCheck> {
  const forgotten = (await tables.roomMemberships.get(roomId, userId))?.forgotten === true;
  const memberEntries = forgotten ? [] : await tables.roomState.history(roomId, "m.room.member", userId);
  const visEntries = await tables.roomState.history(roomId, "m.room.history_visibility", "");
  const content = await contents(tables, [...memberEntries, ...visEntries]);
  const memberships: Change<string>[] = memberEntries.map((e) => ({
    position: e.streamOrdering,
    value: membershipIn(content.get(e.eventId)),
  }));
  const visibilities: Change<Visibility>[] = visEntries.map((e) => ({
    position: e.streamOrdering,
    value: parseVisibility(content.get(e.eventId)?.history_visibility),
  }));
  const current = memberships.at(-1)?.value ?? "leave";
  return {
    visible(event) {
      const visibility = valueBefore<Visibility>(visibilities, event.streamOrdering, "shared");
      if (visibility === "world_readable") return true;
      const own = event.type === "m.room.member" && event.stateKey === userId;
      const membership = own ? membershipIn(contentOf(event)) : valueBefore(memberships, event.streamOrdering, "leave");
      if (membership === "join") return true;
      if (membership === "invite" && visibility === "invited") return true;
      if (own) return true;
      return visibility === "shared" && current === "join";
    },
    membershipAt(position) {
      return valueBefore(memberships, position + 1, "leave");
    },
  };
}

/** Unknown values count as `shared`, the spec's default, as Synapse does. */
function parseVisibility(value: unknown): Visibility {
  return value === "world_readable" || value === "invited" || value === "joined" ? value : "shared";
}

export async function filterVisible(
  tables: Tables,
  roomId: string,
  userId: string,
  events: readonly StoredEvent[],
): Promise<StoredEvent[]> {
  if (events.length === 0) return [];
  const check = await visibilityFor(tables, roomId, userId);
  return events.filter((e) => check.visible(e));
}
