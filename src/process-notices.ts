/**
 * @module What a server does with other processes' change notices (PostgreSQL only; `src/db/notify.ts`): clear
 * the token cache when they end or alter sessions, wake waiting `/sync`s when they write what a sync reports, and
 * relay this process's own sync wake-ups to them.
 */
import type { AccountsContext } from "./accounts/context.js";
import type { Config } from "./config/schema.js";
import type { Db } from "./db/database.js";
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
  // The users woken in one turn of the event loop go out together: one event wakes every member of its room, and a
  // statement (and a pool connection) per member is what made 200 members long-polling exhaust the pool.
  let pending = new Set<string>();
  const flush = () => {
    const users = pending;
    pending = new Set();
    for (const payload of syncNoticePayloads(stores.origin, users)) {
      // A lost wake-up only delays the other process's sync to its timeout, as before relays existed.
      sendNotice(db.kysely, SYNC_CHANNEL, payload).catch(() => {});
    }
  };
  const removeRelay = stores.onSyncChanged((userId) => {
    if (pending.size === 0) setImmediate(flush);
    pending.add(userId);
  });
  return {
    async close() {
      removeRelay();
      await listener.close();
    },
  };
}
