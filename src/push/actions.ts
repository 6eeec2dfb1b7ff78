/**
 * @module Which local users an event notifies (spec "Push Rules", and Synapse's bulk push rule evaluator): at
 * persist, inside the event's transaction, each local joined member but the sender (and a local invitee, for
 * `.m.rule.invite_for_me`) has their rules run against the event; a `notify` is stored with its `highlight` and
 * thread, and the unread counts are counted from those rows.
 *
 * Work per event grows little with the room: the members come from the caller (which reads them once for the
 * wake-ups too), their own rules are one read for all of them (most have none), the rules are run once per ruleset
 * shape and only the personal ones (user ID, display name) per member, and the rows go in as one statement. Each
 * user's compiled ruleset is cached in this process and recompiled when their stored rules differ from the ones it
 * was compiled from, so a change made through another worker is seen at the next event. Display names are read from
 * the members' current member events, remembered per event ID: an event never changes (the name is read from the
 * event as it was sent, redacted or not, as before), and a new name is a new member event, so a rename counts at once.
 *
 * The rows are written in the event's transaction, not after it: a `/sync` that reports the event at a position
 * then counts its notification in the same answer (src/sync/unread-memo.ts relies on it), which a later write could
 * not promise without a second position to report it at.
 */
import type { StoredEvent } from "../db/events.js";
import { MAIN_THREAD, type Notified } from "../db/event-push-actions.js";
import type { UserPushRules } from "../db/push-rules.js";
import type { MembershipRecord } from "../db/room-memberships.js";
import type { Tables } from "../db/stores.js";
import { PowerLevels, type StateLookup } from "../matrix/auth-rules.js";
import { CompiledRuleset, FlatEvent, type PushEnvironment, type SharedVerdict } from "../matrix/push-evaluator.js";
import { mergeRuleset } from "../matrix/push-rules.js";
import type { RoomVersion } from "../matrix/room-versions.js";

const CHUNK = 500;
/** Compiled rulesets held at most; past that the cache starts again (each costs a few kilobytes). */
const MAX_CACHED = 50_000;

const compiled = new Map<string, { fingerprint: string; ruleset: CompiledRuleset }>();

/** Member event ID → the display name it sets (null: none); past `MAX_NAMES` entries it starts again. */
const namesByEvent = new Map<string, string | null>();
const MAX_NAMES = 100_000;

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

/** The display name each member's current member event sets, reading only the events not seen before. */
async function displayNamesOf(tables: Tables, members: readonly MembershipRecord[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const unseen: string[] = [];
  for (const m of members) {
    const name = namesByEvent.get(m.eventId);
    if (name === undefined) unseen.push(m.eventId);
    else if (name !== null) out.set(m.userId, name);
  }
  if (unseen.length === 0) return out;
  if (namesByEvent.size + unseen.length > MAX_NAMES) namesByEvent.clear();
  for (let i = 0; i < unseen.length; i += CHUNK) {
    for (const e of await tables.events.getMany(unseen.slice(i, i + CHUNK))) {
      const name = objectAt(e.pdu, "content")?.displayname;
      namesByEvent.set(e.eventId, typeof name === "string" ? name : null);
      if (typeof name === "string" && e.stateKey !== null) out.set(e.stateKey, name);
    }
  }
  return out;
}

/**
 * Evaluates `event` for the local users it may notify and stores the notifying ones. `state` is the room's state
 * before the event (the power levels the sender's permission is read from); `members` the room's joined and invited
 * members with the event applied.
 */
export async function recordPushActions(
  tables: Tables,
  serverName: string,
  event: StoredEvent,
  state: StateLookup,
  v: RoomVersion,
  members: readonly MembershipRecord[],
): Promise<void> {
  const content = objectAt(event.pdu, "content") ?? {};
  if (event.type === "m.room.redaction") await forgetRedacted(tables, event, content);
  const isLocal = (userId: string) => userId.endsWith(`:${serverName}`);
  const joined = members.filter((m) => m.membership === "join");
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
  const displayNames =
    typeof content.body === "string" ? await displayNamesOf(tables, users) : new Map<string, string>();
  const pl = PowerLevels.from(state, v);
  const base: PushEnvironment = {
    displayName: null,
    joinedMemberCount: joined.length,
    senderPowerLevel: pl.user(event.sender),
    notificationLevels: state("m.room.power_levels", "")?.content.notifications,
  };
  const stored = await tables.pushRules.forUsers(candidates);
  // Users without stored rules all have the server's defaults: one shared verdict for all of them.
  let forDefaults: SharedVerdict | null = null;
  const notified: Notified[] = [];
  for (const userId of candidates) {
    const own = stored.get(userId);
    const ruleset = compiledRulesetOf(userId, own);
    const verdict = own ? ruleset.shared(flat, base) : (forDefaults ??= ruleset.shared(flat, base));
    const outcome = ruleset.outcomeFor(verdict, flat, { ...base, displayName: displayNames.get(userId) ?? null });
    if (outcome.notify) notified.push({ userId, highlight: outcome.highlight });
  }
  await tables.eventPushActions.insertForEvent(
    { roomId: event.roomId, streamOrdering: event.streamOrdering, threadId: threadOf(content) },
    notified,
  );
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
