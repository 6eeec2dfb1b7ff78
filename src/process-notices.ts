/**
 * @module What a server does with other processes' change notices (PostgreSQL only; `src/db/notify.ts`): clear
 * the token cache when they end or alter sessions, wake waiting `/sync`s when they write what a sync reports, and
 * relay this process's own sync wake-ups to them (the admin CLI's database mode relays its own too).
 */
import type { AccountsContext } from "./accounts/context.js";
import type { Config } from "./config/schema.js";
import type { Db } from "./db/database.js";
import type { Stores } from "./db/stores.js";
import { listenForNotices, sendNotice, SYNC_CHANNEL, syncNoticePayloads } from "./db/notify.js";

export interface ProcessNotices {
  close(): Promise<void>;
}

export function startProcessNotices(config: Config, db: Db, accounts: AccountsContext): ProcessNotices {
  if (config.database.name === "sqlite3") return { close: async () => {} };
  const { sessionCache, stores, syncNotifier } = accounts;
  // Off until the LISTEN connection is up: a notice sent before then would be missed.
  sessionCache.setEnabled(false);
  const listener = listenForNotices(config.database, stores.origin, {
    sessionsChanged: () => sessionCache.clear(),
    syncChanged: (userId) => syncNotifier.notifyUser(userId),
    onState: (listening) => sessionCache.setEnabled(listening),
  });
  const stopRelay = relaySyncNotices(db, stores);
  return {
    async close() {
      await stopRelay();
      await listener.close();
    },
  };
}

/**
 * Tells the other processes on this PostgreSQL database of every sync wake-up of these stores, so their waiting
 * `/sync`s look again (a server, and the admin CLI's database mode). Returns a function that stops relaying and
 * waits for the notices still being sent, to call before the database closes.
 */
export function relaySyncNotices(db: Db, stores: Stores): () => Promise<void> {
  if (db.dialect !== "postgres") return async () => {};
  const sending = new Set<Promise<void>>();
  // The users woken in one turn of the event loop go out together: one event wakes every member of its room, and a
  // statement (and a pool connection) per member is what made 200 members long-polling exhaust the pool.
  let pending = new Set<string>();
  const flush = () => {
    const users = pending;
    pending = new Set();
    for (const payload of syncNoticePayloads(stores.origin, users)) {
      // A lost wake-up only delays the other process's sync to its timeout, as before relays existed.
      const sent = sendNotice(db.kysely, SYNC_CHANNEL, payload)
        .catch(() => {})
        .finally(() => sending.delete(sent));
      sending.add(sent);
    }
  };
  const removeRelay = stores.onSyncChanged((userId) => {
    if (pending.size === 0) setImmediate(flush);
    pending.add(userId);
  });
  return async () => {
    removeRelay();
    if (pending.size > 0) flush();
    await Promise.all(sending);
  };
}
