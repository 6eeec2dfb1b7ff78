/**
 * @module Reading stored events' content: the one place that knows a PDU's `content` is an object and what a
 * member event's `membership` is when it is missing or malformed.
 */
import type { StoredEvent } from "../db/events.js";
import type { AuthEvent } from "../matrix/auth-rules.js";

export function contentOf(e: StoredEvent): Record<string, unknown> {
  const c = e.pdu.content;
  return typeof c === "object" && c !== null && !Array.isArray(c) ? (c as Record<string, unknown>) : {};
}

/** A member event's membership; `leave` when absent, as the authorization rules read it. */
export function membershipIn(content: Record<string, unknown> | undefined): string {
  const m = content?.membership;
  return typeof m === "string" ? m : "leave";
}

/** A stored event as the authorization rules read it. */
export function authEventOf(e: StoredEvent): AuthEvent {
  return {
    event_id: e.eventId,
    room_id: e.roomId,
    type: e.type,
    sender: e.sender,
    state_key: e.stateKey ?? undefined,
    content: contentOf(e),
  };
}
