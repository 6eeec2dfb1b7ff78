/**
 * matrix-js-sdk clients for the real-client tests: sign-up as the SDK does it, logged-in clients with the Rust
 * crypto Element and Cinny run, their sync loops, and waits on the SDK's own events (never on sleeps).
 */
import {
  ClientEvent,
  createClient,
  RoomEvent,
  SyncState,
  type MatrixClient,
  type MatrixEvent,
  type RegisterResponse,
  type Room,
} from "matrix-js-sdk";
import { logger as sdkLogger } from "matrix-js-sdk/lib/logger.js";

// The SDK logs every request and sync state at debug level through loglevel (a root logger its index does not
// export); failures surface as rejected calls and SyncState.Error instead. To see the SDK's own log, run with
// GATEHOUSE_TEST_SDK_LOG=debug (or info, warn, error).
(sdkLogger as unknown as { setLevel(level: string, persist?: boolean): void }).setLevel(
  process.env.GATEHOUSE_TEST_SDK_LOG ?? "silent",
  false,
);

export const PASSWORD = "correct horse battery staple";

/** How long a change may take to reach another client through its sync loop before the test fails. */
export const ARRIVAL_TIMEOUT = 20_000;

/** A client with no credentials, as a sign-up or login screen has. */
export function anonymous(url: string): MatrixClient {
  return createClient({ baseUrl: url, logger: sdkLogger });
}

export function loggedIn(url: string, r: { user_id: string; access_token?: string; device_id?: string }): MatrixClient {
  return createClient({
    baseUrl: url,
    userId: r.user_id,
    accessToken: r.access_token,
    deviceId: r.device_id,
    logger: sdkLogger,
  });
}

/** The UIA sign-up with the dummy stage: ask, then answer with the session. */
export async function signUp(url: string, username: string, password = PASSWORD): Promise<RegisterResponse> {
  const client = anonymous(url);
  const challenge = await client.registerRequest({ username, password }).then(
    () => {
      throw new Error("registration without auth succeeded");
    },
    (e: unknown) => (e as { data: { session: string } }).data,
  );
  return client.register(username, password, challenge.session, { type: "m.login.dummy" });
}

/**
 * A signed-up user's client as Element starts it: the Rust crypto (in memory), then the sync loop, resolved once
 * the first sync is processed (SyncState.Prepared); a sync error rejects instead.
 */
export async function startElementLike(url: string, username: string): Promise<MatrixClient> {
  const client = loggedIn(url, await signUp(url, username));
  await client.initRustCrypto({ useIndexedDB: false });
  // Each initRustCrypto turns the wasm module's tracing on at debug level, for the whole process; keep warnings.
  const wasm = await import("@matrix-org/matrix-sdk-crypto-wasm");
  new wasm.Tracing(wasm.LoggerLevel.Warn).turnOn();
  await startSyncing(client);
  return client;
}

/** Starts the client's sync loop; resolves once its first sync is processed, rejects on a sync error. */
export async function startSyncing(client: MatrixClient, initialSyncLimit = 20): Promise<void> {
  const prepared = new Promise<void>((resolve, reject) => {
    client.on(ClientEvent.Sync, (state, _prev, data) => {
      if (state === SyncState.Prepared) resolve();
      if (state === SyncState.Error) reject(new Error(`${client.getUserId()}'s sync failed: ${String(data?.error)}`));
    });
  });
  await client.startClient({ initialSyncLimit, lazyLoadMembers: true });
  await prepared;
}

/**
 * Resolves once `condition` holds for `client`: checked now, then after each sync response it processes and each
 * timeline event it adds. Register it before making the change, so nothing can arrive unseen.
 */
export function until<T>(
  client: MatrixClient,
  what: string,
  condition: () => T | undefined | null | false,
  timeoutMs = ARRIVAL_TIMEOUT,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const check = () => {
      let value: T | undefined | null | false;
      try {
        value = condition();
      } catch (e) {
        done();
        reject(e instanceof Error ? e : new Error(String(e)));
        return;
      }
      if (value !== undefined && value !== null && value !== false) {
        done();
        resolve(value);
      }
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`${client.getUserId()} waited ${timeoutMs} ms for: ${what}`));
    }, timeoutMs);
    const done = () => {
      clearTimeout(timer);
      client.off(ClientEvent.Sync, check);
      client.off(RoomEvent.Timeline, check);
    };
    client.on(ClientEvent.Sync, check);
    client.on(RoomEvent.Timeline, check);
    check();
  });
}

/**
 * The next event the SDK adds to the live timeline of `roomId` (not back-paginated, not a local echo) that
 * `match` accepts. Call it before the change it waits for.
 */
export function nextTimelineEvent(
  client: MatrixClient,
  roomId: string,
  what: string,
  match: (event: MatrixEvent) => boolean,
  timeoutMs = ARRIVAL_TIMEOUT,
): Promise<MatrixEvent> {
  return new Promise<MatrixEvent>((resolve, reject) => {
    const listener = (event: MatrixEvent, room: Room | undefined, toStartOfTimeline: boolean | undefined) => {
      if (room?.roomId !== roomId || toStartOfTimeline || event.status !== null || !match(event)) return;
      done();
      resolve(event);
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`${client.getUserId()} waited ${timeoutMs} ms for the timeline event: ${what}`));
    }, timeoutMs);
    const done = () => {
      clearTimeout(timer);
      client.off(RoomEvent.Timeline, listener);
    };
    client.on(RoomEvent.Timeline, listener);
  });
}

/** The text bodies of a room's live timeline as the SDK holds it, oldest first. */
export function bodies(client: MatrixClient, roomId: string): string[] {
  const room = client.getRoom(roomId);
  if (!room) return [];
  return room
    .getLiveTimeline()
    .getEvents()
    .filter((e) => e.getType() === "m.room.message" && !e.isRedacted())
    .map((e) => e.getContent().body as string);
}
