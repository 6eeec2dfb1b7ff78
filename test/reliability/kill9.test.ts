/**
 * `kill -9` in the middle of a registration load, on SQLite and on PostgreSQL. A real `gatehouse serve` process takes
 * many concurrent one-shot registrations (`m.login.dummy`) and is killed with SIGKILL while they are in flight;
 * restarted on the same database, every registration that was answered 200 logs in with its password, no account
 * lacks its password hash, device or access token (each is written in the one transaction of `registerUser`), and
 * SQLite's `PRAGMA integrity_check` says `ok`.
 */
import SQLite from "better-sqlite3";
import { afterAll, expect, it } from "vitest";
import { openDatabase, type Db } from "../../src/db/database.js";
import { createTestDatabase, forEachDatabase } from "../helpers/databases.js";
import type { ServerProcess } from "../helpers/server.js";
import { attempt, loginBody, registerBody, serveProcess, sleep, type Outcome } from "./support.js";

const TOTAL = 300;
const CONCURRENCY = 24;
/** Kill once this many registrations have been answered 200: mid-way, with plenty still in flight. */
const KILL_AFTER = 60;
const passwordOf = (i: number) => `kill nine password ${i}`;

forEachDatabase((kind) => {
  const open: (ServerProcess | Db)[] = [];
  afterAll(async () => {
    for (const o of open.reverse()) await ("proc" in o ? o.stop("SIGKILL") : o.close());
  });

  it("keeps every answered registration, and no half-made account", async () => {
    const db = await createTestDatabase(kind);
    const serve = serveProcess(db);
    const first = await serve.start();
    open.push(first);

    const results = new Map<number, Outcome>();
    let next = 0;
    let ok = 0;
    let killed = false;
    let killedAt = 0;
    const worker = async () => {
      while (next < TOTAL) {
        const i = next++;
        const r = await attempt(first.url, "POST", "/_matrix/client/v3/register", {
          json: registerBody(`k9user${i}`, passwordOf(i)),
        });
        results.set(i, r);
        if (r.status === 200 && ++ok === KILL_AFTER && !killed) {
          killed = true;
          killedAt = performance.now();
          first.proc.kill("SIGKILL");
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    expect(killed, "the load finished before the kill").toBe(true);
    expect(await first.stop()).toBeNull(); // The exit code of a process killed by a signal.

    const answered = [...results].filter(([, r]) => r.status === 200).map(([i]) => i);
    const inFlight = [...results].filter(([, r]) => r.status === 0 && r.startedAt < killedAt);
    // The kill must have caught requests in flight, or the test shows nothing.
    expect(inFlight.length).toBeGreaterThan(0);
    for (const [i, r] of results) {
      if (r.status !== 0 && r.status !== 200) throw new Error(`registration ${i}: ${r.status} ${r.text}`);
    }

    if (kind === "sqlite") {
      const file = new SQLite(db.config.name === "sqlite3" ? db.config.args.database : "", { readonly: false });
      try {
        expect(file.pragma("integrity_check", { simple: true })).toBe("ok");
        expect(file.pragma("foreign_key_check")).toEqual([]);
      } finally {
        file.close();
      }
    }

    const second = await serve.start();
    open.push(second);
    await sleep(0);
    for (const i of answered) {
      const r = await attempt(second.url, "POST", "/_matrix/client/v3/login", {
        json: loginBody(`k9user${i}`, passwordOf(i)),
      });
      expect(r.status, `k9user${i}: ${r.text}`).toBe(200);
    }

    const look = openDatabase(db.config);
    open.push(look);
    const users = await look.kysely.selectFrom("users").select(["name", "password_hash"]).execute();
    const withDevice = new Set(
      (await look.kysely.selectFrom("devices").select("user_id").execute()).map((r) => r.user_id),
    );
    // Tokens made by the registration (the logins above added more, each with its own device).
    const withToken = new Set(
      (await look.kysely.selectFrom("access_tokens").select("user_id").execute()).map((r) => r.user_id),
    );
    const answeredIds = new Set(answered.map((i) => `@k9user${i}:localhost`));
    expect(users.length).toBeGreaterThanOrEqual(answered.length);
    for (const u of users) {
      expect(u.password_hash, u.name).toMatch(/^\$2[aby]\$/);
      expect(withDevice.has(u.name), `${u.name} has a device`).toBe(true);
      expect(withToken.has(u.name), `${u.name} has an access token`).toBe(true);
    }
    // Every account there is was asked for; every 200 is among them.
    for (const u of users) expect(u.name).toMatch(/^@k9user\d+:localhost$/);
    for (const name of answeredIds) expect(users.map((u) => u.name)).toContain(name);
    // Each device of a registration has its token: no device without its token, no token without its device.
    const orphanTokens = await look.kysely
      .selectFrom("access_tokens as t")
      .leftJoin("devices as d", (j) => j.onRef("d.user_id", "=", "t.user_id").onRef("d.device_id", "=", "t.device_id"))
      .where("d.device_id", "is", null)
      .select("t.user_id")
      .execute();
    expect(orphanTokens).toEqual([]);
    const tokenless = await look.kysely
      .selectFrom("devices as d")
      .leftJoin("access_tokens as t", (j) =>
        j.onRef("t.user_id", "=", "d.user_id").onRef("t.device_id", "=", "d.device_id"),
      )
      .where("t.token_hash", "is", null)
      .select(["d.user_id", "d.device_id"])
      .execute();
    expect(tokenless).toEqual([]);
    console.log(
      `${kind}: killed with ${inFlight.length} registrations in flight, ${answered.length} answered 200; ` +
        `${users.length} accounts after restart, all complete`,
    );
  });
});
