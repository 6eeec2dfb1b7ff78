/**
 * @module Which local users an event notifies (spec "Push Rules", and Synapse's bulk push rule evaluator): at
 * persist, inside the event's transaction, each local joined member but the sender (and a local invitee, for
 * `.m.rule.invite_for_me`) has their rules run against the event; a `notify` is stored with its `highlight` and
 * thread, and the unread counts are counted from those rows.
 *
 * Work per event stays small in a big room: the members, their own rules (one statement for all of them; most have
 * none) and, only when the event has a text body, their member events for the display names are read once; each
 * user's compiled ruleset is cached in this process and recompiled when their stored rules differ from the ones it
 * was compiled from, so a change made through another worker is seen at the next event.
 */
import type { StoredEvent } from "../db/events.js";
import { MAIN_THREAD, type PushActionRow } from "../db/event-push-actions.js";
import type { UserPushRules } from "../db/push-rules.js";
import type { Tables } from "../db/stores.js";
import { PowerLevels, type StateLookup } from "../matrix/auth-rules.js";
import { CompiledRuleset, FlatEvent, type PushEnvironment } from "../matrix/push-evaluator.js";
import { mergeRuleset } from "../matrix/push-rules.js";
import type { RoomVersion } from "../matrix/room-versions.js";

const CHUNK = 500;
/** Compiled rulesets held at most; past that the cache starts again (each costs a few kilobytes). */
const MAX_CACHED = 50_000;

const compiled = new Map<string, { fingerprint: string; ruleset: CompiledRuleset }>();

/** The user's compiled ruleset, from the cache while their stored rules are the ones it was compiled from. */
export function compiledRulesetOf(userId: string, stored: UserPushRules | undefined): CompiledRuleset {
  const fingerprint = stored ? JSON.stringify(stored) : "";
  const hit = compiled.get(userId);
  if (hit && hit.fingerprint === fingerprint) return hit.ruleset;
  const ruleset = new CompiledRuleset(mergeRuleset(userId, stored?.rules ?? [], stored?.defaults ?? []));
  if (compiled.size >= MAX_CACHED) compiled.clear();
  compiled.set(userId, { fingerprint, ruleset });
  return ruleset;
}

function objectAt(o: unknown, key: string): Record<string, unknown> | null {
  const v = typeof o === "object" && o !== null ? (o as Record<string, unknown>)[key] : undefined;
  return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
}

/** The thread an event belongs to: the root of its `m.thread` relation, else the main timeline. */
export function threadOf(content: Record<string, unknown>): string {
  const rel = objectAt(content, "m.relates_to");
  return rel?.rel_type === "m.thread" && typeof rel.event_id === "string" ? rel.event_id : MAIN_THREAD;
}

/**
 * Evaluates `event` for the local users it may notify and stores the notifying ones. `state` is the room's state
 * before the event (the power levels the sender's permission is read from).
 */
export async function recordPushActions(
  tables: Tables,
  serverName: string,
  event: StoredEvent,
  state: StateLookup,
  v: RoomVersion,
): Promise<void> {
  const content = objectAt(event.pdu, "content") ?? {};
  if (event.type === "m.room.redaction") await forgetRedacted(tables, event, content);
  const isLocal = (userId: string) => userId.endsWith(`:${serverName}`);
  const joined = await tables.roomMemberships.members(event.roomId, ["join"]);
  const users = joined.filter((m) => m.userId !== event.sender && isLocal(m.userId));
  const invitee =
    event.type === "m.room.member" && content.membership === "invite" && event.stateKey !== null
      ? event.stateKey
      : null;
  const candidates = users.map((m) => m.userId);
  if (invitee !== null && invitee !== event.sender && isLocal(invitee) && !candidates.includes(invitee)) {
    candidates.push(invitee);
  }
  if (candidates.length === 0) return;

  const flat = new FlatEvent({
    type: event.type,
    sender: event.sender,
    room_id: event.roomId,
    ...(event.stateKey !== null ? { state_key: event.stateKey } : {}),
    content,
  });
  const displayNames = new Map<string, string>();
  if (typeof content.body === "string") {
    for (let i = 0; i < users.length; i += CHUNK) {
      for (const e of await tables.events.getMany(users.slice(i, i + CHUNK).map((m) => m.eventId))) {
        const name = objectAt(e.pdu, "content")?.displayname;
        if (typeof name === "string" && e.stateKey !== null) displayNames.set(e.stateKey, name);
      }
    }
  }
  const pl = PowerLevels.from(state, v);
  const base: Omit<PushEnvironment, "displayName"> = {
    joinedMemberCount: joined.length,
    senderPowerLevel: pl.user(event.sender),
    notificationLevels: state("m.room.power_levels", "")?.content.notifications,
  };
  const stored = await tables.pushRules.forUsers(candidates);
  const threadId = threadOf(content);
  const rows: PushActionRow[] = [];
  for (const userId of candidates) {
    const outcome = compiledRulesetOf(userId, stored.get(userId)).evaluate(flat, {
      ...base,
      displayName: displayNames.get(userId) ?? null,
    });
    if (outcome.notify) {
      rows.push({
        userId,
        roomId: event.roomId,
        streamOrdering: event.streamOrdering,
        threadId,
        highlight: outcome.highlight,
      });
    }
  }
  for (let i = 0; i < rows.length; i += CHUNK) await tables.eventPushActions.insert(rows.slice(i, i + CHUNK));
}

/** A redacted event no longer counts for anyone (Synapse removes its push actions too). */
async function forgetRedacted(tables: Tables, event: StoredEvent, content: Record<string, unknown>): Promise<void> {
  const redacts = typeof event.pdu.redacts === "string" ? event.pdu.redacts : content.redacts;
  if (typeof redacts !== "string") return;
  const target = await tables.events.get(redacts);
  if (target && target.roomId === event.roomId) {
    await tables.eventPushActions.deleteForEvent(event.roomId, target.streamOrdering);
  }
}
