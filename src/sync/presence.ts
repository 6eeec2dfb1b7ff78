/**
 * @module Presence (spec "Presence"): each user's `online` / `unavailable` / `offline` state and status message,
 * shown to the user and to everyone who shares a joined room with them.
 *
 * The state lives in the `presence` table, so every `--workers` process reads and sweeps the same rows. A change
 * others must hear of takes a stream position and wakes the user and the users sharing a room with them. What only
 * keeps the state fresh (the last activity, how long the user's sync lasts) is written without a position, and at
 * most once per `LAST_ACTIVE_GRANULARITY_MS` / `SYNC_TOUCH_MS`, so a busy client does not write on every request.
 *
 * Timers, as Synapse's: online → unavailable after `IDLE_TIMER_MS` without activity; any state → offline
 * `SYNC_ONLINE_TIMEOUT_MS` after the user's last sync ended (`sweepPresence`, run by every process; each change is
 * a conditional update, so two processes sweeping at once change a row once).
 *
 * `presence.enabled: false` turns it all off, as in Synapse: nothing is stored, `/sync` sends no presence, `PUT`
 * is accepted and ignored, `GET` answers `offline`.
 */
import type { AccountsContext } from "../accounts/context.js";
import type { Requester } from "../accounts/auth.js";
import type { PresenceRecord, PresenceState } from "../db/presence.js";
import type { Stores, Tables } from "../db/stores.js";
import { ErrCode, MatrixError } from "../errors.js";
import { isValidUserId } from "../matrix/ids.js";
import { eventFilterAllows, type FilterJson } from "./filters.js";
import { recentEventsOf } from "./recent-events.js";
import { inStreamTransaction } from "./stream.js";

export const PRESENCE_STATES: readonly PresenceState[] = ["online", "unavailable", "offline"];
/** Synapse's IDLE_TIMER: online with no activity this long becomes unavailable. */
export const IDLE_TIMER_MS = 5 * 60_000;
/** Synapse's SYNC_ONLINE_TIMEOUT: this long after the last sync ended, the user is offline. */
export const SYNC_ONLINE_TIMEOUT_MS = 30_000;
/** Synapse's LAST_ACTIVE_GRANULARITY: activity within this is `currently_active`, and is written at most this often. */
export const LAST_ACTIVE_GRANULARITY_MS = 60_000;
/** A sync's end is written only when it moves by more than this: still well inside `SYNC_ONLINE_TIMEOUT_MS`. */
const SYNC_TOUCH_MS = 10_000;
const STATUS_MSG_MAX = 2048;
const SWEEP_BATCH = 500;

/** https://spec.matrix.org/v1.16/client-server-api/#mpresence (`content`) */
export interface PresenceContent {
  presence: PresenceState;
  last_active_ago?: number;
  currently_active?: boolean;
  status_msg?: string;
}

export interface PresenceEvent {
  type: "m.presence";
  sender: string;
  content: PresenceContent;
}

/** Synapse's `format_user_presence_state`, without `user_id`. */
export function formatPresence(r: PresenceRecord | null, now: number): PresenceContent {
  if (r === null) return { presence: "offline" };
  const content: PresenceContent = { presence: r.state };
  if (r.lastActiveTs > 0) content.last_active_ago = Math.max(0, now - r.lastActiveTs);
  if (r.statusMsg) content.status_msg = r.statusMsg;
  if (r.state === "online") content.currently_active = now - r.lastActiveTs < LAST_ACTIVE_GRANULARITY_MS;
  return content;
}

/**
 * Writes `next` (a change others are told of) at a new position and wakes the user and those sharing a room with
 * them. With `expected`, only if the row still has that position (a sweep); returns whether it wrote.
 */
