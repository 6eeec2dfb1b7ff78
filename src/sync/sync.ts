/**
 * @module `GET /sync` (spec "Syncing"): the user's account data, device-list changes and key counts, with a real
 * long-poll.
 *
 * The parts:
 *
 * - `rooms`: joined rooms, invites and rooms left (src/sync/rooms.ts).
 * - `account_data`: all of it (plus the push rules as `m.push_rules`) on an initial or `full_state` sync; what was
 *   written after `since` on an incremental one. The filter's `account_data.types`/`not_types` apply.
 * - `device_lists`: whose devices changed after `since` among the users the user shares a room with, and who no
 *   longer shares one (src/sync/device-lists.ts).
 * - `presence`: the user's and their room-mates' presence (src/sync/presence.ts), which `set_presence` changes.
 * - `device_one_time_keys_count` and `device_unused_fallback_key_types` for the requesting device, always
 *   (`signed_curve25519` always counted, as Synapse does for Element Android's sake).
 * - `to_device`: the requesting device's queued messages (src/sync/to-device.ts).
 *
 * An incremental sync with nothing new waits up to `timeout` ms (capped at `MAX_TIMEOUT_MS`) and returns as soon as
 * one of the user's changes is committed (`notifyUser`); an initial sync, a `full_state` sync or `timeout=0`
 * returns at once. The caller's `AbortSignal` (the client went away, the server is stopping) ends the wait early.
 */
import { performance } from "node:perf_hooks";
import type { Requester } from "../accounts/auth.js";
import type { AccountsContext } from "../accounts/context.js";
import { ErrCode, MatrixError } from "../errors.js";
import { parseBoolean, QUERY_BOOLEAN } from "../shared/truth.js";
import { accountDataTypeAllowed, resolveSyncFilter, timelineLimit, type FilterJson } from "./filters.js";
import { withInitialReads } from "./initial-reads.js";
import { PUSH_RULES_TYPE } from "./account-data.js";
import { pushRulesContent } from "../push/rules.js";
import type { Tables } from "../db/stores.js";
import { recentEventsOf } from "./recent-events.js";
import { keyCountsAt } from "./key-counts.js";
import { isEmpty, syncRooms, type RoomsSection } from "./rooms.js";
import { deviceListsBetween, type DeviceListsDelta } from "./device-lists.js";
import { formatStreamToken, parseStreamToken } from "./stream.js";
import { toDeviceEvents, type ToDeviceEvent } from "./to-device.js";
import { PRESENCE_STATES, presenceSection, syncing, type PresenceEvent } from "./presence.js";
import { firstIncremental, noteInitialSync } from "./first-sync.js";
import type { PresenceState } from "../db/presence.js";

/** The longest a sync is held, whatever `timeout` asks: reverse proxies commonly give up at 60 s. */
export const MAX_TIMEOUT_MS = 60_000;

export interface AccountDataEvent {
  type: string;
  content: Record<string, unknown>;
}

/** https://spec.matrix.org/v1.16/client-server-api/#get_matrixclientv3sync */
export interface SyncResponse {
  next_batch: string;
  rooms: RoomsSection;
  presence: { events: PresenceEvent[] };
  account_data: { events: AccountDataEvent[] };
  to_device: { events: ToDeviceEvent[] };
  device_lists: { changed: string[]; left: string[] };
  device_one_time_keys_count: Record<string, number>;
  device_unused_fallback_key_types: string[];
}

export interface SyncParams {
  filter: FilterJson;
  /** The position of `since`, or null for an initial sync. */
  since: number | null;
  timeoutMs: number;
  fullState: boolean;
  /** `set_presence`: what this sync makes the user's presence (`offline` leaves it alone). */
  setPresence: PresenceState;
}

function firstString(query: Record<string, unknown>, name: string): string | undefined {
  const v = query[name];
  const s: unknown = Array.isArray(v) ? v[0] : v;
  return typeof s === "string" ? s : undefined;
}

/** Reads `/sync`'s query parameters with Synapse's errors for each malformed one. */
export async function parseSyncParams(
  ctx: AccountsContext,
  userId: string,
  query: Record<string, unknown>,
): Promise<SyncParams> {
  if (query.from !== undefined) {
    throw new MatrixError(ErrCode.Unknown, "'from' is not a valid query parameter. Did you mean 'since'?");
  }
  let timeoutMs = 0;
  const timeout = firstString(query, "timeout");
  if (timeout !== undefined) {
    if (!/^-?\d+$/.test(timeout)) {
      throw new MatrixError(ErrCode.InvalidParam, "Query parameter 'timeout' must be an integer.");
    }
    timeoutMs = Math.min(Math.max(0, Number(timeout)), MAX_TIMEOUT_MS);
  }
  const presence = firstString(query, "set_presence");
  if (presence !== undefined && !PRESENCE_STATES.includes(presence as PresenceState)) {
    throw new MatrixError(
      ErrCode.InvalidParam,
      `Query parameter 'set_presence' must be one of [${PRESENCE_STATES.map((s) => `'${s}'`).join(", ")}]`,
    );
  }
  const fullStateParam = firstString(query, "full_state");
  const fullState = fullStateParam === undefined ? false : parseBoolean(fullStateParam, QUERY_BOOLEAN);
  if (fullState === null) {
    throw new MatrixError(
      ErrCode.InvalidParam,
      "Boolean query parameter 'full_state' must be one of ['true', 'false']",
    );
  }
  const sinceParam = firstString(query, "since");
  let since: number | null = null;
  if (sinceParam !== undefined) {
    since = parseStreamToken(sinceParam);
    if (since === null) throw new MatrixError(ErrCode.InvalidParam, "Invalid stream token");
  }
  const filter = await resolveSyncFilter(ctx, userId, firstString(query, "filter"));
  return { filter, since, timeoutMs, fullState, setPresence: (presence ?? "online") as PresenceState };
}

