/**
 * @module What an initial (or `full_state`) `/sync` asks of each of the user's joined rooms one by one, read for all
 * of them in a few statements first: each room's newest events (the first page of its timeline), their bundled
 * aggregations and transaction IDs, each room's current state (the state before the timeline, once the keys
 * the timeline itself changed are read back to its start), and the user's read position and unread counts in each
 * (src/push/counts.ts asks for them room by room).
 *
 * On PostgreSQL every statement is a round trip: asked room by room, 200 rooms took some 1,000 of them. The rooms
 * code runs unchanged on the `Tables` this returns; a read that is not exactly one of these falls through.
 */
import { chunks } from "../db/current-state.js";
import type { RelationSummary } from "../db/events.js";
import type { Tables } from "../db/stores.js";
import type { Reader } from "../rooms/client-events.js";

export async function withInitialReads(
  tables: Tables,
  reader: Reader,
  position: number,
  timelineLimit: number,
): Promise<Tables> {
  const userId = reader.userId;
  const roomIds = (await tables.roomMemberships.roomsOfUser(userId, ["join"])).map((m) => m.roomId);
  if (roomIds.length === 0) return tables;
  // The paginator first reads one more than the page, to tell whether there are more.
  const limit = timelineLimit + 1;
  // Two chains that wait for nothing of each other's, so on PostgreSQL neither waits out the other's round trips:
  // the pages and what their events need, and the read positions and the counts after them.
  const pages = (async () => {
    const newest = await tables.events.newestInRooms(roomIds, position, limit);
    const held = [...newest.values()].flat();
    const heldIds = new Set(held.map((e) => e.eventId));
    // As the serializer asks: only `send` and `redact` take a transaction ID, and neither makes a state event.
    const own = held.filter((e) => e.sender === userId && e.stateKey === null).map((e) => e.eventId);
    const [txns, ...summaryChunks] = await Promise.all([
      reader.deviceId === null ? new Map<string, string>() : tables.eventTxns.forEvents(userId, reader.deviceId, own),
      ...chunks([...heldIds], 500).map((chunk) => tables.events.relationSummaries(chunk, userId)),
    ]);
    const summaries: RelationSummary[] = summaryChunks.flat();
    return { newest, heldIds, txns, summaries };
  })();
  const unread = (async () => {
    const [sent, read] = await Promise.all([
      tables.eventPushActions.latestSentByInRooms(roomIds, userId),
      tables.receipts.latestReadOrderingInRooms(roomIds, userId),
    ]);
    // As `readPositionOf` finds the timeline's read position: the furthest of the two.
    const readUpTo = new Map(roomIds.map((id) => [id, Math.max(sent.get(id) ?? 0, read.get(id) ?? 0)]));
    const counts = await tables.eventPushActions.countsByThreadInRooms(userId, readUpTo, position);
    return { sent, read, readUpTo, counts };
  })();
  const [{ newest, heldIds, txns, summaries }, { sent, read, readUpTo, counts }, current] = await Promise.all([
    pages,
    unread,
    tables.currentState.allForRooms(roomIds),
  ]);
  const allHeld = (ids: readonly string[]) => ids.every((id) => heldIds.has(id));
  const events: Tables["events"] = {
    ...tables.events,
    relationSummaries: async (ids, who) => {
      if (who !== userId || !allHeld(ids)) return tables.events.relationSummaries(ids, who);
      const wanted = new Set(ids);
      return summaries.filter((s) => wanted.has(s.eventId));
    },
    window: async (roomId, w) => {
      const held = newest.get(roomId);
      // Fewer held than asked for means the room has no more.
      const answers = held && (w.limit <= held.length || held.length < limit);
      if (answers && w.dir === "b" && w.after === undefined && w.upTo === position) return held.slice(0, w.limit);
      return tables.events.window(roomId, w);
    },
  };
  const roomState: Tables["roomState"] = {
    ...tables.roomState,
    at: async (roomId, at) => {
      const held = current.get(roomId);
      if (!held || at > position) return tables.roomState.at(roomId, at);
      // A key's current event is its event at `at` unless it was replaced (or first set) after `at`.
      const later = held.filter((e) => e.streamOrdering > at);
      if (later.length === 0) return held;
      const before = await tables.roomState.keysAt(
        roomId,
        later.map((e) => [e.type, e.stateKey] as const),
        at,
      );
      return [...held.filter((e) => e.streamOrdering <= at), ...before];
    },
  };
  const eventTxns: Tables["eventTxns"] = {
    ...tables.eventTxns,
    forEvents: async (who, deviceId, ids) => {
      if (who !== userId || deviceId !== reader.deviceId || !allHeld(ids)) {
        return tables.eventTxns.forEvents(who, deviceId, ids);
      }
      return new Map(ids.flatMap((id) => (txns.has(id) ? [[id, txns.get(id) as string] as const] : [])));
    },
  };
  const eventPushActions: Tables["eventPushActions"] = {
    ...tables.eventPushActions,
    latestSentBy: async (roomId, who) =>
      who === userId && readUpTo.has(roomId)
        ? (sent.get(roomId) ?? null)
        : tables.eventPushActions.latestSentBy(roomId, who),
    countsByThread: async (who, roomId, after, upTo) =>
      who === userId && upTo === position && readUpTo.get(roomId) === after
        ? (counts.get(roomId) ?? [])
        : tables.eventPushActions.countsByThread(who, roomId, after, upTo),
  };
  const receipts: Tables["receipts"] = {
    ...tables.receipts,
    latestReadOrdering: async (roomId, who, threadId) =>
      who === userId && threadId === null && readUpTo.has(roomId)
        ? (read.get(roomId) ?? null)
        : tables.receipts.latestReadOrdering(roomId, who, threadId),
  };
  return { ...tables, events, roomState, eventTxns, eventPushActions, receipts };
}
