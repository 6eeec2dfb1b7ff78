/**
 * @module The authorization rules of room versions 8–11 (spec "Room Versions → Authorization rules", the v8 rules
 * with v10's integer power levels and `knock_restricted`, and v11's create event): whether an event may enter a
 * room given the room's state before it.
 *
 * Signature checks and the consistency of `auth_events` with the selection algorithm belong to receiving events
 * over federation; here every event is built locally from the state it is checked against, so those steps (rule 2
 * but for "has a create event", and rule 4.2) have nothing to check yet. Third-party invites are refused until
 * they are supported, with a reason saying so.
 */
import { isValidUserId } from "./ids.js";
import type { RoomVersion } from "./room-versions.js";
import { ROOM_VERSIONS } from "./room-versions.js";

/** The parts of an event (PDU or not yet hashed) that authorization reads. */
export interface AuthEvent {
  event_id?: string;
  room_id: string;
  type: string;
  sender: string;
  state_key?: string;
  content: Record<string, unknown>;
  prev_events?: string[];
}

/** The room's state before the event: one event per (type, state key), or undefined. */
export type StateLookup = (type: string, stateKey: string) => AuthEvent | undefined;

export class AuthError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = "AuthError";
  }
}

function domainOf(id: string): string {
  return id.slice(id.indexOf(":") + 1);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** A power level value: an integer, or before v10 also a string holding one (Synapse's `int()` accepts those). */
function levelOf(value: unknown, v: RoomVersion): number | null {
  if (typeof value === "number" && Number.isInteger(value)) return value;
  if (!v.integerPowerLevels && typeof value === "string" && /^\s*[+-]?\d+\s*$/.test(value)) return Number(value);
  return null;
}

/** Reads the room's power levels, applying the spec's defaults when the event or a key is absent. */
export class PowerLevels {
  constructor(
    private readonly content: Record<string, unknown> | null,
    private readonly create: AuthEvent | undefined,
    private readonly v: RoomVersion,
  ) {}

  static from(state: StateLookup, v: RoomVersion): PowerLevels {
    return new PowerLevels(state("m.room.power_levels", "")?.content ?? null, state("m.room.create", ""), v);
  }

  private field(key: string, fallback: number): number {
    return (this.content && levelOf(this.content[key], this.v)) ?? fallback;
  }

  get ban(): number {
    return this.field("ban", 50);
  }
  get kick(): number {
    return this.field("kick", 50);
  }
  get invite(): number {
    return this.field("invite", 0);
  }
  get redact(): number {
    return this.field("redact", 50);
  }

  /** The creator has 100 only while no power levels event exists; after that, only what it says. */
  user(userId: string): number {
    if (this.content === null) {
      const creator = this.v.v11Redactions ? this.create?.sender : this.create?.content.creator;
      return userId === creator ? 100 : 0;
    }
    const users = isObject(this.content.users) ? this.content.users : {};
    return levelOf(users[userId], this.v) ?? this.field("users_default", 0);
  }

  /** The level needed to send an event of `type`: its own entry, else state_default or events_default. */
  event(type: string, isState: boolean): number {
    const events = this.content && isObject(this.content.events) ? this.content.events : {};
    const own = levelOf(events[type], this.v);
    if (own !== null) return own;
    return isState ? this.field("state_default", this.content === null ? 0 : 50) : this.field("events_default", 0);
  }

  /** `notifications.room` and friends (default 50): who may `@room`. */
  notification(key: string): number {
    const n = this.content && isObject(this.content.notifications) ? this.content.notifications : {};
    return levelOf(n[key], this.v) ?? 50;
  }
}

function membershipOf(state: StateLookup, userId: string): string {
  const m = state("m.room.member", userId)?.content.membership;
  return typeof m === "string" ? m : "leave";
}

function joinRuleOf(state: StateLookup): string {
  const rule = state("m.room.join_rules", "")?.content.join_rule;
  return typeof rule === "string" ? rule : "invite";
}

function checkCreate(event: AuthEvent): void {
  if ((event.prev_events?.length ?? 0) > 0) throw new AuthError("The create event must be the first in the room");
  if (domainOf(event.room_id) !== domainOf(event.sender)) {
    throw new AuthError("The creator's server must be the room ID's");
  }
  const version = event.content.room_version;
  if (version !== undefined && (typeof version !== "string" || !ROOM_VERSIONS.has(version))) {
    throw new AuthError("Unknown room version");
  }
  const v = ROOM_VERSIONS.get(typeof version === "string" ? version : "1")!;
  if (!v.v11Redactions && typeof event.content.creator !== "string") {
    throw new AuthError("The create event has no creator");
  }
}

function checkJoin(event: AuthEvent, state: StateLookup, v: RoomVersion, pl: PowerLevels): void {
  const create = state("m.room.create", "")!;
  const creator = v.v11Redactions ? create.sender : create.content.creator;
  const prev = event.prev_events ?? [];
  if (prev.length === 1 && prev[0] === create.event_id && event.state_key === creator) return;
  if (event.sender !== event.state_key) throw new AuthError("Cannot make another user join");
  const current = membershipOf(state, event.sender);
  if (current === "ban") throw new AuthError("You are banned from this room");
  const rule = joinRuleOf(state);
  if (rule === "public") return;
  if (current === "join" || current === "invite") {
    if (rule === "invite" || rule === "knock") return;
    if (v.restrictedJoins && (rule === "restricted" || (v.knockRestricted && rule === "knock_restricted"))) return;
  }
  if (v.restrictedJoins && (rule === "restricted" || (v.knockRestricted && rule === "knock_restricted"))) {
    const via = event.content.join_authorised_via_users_server;
    if (typeof via !== "string") throw new AuthError("You are not invited to this room");
    if (membershipOf(state, via) !== "join" || pl.user(via) < pl.invite) {
      throw new AuthError("The authorising user cannot invite to this room");
    }
    return;
  }
  throw new AuthError("You are not invited to this room");
}

function checkMember(event: AuthEvent, state: StateLookup, v: RoomVersion): void {
  const membership = event.content.membership;
  if (typeof event.state_key !== "string" || typeof membership !== "string") {
    throw new AuthError("A member event needs a state key and a membership");
  }
  const pl = PowerLevels.from(state, v);
  const target = event.state_key;
  const senderMembership = membershipOf(state, event.sender);
  const targetMembership = membershipOf(state, target);
  switch (membership) {
    case "join":
      checkJoin(event, state, v, pl);
      return;
    case "invite":
      if ("third_party_invite" in event.content) throw new AuthError("Third-party invites are not supported");
      if (senderMembership !== "join") throw new AuthError("You are not in this room");
      if (targetMembership === "join") throw new AuthError(`${target} is already in the room`);
      if (targetMembership === "ban") throw new AuthError(`${target} is banned from the room`);
      if (pl.user(event.sender) < pl.invite) throw new AuthError("You do not have permission to invite");
      return;
    case "leave":
      if (event.sender === target) {
        if (
          senderMembership === "join" ||
          senderMembership === "invite" ||
          (v.knocking && senderMembership === "knock")
        ) {
          return;
        }
        throw new AuthError("You are not in this room");
      }
      if (senderMembership !== "join") throw new AuthError("You are not in this room");
      if (targetMembership === "ban" && pl.user(event.sender) < pl.ban) {
        throw new AuthError("You do not have permission to unban");
      }
      if (pl.user(event.sender) >= pl.kick && pl.user(target) < pl.user(event.sender)) return;
      throw new AuthError("You do not have permission to kick this user");
    case "ban":
      if (senderMembership !== "join") throw new AuthError("You are not in this room");
      if (pl.user(event.sender) >= pl.ban && pl.user(target) < pl.user(event.sender)) return;
      throw new AuthError("You do not have permission to ban this user");
    case "knock": {
      const rule = joinRuleOf(state);
      if (!v.knocking || !(rule === "knock" || (v.knockRestricted && rule === "knock_restricted"))) {
        throw new AuthError("This room does not accept knocks");
      }
      if (event.sender !== target) throw new AuthError("Cannot knock for another user");
      if (senderMembership === "ban" || senderMembership === "invite" || senderMembership === "join") {
        throw new AuthError(`You cannot knock while your membership is ${senderMembership}`);
      }
      return;
    }
    default:
      throw new AuthError(`Unknown membership "${membership}"`);
  }
}

const PL_FIELDS = ["users_default", "events_default", "state_default", "ban", "redact", "kick", "invite"];

function checkPowerLevelsShape(content: Record<string, unknown>, v: RoomVersion): void {
  if (v.integerPowerLevels) {
    for (const key of PL_FIELDS) {
      if (key in content && levelOf(content[key], v) === null) throw new AuthError(`"${key}" must be an integer`);
    }
    for (const key of ["events", "notifications"]) {
      if (!(key in content)) continue;
      const map = content[key];
      if (!isObject(map) || Object.values(map).some((x) => levelOf(x, v) === null)) {
        throw new AuthError(`"${key}" must map names to integers`);
      }
    }
  }
  if ("users" in content) {
    const users = content.users;
    if (!isObject(users)) throw new AuthError('"users" must map user IDs to power levels');
    for (const [userId, level] of Object.entries(users)) {
      if (!isValidUserId(userId) || levelOf(level, v) === null) {
        throw new AuthError('"users" must map user IDs to power levels');
      }
    }
  }
}

function checkPowerLevelsChange(event: AuthEvent, state: StateLookup, v: RoomVersion): void {
  const before = state("m.room.power_levels", "");
  if (!before) return;
  const mine = PowerLevels.from(state, v).user(event.sender);
  const old = before.content;
  const next = event.content;
  const read = (o: Record<string, unknown>, key: string) => (key in o ? levelOf(o[key], v) : null);
  for (const key of PL_FIELDS) {
    const a = read(old, key);
    const b = read(next, key);
    if (a === b) continue;
    if ((a !== null && a > mine) || (b !== null && b > mine)) {
      throw new AuthError(`You cannot change "${key}" beyond your own power level`);
    }
  }
  for (const key of ["events", "notifications"]) {
    const a = isObject(old[key]) ? old[key] : {};
    const b = isObject(next[key]) ? next[key] : {};
    for (const name of new Set([...Object.keys(a), ...Object.keys(b)])) {
      const x = read(a, name);
      const y = read(b, name);
      if (x === y) continue;
      if ((x !== null && x > mine) || (y !== null && y > mine)) {
        throw new AuthError(`You cannot change the level of "${name}" beyond your own power level`);
      }
    }
  }
  const a = isObject(old.users) ? old.users : {};
  const b = isObject(next.users) ? next.users : {};
  for (const userId of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const x = read(a, userId);
    const y = read(b, userId);
    if (x === y) continue;
    if (userId !== event.sender && x !== null && x >= mine) {
      throw new AuthError(`You cannot change the power level of ${userId}, which is at least your own`);
    }
    if (y !== null && y > mine) throw new AuthError("You cannot give a power level above your own");
  }
}

/**
 * Throws `AuthError` with a reason a person can read when `event` may not enter a room whose state before it is
 * `state`; returns when it may. `v` is the room's version (for a create event, the version it names).
 */
export function checkEventAuth(event: AuthEvent, state: StateLookup, v: RoomVersion): void {
  if (event.type === "m.room.create" && event.state_key === "") {
    checkCreate(event);
    return;
  }
  const create = state("m.room.create", "");
  if (!create) throw new AuthError("The room has no create event");
  if (create.content["m.federate"] === false && domainOf(event.sender) !== domainOf(create.sender)) {
    throw new AuthError("This room is not federated");
  }
  if (event.type === "m.room.member") {
    checkMember(event, state, v);
    return;
  }
  if (membershipOf(state, event.sender) !== "join") throw new AuthError("You are not in this room");
  const pl = PowerLevels.from(state, v);
  const mine = pl.user(event.sender);
  if (event.type === "m.room.third_party_invite") {
    if (mine < pl.invite) throw new AuthError("You do not have permission to invite");
    return;
  }
  const isState = event.state_key !== undefined;
  if (pl.event(event.type, isState) > mine) {
    throw new AuthError(
      `You do not have permission to send ${isState ? "the state event" : "the event"} ${event.type}`,
    );
  }
  if (event.state_key?.startsWith("@") && event.state_key !== event.sender) {
    throw new AuthError("A state key starting with @ must be the sender's own user ID");
  }
  if (event.type === "m.room.power_levels" && event.state_key === "") {
    checkPowerLevelsShape(event.content, v);
    checkPowerLevelsChange(event, state, v);
  }
}

/**
 * The (type, state key) pairs whose current events are an event's `auth_events` (spec "Server-Server API → Auth
 * events selection"), for filling in a new PDU.
 */
export function authEventKeys(event: AuthEvent): [string, string][] {
  if (event.type === "m.room.create") return [];
  const keys: [string, string][] = [
    ["m.room.create", ""],
    ["m.room.power_levels", ""],
    ["m.room.member", event.sender],
  ];
  if (event.type === "m.room.member" && typeof event.state_key === "string") {
    keys.push(["m.room.member", event.state_key]);
    const m = event.content.membership;
    if (m === "join" || m === "invite" || m === "knock") keys.push(["m.room.join_rules", ""]);
    const via = event.content.join_authorised_via_users_server;
    if (m === "join" && typeof via === "string") keys.push(["m.room.member", via]);
  }
  const seen = new Set<string>();
  return keys.filter(([t, k]) => {
    const id = `${t}\u0000${k}`;
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}
