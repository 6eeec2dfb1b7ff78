/**
 * @module What the directories show of a room (name, topic, avatar, canonical alias, join rule, history visibility,
 * guest access, type, joined members), read for many rooms at once: one indexed `current_state` query for the few
 * state keys involved, one fetch of those events, one grouped count of joined members. The whole state of a room
 * is never loaded.
 */
import type { Tables } from "../db/stores.js";
import type { AuthEvent } from "../matrix/auth-rules.js";
import { authEventOf } from "./event-content.js";

export interface RoomSummary {
  roomId: string;
  name: string | null;
  topic: string | null;
  avatarUrl: string | null;
  canonicalAlias: string | null;
  joinRule: string | null;
  historyVisibility: string | null;
  guestCanJoin: boolean;
  roomType: string | null;
  joinedMembers: number;
  /** `m.room.encryption`'s algorithm. */
  encryption: string | null;
  /** The rooms whose members may join, by a `restricted` or `knock_restricted` join rule's `allow` list. */
  allowedRoomIds: string[];
}

const SUMMARY_KEYS: [string, string][] = [
  ["m.room.create", ""],
  ["m.room.name", ""],
  ["m.room.topic", ""],
  ["m.room.avatar", ""],
  ["m.room.canonical_alias", ""],
  ["m.room.join_rules", ""],
  ["m.room.history_visibility", ""],
  ["m.room.guest_access", ""],
  ["m.room.encryption", ""],
];

type Contents = Map<string, Map<string, Record<string, unknown>>>;

/** Each room's current content for `keys`, by room then by `type`. */
async function currentContents(
  tables: Tables,
  roomIds: readonly string[],
  keys: readonly (readonly [string, string])[],
): Promise<Contents> {
  const entries = await tables.currentState.getForRooms(roomIds, keys);
  const events = await tables.events.getMany(entries.map((e) => e.eventId));
  const out: Contents = new Map();
  for (const e of events) {
    const byType = out.get(e.roomId) ?? new Map<string, Record<string, unknown>>();
    byType.set(e.type, (e.pdu.content ?? {}) as Record<string, unknown>);
    out.set(e.roomId, byType);
  }
  return out;
}

/** A state lookup over a few current-state keys of one room, for `PowerLevels.from` and the like. */
export async function stateLookup(
  tables: Tables,
  roomId: string,
  keys: readonly (readonly [string, string])[],
): Promise<(type: string, stateKey: string) => AuthEvent | undefined> {
  const entries = await tables.currentState.get(roomId, keys);
  const events = await tables.events.getMany(entries.map((e) => e.eventId));
  const byKey = new Map(events.map((e) => [`${e.type}\u0000${e.stateKey ?? ""}`, e]));
  return (type, stateKey) => {
    const e = byKey.get(`${type}\u0000${stateKey}`);
    return e ? authEventOf(e) : undefined;
  };
}

function str(content: Record<string, unknown> | undefined, key: string): string | null {
  const v = content?.[key];
  return typeof v === "string" ? v : null;
}

/** The `m.room_membership` entries of a join rule's `allow` list (the spec's restricted rooms). */
function allowedRoomIds(joinRules: Record<string, unknown> | undefined): string[] {
  const allow = joinRules?.allow;
  if (!Array.isArray(allow)) return [];
  return allow.flatMap((a: unknown) => {
    const entry = a as Record<string, unknown> | null;
    return entry?.type === "m.room_membership" && typeof entry.room_id === "string" ? [entry.room_id] : [];
  });
}

export async function roomSummaries(tables: Tables, roomIds: readonly string[]): Promise<RoomSummary[]> {
  const contents = await currentContents(tables, roomIds, SUMMARY_KEYS);
  const joined = await tables.roomMemberships.joinedCounts(roomIds);
  return roomIds.map((roomId) => {
    const c = contents.get(roomId) ?? new Map<string, Record<string, unknown>>();
    return {
      roomId,
      name: str(c.get("m.room.name"), "name"),
      topic: str(c.get("m.room.topic"), "topic"),
      avatarUrl: str(c.get("m.room.avatar"), "url"),
      canonicalAlias: str(c.get("m.room.canonical_alias"), "alias"),
      joinRule: str(c.get("m.room.join_rules"), "join_rule"),
      historyVisibility: str(c.get("m.room.history_visibility"), "history_visibility"),
      guestCanJoin: str(c.get("m.room.guest_access"), "guest_access") === "can_join",
      roomType: str(c.get("m.room.create"), "type"),
      joinedMembers: joined.get(roomId) ?? 0,
      encryption: str(c.get("m.room.encryption"), "algorithm"),
      allowedRoomIds: allowedRoomIds(c.get("m.room.join_rules")),
    };
  });
}

/**
 * Of `roomIds`, those anyone may join or read (join rule `public`, or history `world_readable`): Synapse's
 * "public room" for the user directory.
 */
export async function publiclyJoinableOrReadable(tables: Tables, roomIds: readonly string[]): Promise<Set<string>> {
  const contents = await currentContents(tables, roomIds, [
    ["m.room.join_rules", ""],
    ["m.room.history_visibility", ""],
  ]);
  const out = new Set<string>();
  for (const [roomId, c] of contents) {
    if (
      str(c.get("m.room.join_rules"), "join_rule") === "public" ||
      str(c.get("m.room.history_visibility"), "history_visibility") === "world_readable"
    ) {
      out.add(roomId);
    }
  }
  return out;
}
