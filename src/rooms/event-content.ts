/**
 * @module Reading stored events' content: the one place that knows a PDU's `content` is an object and what a
 * member event's `membership` is when it is missing or malformed.
 */
import type { StoredEvent } from "../db/events.js";

export function contentOf(e: StoredEvent): Record<string, unknown> {
  const c = e.pdu.content;
  return typeof c === "object" && c !== null && !Array.isArray(c) ? (c as Record<string, unknown>) : {};
}

/** A member event's membership; `leave` when absent, as the authorization rules read it. */
export function membershipIn(content: Record<string, unknown> | undefined): string {
  const m = content?.membership;
  return typeof m === "string" ? m : "leave";
}
