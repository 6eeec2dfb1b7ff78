/**
 * What the end-to-end encryption tests with real clients share: a server behind the validating proxy, matrix-js-sdk
 * clients with the Rust crypto Element runs (in memory), second logins of the same user, and waits for decrypted
 * messages. SQLite only: these tests are slow, and the feature tests cover PostgreSQL.
 */
import {
  ClientEvent,
  createClient,
  KnownMembership,
  Preset,
  MatrixEventEvent,
  RoomEvent,
  type MatrixClient,
  type MatrixEvent,
  type SecretStorage,
} from "matrix-js-sdk";
import { logger as sdkLogger } from "matrix-js-sdk/lib/logger.js";
import { expect } from "vitest";
import { NO_LIMITS, OPEN_REGISTRATION } from "../api/client-support.js";
import { ARRIVAL_TIMEOUT, anonymous, PASSWORD, signUp, startSyncing, until } from "../clients/sdk-support.js";
import { startProxiedServer, type ProxiedServer } from "../clients/support.js";

export { PASSWORD } from "../clients/sdk-support.js";

// The SDK's child loggers (each room's encryptor, the crypto backend) set themselves to debug and print to the
// console whatever the root logger's level; they take the root's method factory when created, so a silent factory
// keeps them quiet too. GATEHOUSE_TEST_SDK_LOG (see sdk-support.ts) turns everything back on.
if (process.env.GATEHOUSE_TEST_SDK_LOG === undefined) {
  const root = sdkLogger as unknown as {
    methodFactory: () => () => void;
    setLevel(level: string, persist: boolean): void;
  };
  root.methodFactory = () => () => undefined;
  root.setLevel("silent", false);
}

/** A server for crypto clients: open registration, and no rate limit on the many messages and key requests. */
export function startCryptoServer(): Promise<ProxiedServer> {
  const unlimited = { per_second: 10_000, burst_count: 10_000 };
  return startProxiedServer("sqlite", {
    ...NO_LIMITS,
    ...OPEN_REGISTRATION,
    rc_message: unlimited,
    rc_joins: { local: unlimited },
  });
}

/** The recovery (secret storage) key a client's callbacks hand to the SDK, shared by a user's devices. */
export interface KeyHolder {
  keyId?: string;
  key?: Uint8Array;
}

interface Session {
  user_id: string;
  access_token: string;
  device_id: string;
}

/**
 * A logged-in client with the Rust crypto, its sync loop started (resolved once the first sync is processed). The
 * secret storage key, once `keys` has one, is given to the SDK whenever it asks, as Element does after the user
 * typed the recovery key.
 */
export async function cryptoClient(url: string, session: Session, keys: KeyHolder = {}): Promise<MatrixClient> {
  const client = createClient({
    baseUrl: url,
    userId: session.user_id,
    accessToken: session.access_token,
    deviceId: session.device_id,
    logger: sdkLogger,
    cryptoCallbacks: {
      getSecretStorageKey: ({ keys: wanted }: { keys: Record<string, SecretStorage.SecretStorageKeyDescription> }) =>
        Promise.resolve(
          keys.keyId !== undefined && keys.key !== undefined && keys.keyId in wanted ? [keys.keyId, keys.key] : null,
        ),
      cacheSecretStorageKey: (keyId: string, _info: unknown, key: Uint8Array) => {
        keys.keyId = keyId;
        keys.key = key;
      },
    },
  });
  await client.initRustCrypto({ useIndexedDB: false });
  // Each initRustCrypto turns the wasm module's tracing on at debug level, for the whole process; keep warnings.
  const wasm = await import("@matrix-org/matrix-sdk-crypto-wasm");
  new wasm.Tracing(wasm.LoggerLevel.Warn).turnOn();
  await startSyncing(client);
  return client;
}

/** Signs `username` up and starts a crypto client on that first device. */
export async function newCryptoUser(url: string, username: string, keys: KeyHolder = {}): Promise<MatrixClient> {
  const r = await signUp(url, username);
  return cryptoClient(url, { user_id: r.user_id, access_token: r.access_token!, device_id: r.device_id! }, keys);
}

