/**
 * @module Change notices between Gatehouse processes on one PostgreSQL database, over `LISTEN`/`NOTIFY`.
 *
 * Two channels. `gatehouse_sessions`: a commit ended or altered sessions, so every process clears its token cache
 * (the stores send it inside the same transaction, so it is delivered exactly when the change is visible, and never
 * for a rollback). `gatehouse_sync`: something a user's `/sync` reports changed, so waiting long-polls look again.
 * Each payload starts with the sender's origin (one per set of stores), so a process skips its own notices: it
 * acted on them already.
 *
 * Each process keeps one connection of its own for `LISTEN` (not one from the pool, which may hand it out or drop
 * it). When that connection is lost, notices sent meanwhile are lost with it, so the process is told (`onState`)
 * and reconnects with a growing delay; the server bypasses its token cache until the connection is back.
 */
import { randomBytes } from "node:crypto";
import { sql, type Kysely } from "kysely";
import type { Database } from "./schema.js";
import pg from "pg";
import type { PostgresDatabaseConfig } from "../config/schema.js";
import { pgConnectionOptions } from "./database.js";

export const SESSIONS_CHANNEL = "gatehouse_sessions";
export const SYNC_CHANNEL = "gatehouse_sync";

export const LISTENER_APPLICATION_NAME = "gatehouse notices";

/** First and longest wait before reconnecting the `LISTEN` connection. */
export const RECONNECT_MIN_MS = 100;
export const RECONNECT_MAX_MS = 5_000;

export function newOrigin(): string {
  return randomBytes(9).toString("base64url");
}

/** Sends `payload` on `channel` through `db` (a transaction delivers it at commit). */
export async function sendNotice(db: Kysely<Database>, channel: string, payload: string): Promise<void> {
  await sql`select pg_notify(${channel}, ${payload})`.execute(db);
}

/** PostgreSQL refuses a notice payload of 8,000 bytes or more. */
const MAX_PAYLOAD_BYTES = 7_900;

/**
 * The sync notices that wake `userIds`: the origin, then the user IDs separated by spaces (a user ID has none), as
 * few notices as the payload limit allows.
 */
export function syncNoticePayloads(origin: string, userIds: Iterable<string>): string[] {
  const payloads: string[] = [];
  let current = origin;
  for (const userId of userIds) {
    if (current !== origin && Buffer.byteLength(current) + 1 + Buffer.byteLength(userId) > MAX_PAYLOAD_BYTES) {
      payloads.push(current);
      current = origin;
    }
    current += ` ${userId}`;
  }
  if (current !== origin) payloads.push(current);
  return payloads;
}

export interface NoticeHandlers {
  /** Another process's commit ended or altered sessions. */
  sessionsChanged(): void;
  /** Another process changed something `userId`'s sync reports. */
  syncChanged(userId: string): void;
  /** The `LISTEN` connection came up (true: from now on every notice arrives) or was lost (false). */
  onState(listening: boolean): void;
}

export interface NoticeListener {
  readonly listening: boolean;
  close(): Promise<void>;
}

/** Keeps a `LISTEN` connection to the database open, reconnecting until `close`. */
export function listenForNotices(
  database: PostgresDatabaseConfig,
  origin: string,
  handlers: NoticeHandlers,
): NoticeListener {
  const a = database.args;
  let client: pg.Client | null = null;
  let listening = false;
  let closed = false;
  let delay = RECONNECT_MIN_MS;
  let timer: NodeJS.Timeout | null = null;

  const setListening = (up: boolean) => {
    if (listening === up) return;
    listening = up;
    handlers.onState(up);
  };

  const onNotification = (msg: pg.Notification) => {
    const payload = msg.payload ?? "";
    const space = payload.indexOf(" ");
    const from = space < 0 ? payload : payload.slice(0, space);
    if (from === origin) return;
    if (msg.channel === SESSIONS_CHANNEL) handlers.sessionsChanged();
    else if (msg.channel === SYNC_CHANNEL && space >= 0) {
      for (const userId of payload.slice(space + 1).split(" ")) if (userId !== "") handlers.syncChanged(userId);
    }
  };

  const lost = (c: pg.Client) => {
    if (client !== c) return;
    client = null;
    setListening(false);
    c.removeAllListeners("notification");
    void c.end().catch(() => {});
    schedule();
  };

  const schedule = () => {
    if (closed || timer) return;
    // Jitter, so processes that lost the database together do not all come back in the same millisecond.
    const wait = delay / 2 + Math.random() * (delay / 2);
    delay = Math.min(delay * 2, RECONNECT_MAX_MS);
    timer = setTimeout(() => {
      timer = null;
      void connect();
    }, wait);
    timer.unref();
  };

  const connect = async () => {
    if (closed) return;
    const c = new pg.Client({
      ...pgConnectionOptions(a),
      // So an operator (and the tests) can tell it apart in pg_stat_activity.
      application_name: LISTENER_APPLICATION_NAME,
    });
    client = c;
    c.on("error", () => lost(c));
    c.on("end", () => lost(c));
    c.on("notification", onNotification);
    try {
      await c.connect();
      await c.query(`LISTEN ${SESSIONS_CHANNEL}; LISTEN ${SYNC_CHANNEL}`);
    } catch {
      lost(c);
      return;
    }
    // Closed, or lost and replaced, while connecting.
    if (client !== c) {
      void c.end().catch(() => {});
      return;
    }
    delay = RECONNECT_MIN_MS;
    setListening(true);
  };

  void connect();
  return {
    get listening() {
      return listening;
    },
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      const c = client;
      client = null;
      listening = false;
      if (c) {
        c.removeAllListeners("notification");
        await c.end().catch(() => {});
      }
    },
  };
}
