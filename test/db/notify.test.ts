/**
 * Change notices between processes (`src/db/notify.ts`) on a real PostgreSQL database: the stores send one per
 * committed session change and none for a rollback, a listener skips its own origin, reports when its connection is
 * lost and back, and the server keeps its token cache off while it cannot hear. On SQLite nothing listens.
 * The same across two real processes: test/multiprocess/shared-state.test.ts.
 */
import pg from "pg";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createAccountsContext } from "../../src/accounts/context.js";
import type { PostgresDatabaseConfig } from "../../src/config/schema.js";
import type { Db } from "../../src/db/database.js";
import {
  LISTENER_APPLICATION_NAME,
  listenForNotices,
  sendNotice,
  SYNC_CHANNEL,
  syncNoticePayloads,
  type NoticeListener,
} from "../../src/db/notify.js";
import type { Stores } from "../../src/db/stores.js";
import { startProcessNotices } from "../../src/process-notices.js";
import { openAndMigrate } from "../../src/server.js";
import { createTestDatabase, type TestDatabase } from "../helpers/databases.js";
import { configFrom, rawConfigFor } from "../helpers/server.js";

async function until(what: string, ok: () => boolean, ms = 5000): Promise<void> {
  const start = performance.now();
  while (!ok()) {
    if (performance.now() - start > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe("notices on PostgreSQL", () => {
  let tdb: TestDatabase;
  let db: Db;
  let stores: Stores;
  let listener: NoticeListener | null = null;
  const heard = { sessions: 0, sync: [] as string[], states: [] as boolean[] };

  beforeEach(async () => {
    tdb = await createTestDatabase("postgres");
    ({ db, stores } = await openAndMigrate({ database: tdb.config }));
    heard.sessions = 0;
    heard.sync = [];
    heard.states = [];
  });
  afterEach(async () => {
    await listener?.close();
    listener = null;
    await db.close();
  });

  function listen(origin = "observer"): NoticeListener {
    listener = listenForNotices(tdb.config as PostgresDatabaseConfig, origin, {
      sessionsChanged: () => heard.sessions++,
      syncChanged: (userId) => heard.sync.push(userId),
      onState: (up) => heard.states.push(up),
    });
    return listener;
  }

  it("one notice per committed session change, none for a rollback, none for other writes", async () => {
    const l = listen();
    await until("listening", () => l.listening);
    await stores.transaction(async (t) => {
      await t.accessTokens.deleteByHash("no such token");
      await t.devices.delete("@nobody:localhost", "NODEVICE");
    });
    await until("the notice", () => heard.sessions === 1);
    await expect(
      stores.transaction(async (t) => {
        await t.accessTokens.deleteForUser("@nobody:localhost");
        throw new Error("roll back");
      }),
    ).rejects.toThrow("roll back");
    await stores.serverMeta.setIfAbsent("unrelated", "write");
    // Outside a transaction, the store call itself sends it.
    await stores.users.setLocked("@nobody:localhost", true);
    await until("the second notice", () => heard.sessions === 2);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(heard.sessions).toBe(2);
  });

  it("a listener skips notices from its own origin, and passes on sync notices with their user", async () => {
    const l = listen(stores.origin);
    await until("listening", () => l.listening);
    await stores.transaction((t) => t.accessTokens.deleteForUser("@x:localhost"));
    await sendNotice(db.kysely, SYNC_CHANNEL, `${stores.origin} @mine:localhost`);
    await sendNotice(db.kysely, SYNC_CHANNEL, "elsewhere @theirs:localhost");
    await until("the other origin's sync notice", () => heard.sync.length === 1);
    expect(heard.sync).toEqual(["@theirs:localhost"]);
    expect(heard.sessions).toBe(0);
  });

  it("reports a lost connection, reconnects, and hears notices again", async () => {
    const l = listen();
    await until("listening", () => l.listening);
    const admin = new pg.Client({ connectionString: tdb.url });
    await admin.connect();
    try {
      await admin.query(
        "select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and application_name = $1",
        [LISTENER_APPLICATION_NAME],
      );
    } finally {
      await admin.end();
    }
    await until("the loss and the return", () => heard.states.length >= 3 && l.listening);
    expect(heard.states.slice(0, 3)).toEqual([true, false, true]);
    await stores.users.setSuspended("@nobody:localhost", true);
    await until("a notice after reconnecting", () => heard.sessions === 1);
  });

  it("a server's token cache is off until it listens, cleared by others' notices, and sync wakes are relayed", async () => {
    const config = configFrom(rawConfigFor(tdb));
    const accounts = createAccountsContext(config, stores);
    const notices = startProcessNotices(config, db, accounts);
    try {
      expect(accounts.sessionCache.enabled).toBe(false);
      await until("the cache turned on", () => accounts.sessionCache.enabled);
      // Another process (its own stores, so another origin) ends a session: this server's cache is cleared.
      const other = await openAndMigrate({ database: tdb.config });
      try {
        const generation = accounts.sessionCache.generation;
        await other.stores.accessTokens.deleteForUser("@x:localhost");
        await until("the cache cleared", () => accounts.sessionCache.generation > generation);
        // A sync wake-up here is relayed to other processes.
        const o = listen(other.stores.origin);
        await until("listening", () => o.listening);
        // A wake-up that came from another process (straight to the notifier) is not sent back out.
        accounts.syncNotifier.notifyUser("@not-relayed:localhost");
        stores.syncChanged("@relayed:localhost");
        await until("the relayed wake-up", () => heard.sync.includes("@relayed:localhost"));
        expect(heard.sync).toEqual(["@relayed:localhost"]);
      } finally {
        await other.db.close();
      }
    } finally {
      await notices.close();
    }
    // Closed: its relay is gone.
    stores.syncChanged("@after-close:localhost");
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(heard.sync).toEqual(["@relayed:localhost"]);
  });

  it("the wake-ups of one turn go out as one notice (a message wakes every member of its room)", async () => {
    const config = configFrom(rawConfigFor(tdb));
    const accounts = createAccountsContext(config, stores);
    const notices = startProcessNotices(config, db, accounts);
    const raw = new pg.Client({ connectionString: tdb.url });
    await raw.connect();
    const payloads: string[] = [];
    raw.on("notification", (msg) => payloads.push(msg.payload ?? ""));
    try {
      await raw.query(`LISTEN ${SYNC_CHANNEL}`);
      const l = listen();
      await until("listening", () => l.listening);
      const members = Array.from({ length: 300 }, (_, i) => `@member${i}:localhost`);
      for (const userId of members) stores.syncChanged(userId);
      await until("every member's wake-up", () => heard.sync.length === members.length);
      expect(heard.sync).toEqual(members);
      expect(payloads).toHaveLength(1);
    } finally {
      await raw.end();
      await notices.close();
    }
  });
});

describe("sync notice payloads", () => {
  it("stay under PostgreSQL's limit and carry every user once", () => {
    const users = Array.from({ length: 1000 }, (_, i) => `@someone-with-a-long-name-${i}:example.org`);
    const payloads = syncNoticePayloads("origin", users);
    for (const p of payloads) expect(Buffer.byteLength(p)).toBeLessThan(8000);
    expect(payloads.flatMap((p) => p.split(" ").slice(1))).toEqual(users);
    expect(payloads.every((p) => p.startsWith("origin @"))).toBe(true);
    expect(syncNoticePayloads("origin", [])).toEqual([]);
  });
});

it("on SQLite nothing listens and the cache stays on", async () => {
  const tdb = await createTestDatabase("sqlite");
  const { db, stores } = await openAndMigrate({ database: tdb.config });
  try {
    const config = configFrom(rawConfigFor(tdb));
    const accounts = createAccountsContext(config, stores);
    const notices = startProcessNotices(config, db, accounts);
    expect(accounts.sessionCache.enabled).toBe(true);
    await notices.close();
  } finally {
    await db.close();
  }
});