/** A new device of an existing user: a password login, then a crypto client on it. */
export async function newDevice(url: string, username: string, keys: KeyHolder = {}): Promise<MatrixClient> {
  const login = await anonymous(url).loginRequest({
    type: "m.login.password",
    identifier: { type: "m.id.user", user: username },
    password: PASSWORD,
  });
  return cryptoClient(url, login, keys);
}

/** The UIA password stage for `client`'s user, as Element answers the server's challenge. */
export function passwordAuth(client: MatrixClient, session?: string): Record<string, unknown> {
  return {
    type: "m.login.password",
    identifier: { type: "m.id.user", user: client.getUserId() },
    password: PASSWORD,
    ...(session === undefined ? {} : { session }),
  };
}

/** The content of `m.room.encryption` for megolm, as Element sets it in a new private room. */
export const MEGOLM = { algorithm: "m.megolm.v1.aes-sha2" };

/** Why an event could not be decrypted, or its clear body; undefined while the SDK has not tried yet. */
function clearBody(event: MatrixEvent): string | undefined {
  if (!event.isEncrypted()) return undefined;
  const clear = event.getClearContent();
  return typeof clear?.body === "string" ? clear.body : undefined;
}

/**
 * Resolves with the event in `roomId` that arrived encrypted and that `client` decrypted to `body`. Checked now and
 * after every sync, timeline event and decryption; the timeout's error lists what the client holds instead (the
 * decryption failures say why, e.g. a missing room key).
 */
export function decryptedMessage(
  client: MatrixClient,
  roomId: string,
  body: string,
  timeoutMs = ARRIVAL_TIMEOUT,
): Promise<MatrixEvent> {
  const find = () =>
    client
      .getRoom(roomId)
      ?.getLiveTimeline()
      .getEvents()
      .find((e) => clearBody(e) === body);
  return new Promise<MatrixEvent>((resolve, reject) => {
    const check = () => {
      const found = find();
      if (!found) return;
      done();
      resolve(found);
    };
    const timer = setTimeout(() => {
      done();
      const held = (client.getRoom(roomId)?.getLiveTimeline().getEvents() ?? [])
        .filter((e) => e.isEncrypted())
        .map((e) => `${e.getId()} from ${e.getSender()}: ${e.decryptionFailureReason ?? clearBody(e) ?? "pending"}`);
      reject(
        new Error(
          `${client.getUserId()}/${client.getDeviceId()} waited ${timeoutMs} ms to decrypt "${body}"; ` +
            `encrypted events it holds: ${held.join("; ") || "none"}`,
        ),
      );
    }, timeoutMs);
    const done = () => {
      clearTimeout(timer);
      client.off(ClientEvent.Sync, check);
      client.off(RoomEvent.Timeline, check);
      client.off(MatrixEventEvent.Decrypted, check);
    };
    client.on(ClientEvent.Sync, check);
    client.on(RoomEvent.Timeline, check);
    client.on(MatrixEventEvent.Decrypted, check);
    check();
  });
}

/** Stops clients started here, whatever state a failed test left them in. */
export function stopAll(...clients: (MatrixClient | undefined)[]): void {
  for (const c of clients) c?.stopClient();
}

/**
 * `p`, marked as handled: a wait set up before the action it waits for must not turn into an unhandled rejection
 * when that action fails first (the test then fails on the action's own error); awaiting `p` still throws.
 */
export function later<T>(p: Promise<T>): Promise<T> {
  p.catch(() => undefined);
  return p;
}

/**
 * With GATEHOUSE_TEST_E2EE_REQUESTS=1, prints every request the clients made that the server refused (method,
 * path, status): the list of what a real client still misses, for whoever finishes the server side.
 */
