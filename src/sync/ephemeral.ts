/**
 * @module The `ephemeral` block of a joined room in `/sync`: `m.typing` (who types now) and `m.receipt` (read
 * receipts; a user's `m.read.private` only in their own sync).
 *
 * On an initial or full-state sync, and for a room the user just joined, the room's current typers and all its
 * receipts up to the sync's position; on an incremental one, `m.typing` for the rooms whose typing changed after
 * `since` and the receipts written after `since`, all found from the positions (work follows what changed). The
 * room filter's `ephemeral` section applies.
 */
import type { Receipt } from "../db/receipts.js";
import type { Tables } from "../db/stores.js";
import { eventFilterAllows, roomSection, type FilterJson } from "./filters.js";

export interface EphemeralEvent {
  type: string;
  content: Record<string, unknown>;
}

interface EphemeralParams {
  reader: { userId: string };
  filter: FilterJson;
  since: number | null;
  position: number;
  fullState: boolean;
  now: number;
}

const TYPING = "m.typing";
const RECEIPT = "m.receipt";
const PRIVATE = "m.read.private";

/** `{eventId: {type: {userId: {ts, thread_id?}}}}`, leaving out other users' private receipts. */
function receiptContent(receipts: readonly Receipt[], userId: string): Record<string, unknown> | null {
  const content: Record<string, Record<string, Record<string, { ts: number; thread_id?: string }>>> = {};
  for (const r of receipts) {
    if (r.type === PRIVATE && r.userId !== userId) continue;
    const byType = (content[r.eventId] ??= {});
    const byUser = (byType[r.type] ??= {});
    byUser[r.userId] = r.threadId === null ? { ts: r.ts } : { ts: r.ts, thread_id: r.threadId };
  }
  return Object.keys(content).length > 0 ? content : null;
}

function groupByRoom(receipts: readonly Receipt[]): Map<string, Receipt[]> {
  const out = new Map<string, Receipt[]>();
  for (const r of receipts) out.set(r.roomId, [...(out.get(r.roomId) ?? []), r]);
  return out;
}

export class RoomEphemeral {
  /** Incremental: the events of each room with news. Fresh rooms: filled by `prefetch` or read on demand. */
  private readonly byRoom = new Map<string, EphemeralEvent[]>();

  private constructor(private readonly p: EphemeralParams) {}

  /** On an incremental sync, reads what changed in (`since`, `position`] in the user's joined rooms. */
  static async load(tables: Tables, p: EphemeralParams): Promise<RoomEphemeral> {
    const e = new RoomEphemeral(p);
    if (p.since === null || p.fullState) return e;
    const userId = p.reader.userId;
    const typingRooms = await tables.typing.joinedRoomsChangedBetween(userId, p.since, p.position);
    const typers = await tables.typing.typersIn(typingRooms, p.now);
    const receipts = groupByRoom(await tables.receipts.changedInJoinedRooms(userId, p.since, p.position));
    for (const roomId of new Set([...typingRooms, ...receipts.keys()])) {
      const events = e.build(
        roomId,
        typingRooms.includes(roomId) ? (typers.get(roomId) ?? []) : null,
        receipts.get(roomId) ?? [],
      );
      if (events.length > 0) e.byRoom.set(roomId, events);
    }
    return e;
  }

  /** The rooms with something to send on an incremental sync. */
  changedRooms(): string[] {
    return [...this.byRoom.keys()];
  }

  /** Reads the current typers and receipts of many fresh rooms in two statements (an initial sync). */
  async prefetch(tables: Tables, roomIds: readonly string[]): Promise<void> {
    if (roomIds.length === 0) return;
    const typers = await tables.typing.typersIn(roomIds, this.p.now);
    const receipts = groupByRoom(await tables.receipts.inRooms(roomIds, this.p.position));
    for (const roomId of roomIds) {
      this.byRoom.set(roomId, this.build(roomId, typers.get(roomId) ?? [], receipts.get(roomId) ?? [], true));
    }
  }

  /** The room's `ephemeral.events`; `fresh`: the whole current state (a newly joined room), not the changes. */
  async eventsFor(tables: Tables, roomId: string, fresh: boolean): Promise<EphemeralEvent[]> {
    const known = this.byRoom.get(roomId);
    if (known !== undefined || !fresh) return known ?? [];
    await this.prefetch(tables, [roomId]);
    return this.byRoom.get(roomId) ?? [];
  }

  /** `typers` null: typing did not change (no `m.typing`); an empty list: nobody types any more. */
  private build(
    roomId: string,
    typers: string[] | null,
    receipts: readonly Receipt[],
    fresh = false,
  ): EphemeralEvent[] {
    const section = roomSection(this.p.filter, "ephemeral");
    const events: EphemeralEvent[] = [];
    // A fresh room gets `m.typing` only when someone types: an empty list says nothing new.
    if (typers !== null && (!fresh || typers.length > 0)) events.push({ type: TYPING, content: { user_ids: typers } });
    const content = receiptContent(receipts, this.p.reader.userId);
    if (content !== null) events.push({ type: RECEIPT, content });
    return events.filter((ev) => eventFilterAllows(section, { type: ev.type, roomId }));
  }
}
