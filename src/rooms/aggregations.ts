/**
 * @module Bundled aggregations (spec "Aggregations of child events"): what `unsigned.m.relations` tells a client
 * about an event's children without fetching them: its thread (latest reply, count, whether the reader took part)
 * and its latest edit. Read for a whole page at once: one query for the counts, one for the events they name.
 */
import type { StoredEvent } from "../db/events.js";
import type { Tables } from "../db/stores.js";

export interface ThreadAggregation {
  latest: StoredEvent;
  count: number;
  participated: boolean;
}

export interface Aggregations {
  thread?: ThreadAggregation;
  replace?: StoredEvent;
}

/** The aggregations of each of `events` that has any, for `userId`; redacted events get none. */
export async function loadAggregations(
  tables: Tables,
  events: readonly StoredEvent[],
  userId: string,
): Promise<Map<string, Aggregations>> {
  const byId = new Map(events.filter((e) => e.redactedBy === null).map((e) => [e.eventId, e]));
  const out = new Map<string, Aggregations>();
  if (byId.size === 0) return out;
  const summaries = await tables.events.relationSummaries([...byId.keys()], userId);
  if (summaries.length === 0) return out;
  const latest = new Map(
    (await tables.events.getAtPositions(summaries.map((s) => s.latest))).map((e) => [e.streamOrdering, e]),
  );
  for (const s of summaries) {
    const event = latest.get(s.latest);
    const parent = byId.get(s.eventId);
    if (!event || !parent) continue;
    const entry = out.get(s.eventId) ?? {};
    if (s.relType === "m.thread") {
      entry.thread = { latest: event, count: s.count, participated: s.mine > 0 || parent.sender === userId };
    } else {
      entry.replace = event;
    }
    out.set(s.eventId, entry);
  }
  return out;
}