async function publish(
  ctx: AccountsContext,
  next: Omit<PresenceRecord, "streamId">,
  expected?: number,
): Promise<boolean> {
  const audience = await ctx.stores.presence.usersSharingRoom(next.userId);
  return inStreamTransaction(ctx.stores, async (tables, writer) => {
    const record = { ...next, streamId: await writer.next() };
    if (expected !== undefined) {
      if (!(await tables.presence.replaceIf(expected, record))) return false;
    } else {
      await tables.presence.put(record);
    }
    writer.wake(next.userId);
    for (const u of audience) writer.wake(u);
    return true;
  });
}

/** `PUT /presence/{userId}/status`: own presence only; the body as Synapse parses it. */
export async function putPresence(
  ctx: AccountsContext,
  requester: Requester,
  userId: string,
  body: Record<string, unknown>,
): Promise<void> {
  if (requester.userId !== userId) throw new MatrixError(ErrCode.Forbidden, "Can only set your own presence state");
  const { presence, status_msg: statusMsg, ...rest } = body;
  if (presence === undefined || Object.keys(rest).length > 0) {
    throw new MatrixError(ErrCode.Unknown, "Unable to parse state", { status: 400 });
  }
  if (statusMsg !== undefined && typeof statusMsg !== "string") {
    throw new MatrixError(ErrCode.Unknown, "status_msg must be a string.", { status: 400 });
  }
  if (typeof presence !== "string" || !PRESENCE_STATES.includes(presence as PresenceState)) {
    throw new MatrixError(ErrCode.InvalidParam, "Invalid presence state");
  }
  if (typeof statusMsg === "string" && statusMsg.length > STATUS_MSG_MAX) {
    throw new MatrixError(ErrCode.InvalidParam, `status_msg must be at most ${STATUS_MSG_MAX} characters`);
  }
  if (!ctx.presenceEnabled) return;
  const now = ctx.now();
  const current = await ctx.stores.presence.get(userId);
  const state = presence as PresenceState;
  await publish(ctx, {
    userId,
    state,
    statusMsg: statusMsg === undefined ? (current?.statusMsg ?? null) : statusMsg || null,
    lastActiveTs: state === "online" ? now : (current?.lastActiveTs ?? 0),
    syncUntil: current?.syncUntil ?? 0,
  });
}

/** `GET /presence/{userId}/status`: your own, or that of a user who shares a room with you (else 403). */
export async function getPresence(
  ctx: AccountsContext,
  requester: Requester,
  userId: string,
): Promise<PresenceContent> {
  if (!isValidUserId(userId)) throw new MatrixError(ErrCode.InvalidParam, `Invalid user ID: ${userId}`);
  if (!ctx.presenceEnabled) return { presence: "offline" };
  if (requester.userId !== userId && !(await ctx.stores.presence.shareRoom(requester.userId, userId))) {
    throw new MatrixError(ErrCode.Forbidden, "You are not allowed to see their presence.");
  }
  return formatPresence(await ctx.stores.presence.get(userId), ctx.now());
}

/**
 * The user did something (typed, sent a receipt): their last activity moves, and `unavailable` becomes `online`
 * (Synapse's `bump_presence_active_time`; `offline` stays offline).
 */
export async function bumpActive(ctx: AccountsContext, userId: string): Promise<void> {
  if (!ctx.presenceEnabled) return;
  const now = ctx.now();
  const current = await ctx.stores.presence.get(userId);
  if (current === null) return;
  if (current.state === "unavailable") {
    await publish(ctx, { ...current, state: "online", lastActiveTs: now });
  } else if (now - current.lastActiveTs >= LAST_ACTIVE_GRANULARITY_MS) {
    await ctx.stores.presence.setLastActive(userId, now);
  }
}

/**
 * A `/sync` with `set_presence` began, to last at most `timeoutMs`. `offline` leaves presence alone (Synapse's
 * `affect_presence`); `online` brings an offline user online, `unavailable` makes an online user unavailable.
 * Syncing is not activity: a user who only syncs becomes unavailable after `IDLE_TIMER_MS`, and comes back online
 * by doing something (`bumpActive`) or setting it. Returns whether others were told of a change.
 */
