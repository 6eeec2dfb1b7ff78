/**
 * @module `device_lists` of `/sync` and the answer of `/keys/changes`: whose device lists a user must fetch again
 * (`changed`) and whose they may forget (`left`) after a stretch (`after`, `upTo`] of the stream, as Synapse computes
 * them (`_generate_sync_entry_for_device_list`):
 *
 * - `changed`: users whose devices changed in the stretch (src/keys/device-lists.ts) and who are the user or share a
 *   room with them now (both joined); plus users who joined, were invited to or knocked on one of the user's rooms
 *   in the stretch; plus every member of a room the user joined in the stretch.
 * - `left`: users who left or were banned from one of the user's rooms, and every member of a room the user left,
 *   in the stretch, unless they still share a room with the user.
 *
 * Incremental: it reads the device changes and the membership events of the stretch (by position), and room
 * members only of the rooms whose membership changed in it, never the user's whole room list.
 */
import type { StoredEvent } from "../db/events.js";
import type { Tables } from "../db/stores.js";
import { contentOf, membershipIn } from "../rooms/event-content.js";

export interface DeviceListsDelta {
  changed: string[];
  left: string[];
}

const ARRIVING = new Set(["join", "invite", "knock"]);

/** The membership of `userId` in `roomId` as of `position` (`leave` when they had none). */
async function membershipAt(tables: Tables, roomId: string, userId: string, position: number): Promise<string> {
  const history = await tables.roomState.history(roomId, "m.room.member", userId);
  const entry = history.filter((h) => h.streamOrdering <= position).pop();
  if (!entry) return "leave";
  const event = await tables.events.get(entry.eventId);
  return event ? membershipIn(contentOf(event)) : "leave";
}

export async function deviceListsBetween(
  tables: Tables,
  userId: string,
  after: number,
  upTo: number,
): Promise<DeviceListsDelta> {
  const changed = new Set<string>();
  const leaving = new Set<string>();

  // The last membership each user took in each room in the stretch.
  const last = new Map<string, Map<string, StoredEvent>>();
  for (const e of await tables.events.membersBetween(after, upTo)) {
    let room = last.get(e.roomId);
    if (!room) last.set(e.roomId, (room = new Map<string, StoredEvent>()));
    room.set(e.stateKey as string, e);
  }
  for (const [roomId, room] of last) {
    const mine = room.get(userId);
    const myMembership = mine
      ? membershipIn(contentOf(mine))
      : ((await tables.roomMemberships.get(roomId, userId))?.membership ?? "leave");
    const wasJoined = mine ? (await membershipAt(tables, roomId, userId, after)) === "join" : myMembership === "join";
    if (myMembership === "join") {
      if (!wasJoined) {
        for (const m of await tables.roomMemberships.members(roomId, ["join"])) changed.add(m.userId);
      }
      for (const [other, e] of room) {
        if (ARRIVING.has(membershipIn(contentOf(e)))) changed.add(other);
        else leaving.add(other);
      }
    } else if (wasJoined) {
      for (const m of await tables.roomMemberships.members(roomId, ["join"])) leaving.add(m.userId);
      for (const other of room.keys()) leaving.add(other);
    }
  }

  const devicesChanged = await tables.deviceListChanges.changedBetween(after, upTo);
  const sharing = await tables.roomMemberships.sharingARoomWith(userId, devicesChanged);
  for (const u of devicesChanged) if (u === userId || sharing.has(u)) changed.add(u);

  changed.delete(userId);
  if (devicesChanged.includes(userId)) changed.add(userId);
  leaving.delete(userId);
  const stillSharing = await tables.roomMemberships.sharingARoomWith(userId, [...leaving]);
  const left = [...leaving].filter((u) => !stillSharing.has(u) && !changed.has(u)).sort();
  return { changed: [...changed].sort(), left };
}