export function reportRefusals(hs: ProxiedServer | undefined): void {
  if (!process.env.GATEHOUSE_TEST_E2EE_REQUESTS || !hs) return;
  const refused = hs.proxy.requests.filter((r) => (r.status ?? 0) >= 400);
  const lines = [
    ...new Set(
      refused.map(
        (r) =>
          `${r.method} ${r.path.replace(/\/(?:!|%21)[^/]+/, "/{roomId}").replace(/\/(sendToDevice\/[^/]+|send\/[^/]+)\/[^/]+$/, "/$1/{txnId}")} ${r.status}`,
      ),
    ),
  ];
  console.log(`refused requests:\n${lines.join("\n") || "none"}`);
}

/**
 * A private megolm room `owner` creates with `others` invited and joined, resolved once `owner` sees every join
 * and each of them sees the room's encryption.
 */
export async function sharedEncryptedRoom(owner: MatrixClient, ...others: MatrixClient[]): Promise<string> {
  let roomId = "";
  const invited = others.map((c) =>
    later(until(c, "the invite", () => c.getRoom(roomId)?.getMyMembership() === KnownMembership.Invite)),
  );
  ({ room_id: roomId } = await owner.createRoom({
    preset: Preset.PrivateChat,
    invite: others.map((c) => c.getUserId()!),
    initial_state: [{ type: "m.room.encryption", state_key: "", content: MEGOLM }],
  }));
  await Promise.all(invited);
  for (const c of others) {
    await c.joinRoom(roomId);
    await until(owner, "the join", () => owner.getRoom(roomId)?.getMember(c.getUserId()!)?.membership === "join");
    await until(c, "the room's encryption", () => c.getRoom(roomId)?.hasEncryptionStateEvent());
  }
  return roomId;
}

/**
 * Resolves with what `condition` (async, which `until` cannot take) gives once it is truthy: tried now, after each
 * sync `client` processes, and every 250 ms (the client's crypto also learns things from its own /keys/query
 * requests, between syncs); fails after `timeoutMs` with `what`.
 */
export async function eventually<T>(
  client: MatrixClient,
  what: string,
  condition: () => Promise<T | undefined | null | false>,
  timeoutMs = ARRIVAL_TIMEOUT,
): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await condition();
    if (value !== undefined && value !== null && value !== false) return value;
    const left = deadline - performance.now();
    if (left <= 0) throw new Error(`${client.getUserId()}/${client.getDeviceId()} waited ${timeoutMs} ms for: ${what}`);
    let checks = 0;
    await until(client, what, () => ++checks > 1, Math.min(250, left)).catch(() => undefined);
  }
}

/** A joined room as the server's own initial /sync reports it to `client` now (no filter): the server's view. */
export interface ServerRoomView {
  unread_notifications?: { notification_count?: number; highlight_count?: number };
}

export async function serverRoomView(
  hs: ProxiedServer,
  client: MatrixClient,
  roomId: string,
): Promise<ServerRoomView | undefined> {
  const r = await fetch(`${hs.url}/_matrix/client/v3/sync?timeout=0`, {
    headers: { Authorization: `Bearer ${client.getAccessToken()}` },
  });
  if (r.status !== 200) throw new Error(`GET /sync: ${r.status} ${await r.text()}`);
  const body = (await r.json()) as { rooms?: { join?: Record<string, ServerRoomView> } };
  return body.rooms?.join?.[roomId];
}

/**
 * `expectNoSpecMismatches`, except for one gap in the spec's schema: cross_signing.yaml lists no 401 for
 * `POST /keys/device_signing/upload`, although its description says the endpoint uses User-Interactive Auth and
 * Synapse answers replacing a master key with the UIA 401 (`session`, `flows`) that Element's callback answers.
 * Only that status with a UIA body is excused; anything else off-spec still fails.
 */
export async function expectNoSpecMismatchesButUia(hs: ProxiedServer): Promise<void> {
  await hs.proxy.settled();
  const gap = /^POST \/_matrix\/client\/(?:v3|unstable)\/keys\/device_signing\/upload → 401 /;
  const left = hs.proxy.mismatches.filter((m) => !(gap.test(m) && m.includes('"session"') && m.includes('"flows"')));
  expect(left, left.join("\n\n")).toEqual([]);
}
