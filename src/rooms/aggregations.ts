/**
 * @module Bundled aggregations (spec "Aggregations of child events"): what `unsigned.m.relations` tells a client
 * about an event's children without fetching them: its thread (latest reply, count, whether the reader took part)
 * and its latest edit. Read for a whole page at once: one query for the counts, one for the events they name.
 *
 * The children shown pass the history visibility rule like any served event: a reply or edit sent after the
 * reader left is not bundled. Then (rarely: only when the newest child is hidden) the children are read again to
 * find the newest the reader may see, and a thread's count is of those.
 */
import type { RelationSummary, StoredEvent } from "../db/events.js";
import type { Tables } from "../db/stores.js";
import { visibilityFor, type VisibilityCheck } from "./visibility.js";

/** How many of one event's children are read to find the newest the reader may see (Synapse's page maximum). */
const HIDDEN_CHILDREN_SCAN = 1000;

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
  // An event read with the knowledge that nothing relates to it has nothing to bundle.
  const byId = new Map(
    events.filter((e) => e.redactedBy === null && e.readFor?.related !== false).map((e) => [e.eventId, e]),
  );
  const out = new Map<string, Aggregations>();
  if (byId.size === 0) return out;
  const summaries = await tables.events.relationSummaries([...byId.keys()], userId);
  if (summaries.length === 0) return out;
  const latest = new Map(
    (await tables.events.getAtPositions(summaries.map((s) => s.latest))).map((e) => [e.streamOrdering, e]),
  );
  const checks = new Map<string, VisibilityCheck>();
  for (const s of summaries) {
    const parent = byId.get(s.eventId);
    if (!parent) continue;
    let check = checks.get(parent.roomId);
    if (!check) {
      check = await visibilityFor(tables, parent.roomId, userId);
      checks.set(parent.roomId, check);
    }
    let event = latest.get(s.latest);
    let count = s.count;
    if (event && !check.visible(event)) ({ event, count } = await newestVisible(tables, parent, s, check));
    if (!event) continue;
    const entry = out.get(s.eventId) ?? {};
    if (s.relType === "m.thread") {
      entry.thread = { latest: event, count, participated: s.mine > 0 || parent.sender === userId };
    } else {
      entry.replace = event;
    }
    out.set(s.eventId, entry);
  }
  return out;
}

/** The newest child of `parent` of the summary's kind that `check` lets the reader see, and how many they see. */
async function newestVisible(
  tables: Tables,
  parent: StoredEvent,
  s: RelationSummary,
  check: VisibilityCheck,
): Promise<{ event: StoredEvent | undefined; count: number }> {
  const children = await tables.events.relationsWindow(
    parent.roomId,
    parent.eventId,
    { relType: s.relType, depth: 1 },
    { dir: "b", limit: HIDDEN_CHILDREN_SCAN },
  );
  // The same children as `relationSummaries` counts: live ones, and for edits only the original sender's.
  const counted = children.filter(
    (c) =>
      c.redactedBy === null &&
      check.visible(c) &&
      (s.relType === "m.thread" ||
        (c.sender === parent.sender && c.type === parent.type && c.stateKey === null && parent.stateKey === null)),
  );
  return { event: counted[0], count: counted.length };
}