interface Delta {
  position: number;
  accountData: AccountDataEvent[];
  deviceLists: DeviceListsDelta;
  rooms: RoomsSection;
  toDevice: ToDeviceEvent[];
  presence: PresenceEvent[];
}

async function collect(ctx: AccountsContext, requester: Requester, params: SyncParams): Promise<Delta> {
  const userId = requester.userId;
  const { stores } = ctx;
  // An incremental sync reads the new events from the cache the other syncs it woke read them into; an initial one
  // reads what it needs of every room in a few statements first.
  const cache = recentEventsOf(stores);
  const position = await cache.position(stores);
  // A token from the future (a restored database) counts as "now": the client resumes from here.
  const since = params.since === null ? null : Math.min(params.since, position);
  await cache.cover(stores, position);
  let tables: Tables = stores;
  if (since === null || params.fullState) {
    // Together: neither reads what the other stores.
    [, tables] = await Promise.all([
      cache.prefetch(stores, userId),
      withInitialReads(cache.cachedTables(stores), requester, position, timelineLimit(params.filter)),
    ]);
  } else if (cache.holds(since, position)) {
    tables = cache.cachedTables(stores);
  }
  let accountData: AccountDataEvent[];
  if (since === null || params.fullState) {
    const all = await stores.accountData.listForUser(userId);
    accountData = [
      { type: PUSH_RULES_TYPE, content: { ...(await pushRulesContent(stores, userId)) } },
      ...all.filter((e) => e.type !== PUSH_RULES_TYPE).map((e) => ({ type: e.type, content: e.content })),
    ];
  } else {
    const changed = await tables.accountData.changedBetween(userId, since, position);
    accountData = changed.map((e) => ({ type: e.type, content: e.content }));
  }
  accountData = accountData.filter((e) => accountDataTypeAllowed(params.filter, e.type));
  const deviceLists =
    since === null ? { changed: [], left: [] } : await deviceListsBetween(tables, userId, since, position);
  const rooms = await syncRooms(tables, {
    reader: requester,
    filter: params.filter,
    since,
    position,
    fullState: params.fullState,
    now: ctx.now(),
  });
  const toDevice = await toDeviceEvents(stores, requester, since, position, (a, b) => cache.onlyEvents(a, b));
  const presenceSince = params.fullState ? null : since;
  const presence = await presenceSection(ctx, tables, {
    userId,
    since: presenceSince,
    position,
    filter: params.filter,
  });
  return { position, accountData, deviceLists, rooms, toDevice, presence };
}

function hasNews(delta: Delta): boolean {
  return (
    delta.accountData.length > 0 ||
    delta.deviceLists.changed.length > 0 ||
    delta.deviceLists.left.length > 0 ||
    !isEmpty(delta.rooms) ||
    delta.toDevice.length > 0 ||
    delta.presence.length > 0
  );
}

async function respond(ctx: AccountsContext, requester: Requester, delta: Delta): Promise<SyncResponse> {
  const deviceId = requester.deviceId;
  const cache = recentEventsOf(ctx.stores);
  const keys =
    deviceId === null
      ? null
      : await keyCountsAt(ctx, requester.userId, deviceId, delta.position, (a, b) => cache.onlyEvents(a, b));
  return {
    next_batch: formatStreamToken(delta.position),
    rooms: delta.rooms,
    presence: { events: delta.presence },
    account_data: { events: delta.accountData },
    to_device: { events: delta.toDevice },
    device_lists: delta.deviceLists,
    device_one_time_keys_count: keys?.oneTimeKeyCounts ?? {},
    device_unused_fallback_key_types: keys?.unusedFallbackKeyTypes ?? [],
  };
}

export async function sync(
  ctx: AccountsContext,
  requester: Requester,
  params: SyncParams,
  signal?: AbortSignal,
): Promise<SyncResponse> {
  const userId = requester.userId;
  if (params.since === null) {
    const delta = await collect(ctx, requester, params);
    await noteInitialSync(ctx, requester, delta.position);
    // After the position was read: coming online is news for the next sync (src/sync/first-sync.ts).
    await syncing(ctx, userId, params.setPresence, params.timeoutMs);
    return respond(ctx, requester, delta);
  }
  await syncing(ctx, userId, params.setPresence, params.timeoutMs);
  const waits = !params.fullState && params.timeoutMs > 0 && !(await firstIncremental(ctx, requester, params.since));
  if (!waits) return respond(ctx, requester, await collect(ctx, requester, params));

  // Subscribed before the first read, so a change committed between the read and the wait still wakes us.
  const subscription = ctx.syncNotifier.subscribe(userId);
  try {
    const deadline = performance.now() + params.timeoutMs;
    for (;;) {
      subscription.reset();
      const delta = await collect(ctx, requester, params);
      const remaining = deadline - performance.now();
      if (hasNews(delta) || remaining <= 0 || signal?.aborted) return await respond(ctx, requester, delta);
      const reason = await subscription.wait(remaining, signal);
      if (reason === "aborted") return await respond(ctx, requester, delta);
    }
  } finally {
    subscription.close();
  }
}
