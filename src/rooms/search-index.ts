/**
 * @module What of an event `POST /search` can find, as Synapse indexes it: the `body` of an `m.room.message`, the
 * `name` of the state event `m.room.name`, the `topic` of `m.room.topic`, when a string. Encrypted events
 * (`m.room.encrypted`) have no plaintext and are never indexed. Written by persist.ts in the event's transaction.
 */
import type { SearchEntry } from "../db/event-search.js";
import type { StoredEvent } from "../db/events.js";
import { contentOf } from "./event-content.js";

export function searchEntryOf(e: StoredEvent): SearchEntry | null {
  const content = contentOf(e);
  const entry = (key: SearchEntry["key"], value: unknown): SearchEntry | null =>
    typeof value === "string" && value !== ""
      ? { streamOrdering: e.streamOrdering, roomId: e.roomId, key, value }
      : null;
  if (e.type === "m.room.message" && e.stateKey === null) return entry("content.body", content.body);
  if (e.type === "m.room.name" && e.stateKey !== null) return entry("content.name", content.name);
  if (e.type === "m.room.topic" && e.stateKey !== null) return entry("content.topic", content.topic);
  return null;
}