export async function syncing(
  ctx: AccountsContext,
  userId: string,
  setPresence: PresenceState,
  timeoutMs: number,
): Promise<boolean> {
  if (!ctx.presenceEnabled || setPresence === "offline") return false;
  const now = ctx.now();
  const syncUntil = now + timeoutMs;
  const changes = (current: PresenceRecord | null) =>
    current === null || current.state === "offline" || (setPresence === "unavailable" && current.state === "online");
  // The row as last seen here serves while nothing but events happened since (a change takes a position); a change
  // to make is decided on the row read again, as it writes the row's other fields back.
  const cache = recentEventsOf(ctx.stores);
  const position = await cache.position(ctx.stores);
  await cache.cover(ctx.stores, position);
  const known = seenRows(ctx.stores);
  const held = known.get(userId);
  let current = held && cache.onlyEvents(held.at, position) ? held.record : null;
  if (current === null || changes(current)) {
    current = await ctx.stores.presence.get(userId);
    if (known.size >= MAX_SEEN_ROWS) known.clear();
    if (current) known.set(userId, { at: position, record: current });
  }
  if (current === null || changes(current)) {
    known.delete(userId);
    const comesOnline = current === null || current.state === "offline";
    return publish(ctx, {
      userId,
      state: setPresence,
      statusMsg: current?.statusMsg ?? null,
      lastActiveTs: comesOnline && setPresence === "online" ? now : (current?.lastActiveTs ?? 0),
      syncUntil: Math.max(syncUntil, current?.syncUntil ?? 0),
    });
  }
  if (current.syncUntil < syncUntil - SYNC_TOUCH_MS) {
    await ctx.stores.presence.setSyncUntil(userId, syncUntil);
    known.set(userId, { at: position, record: { ...current, syncUntil } });
  }
  return false;
}

/** Each user's presence row as this server last read it, with the position it held at; one map per server. */
const seen = new WeakMap<Stores, Map<string, { at: number; record: PresenceRecord }>>();
/** Rows remembered at most before all are forgotten. */
const MAX_SEEN_ROWS = 100_000;

function seenRows(stores: Stores): Map<string, { at: number; record: PresenceRecord }> {
  let rows = seen.get(stores);
  if (!rows) seen.set(stores, (rows = new Map<string, { at: number; record: PresenceRecord }>()));
  return rows;
}

/**
 * Moves stale presence on: idle `online` → `unavailable`, and no sync for `SYNC_ONLINE_TIMEOUT_MS` → `offline`.
 * Safe to run in several processes at once. Returns how many users changed.
 */
export async function sweepPresence(ctx: AccountsContext): Promise<number> {
  if (!ctx.presenceEnabled) return 0;
  const now = ctx.now();
  const syncBefore = now - SYNC_ONLINE_TIMEOUT_MS;
  let changed = 0;
  for (const r of await ctx.stores.presence.stale(now - IDLE_TIMER_MS, syncBefore, SWEEP_BATCH)) {
    const state: PresenceState = r.syncUntil < syncBefore ? "offline" : "unavailable";
    if (await publish(ctx, { ...r, state }, r.streamId)) changed++;
  }
  return changed;
}

/**
 * `/sync`'s `presence.events`: on an initial sync the presence of the user and everyone sharing a room with them;
 * on an incremental one what changed in (`since`, `position`]. The filter's `presence` section applies.
 */
export async function presenceSection(
  ctx: AccountsContext,
  tables: Tables,
  p: { userId: string; since: number | null; position: number; filter: FilterJson },
): Promise<PresenceEvent[]> {
  if (!ctx.presenceEnabled) return [];
  const records =
    p.since === null
      ? await tables.presence.visibleTo(p.userId, p.position)
      : await tables.presence.changedForViewer(p.userId, p.since, p.position);
  const now = ctx.now();
  return records
    .filter((r) => eventFilterAllows(p.filter.presence, { type: "m.presence", sender: r.userId }))
    .map((r) => ({ type: "m.presence", sender: r.userId, content: formatPresence(r, now) }));
}
