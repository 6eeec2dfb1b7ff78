/**
 * Two `gatehouse serve` processes on one PostgreSQL database share their state (issue 6, part 1): a token ended on
 * one is refused by the other at once (the `LISTEN`/`NOTIFY` notice, not the 1 s cache lifetime), a UIA session
 * started on one completes on the other, a rate limit counts attempts on both as one, a long-poll on one wakes for
 * a write on the other, and all of it still holds after the database kills the `LISTEN` connection.
 *
 * Times are measured from the moment the revoking request was answered, when its client knows the token is gone.
 * A nonce fetched from one process and spent on the other: test/api/multi-process.test.ts.
 */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SESSION_CACHE_TTL_MS } from "../../src/accounts/session-cache.js";
import { LISTENER_APPLICATION_NAME } from "../../src/db/notify.js";
import { challenge, passwordAuth } from "../api/account-support.js";
import { expectMatrixError } from "../api/support.js";
import { createTestDatabase, type TestDatabase } from "../helpers/databases.js";
import { call } from "../helpers/http.js";
import { registerShared } from "../helpers/register.js";
import { rawConfigFor, spawnServer, writeConfigFile, type ServerProcess } from "../helpers/server.js";

const WHOAMI = "/_matrix/client/v3/account/whoami";
/** The notice makes a revocation visible this fast; the cache lifetime alone would allow 1,000 ms. */
const NOTICE_BOUND_MS = 250;
const FAILED_BURST = 6;
const LIMITS = {
  rc_registration: { per_second: 1000, burst_count: 1000 },
  rc_login: {
    address: { per_second: 1000, burst_count: 1000 },
    account: { per_second: 1000, burst_count: 1000 },
    // Nothing leaks within the test: one attempt per 1,000 s.
    failed_attempts: { per_second: 0.001, burst_count: FAILED_BURST },
  },
};

interface Account {
  userId: string;
  token: string;
}

let serial = 0;
async function newAccount(base: string, admin = false): Promise<Account> {
  const username = `shared${serial++}`;
  const r = await registerShared(base, { username, password: "the password", admin });
  expect(r.status, r.text).toBe(200);
  return { userId: r.body.user_id as string, token: r.body.access_token as string };
}

async function whoami(base: string, token: string): Promise<number> {
  return (await call(base, "GET", WHOAMI, { token })).status;
}

/** Milliseconds from `start` until `token` is refused on `base` (401 M_UNKNOWN_TOKEN); fails after 3 s. */
async function msUntilRefused(base: string, token: string, start: number): Promise<number> {
  for (;;) {
    const r = await call(base, "GET", WHOAMI, { token });
    if (r.status === 401) {
      expect(r.body.errcode).toBe("M_UNKNOWN_TOKEN");
      return performance.now() - start;
    }
    expect(r.status, r.text).toBe(200);
    if (performance.now() - start > 3000) throw new Error("token still accepted after 3 s");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function passwordLogin(user: string, password: string): Record<string, unknown> {
  return { type: "m.login.password", identifier: { type: "m.id.user", user }, password };
}

describe("two processes, one PostgreSQL database: shared state", () => {
  let db: TestDatabase;
  let a: ServerProcess;
  let b: ServerProcess;
  let conn: pg.Client;
  const running: ServerProcess[] = [];

  beforeAll(async () => {
    db = await createTestDatabase("postgres");
    const started = await Promise.allSettled([
      spawnServer(["-c", writeConfigFile(rawConfigFor(db, LIMITS))]),
      spawnServer(["-c", writeConfigFile(rawConfigFor(db, LIMITS))]),
    ]);
    for (const s of started) if (s.status === "fulfilled") running.push(s.value);
    for (const s of started) if (s.status === "rejected") throw s.reason;
    [a, b] = running as [ServerProcess, ServerProcess];
    conn = new pg.Client({ connectionString: db.url });
    await conn.connect();
    await waitForListeners(2);
  });
  afterAll(async () => {
    await conn.end();
    const codes = await Promise.all(running.map((p) => p.stop()));
    expect(codes).toEqual([0, 0]);
  });

  /** The `LISTEN` connections' backend pids, once there are `n` of them. */
  async function waitForListeners(n: number, not: number[] = []): Promise<number[]> {
    const start = performance.now();
    for (;;) {
      const r = await conn.query<{ pid: number }>(
        "select pid from pg_stat_activity where datname = current_database() and application_name = $1",
        [LISTENER_APPLICATION_NAME],
      );
      const pids = r.rows.map((row) => row.pid).filter((p) => !not.includes(p));
      if (pids.length === n) return pids;
      if (performance.now() - start > 10_000) throw new Error(`expected ${n} listeners, found ${pids.length}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  it("the cache is real: a token deleted behind Gatehouse's back (no notice) is served stale for up to 1 s", async () => {
    const u = await newAccount(a.url);
    expect(await whoami(b.url, u.token)).toBe(200);
    const start = performance.now();
    await conn.query("delete from access_tokens where user_id = $1", [u.userId]);
    // The entry B cached a moment ago still answers: this is what the notices are for.
    expect(await whoami(b.url, u.token)).toBe(200);
    const ms = await msUntilRefused(b.url, u.token, start);
    expect(ms).toBeLessThan(SESSION_CACHE_TTL_MS + 500);
  });

  it("logout on A: the token is refused on B at once (well within the 1 s cache lifetime)", async () => {
    for (let round = 0; round < 5; round++) {
      const u = await newAccount(a.url);
      // Cached on B just now: without the notice it would be served for another second.
      expect(await whoami(b.url, u.token)).toBe(200);
      expect(await whoami(b.url, u.token)).toBe(200);
      const out = await call(a.url, "POST", "/_matrix/client/v3/logout", { token: u.token, json: {} });
      expect(out.status, out.text).toBe(200);
      const start = performance.now();
      const ms = await msUntilRefused(b.url, u.token, start);
      expect(ms).toBeLessThan(NOTICE_BOUND_MS);
    }
  });

  it("an admin's deactivation on A: the account's token is refused on B at once", async () => {
    const admin = await newAccount(a.url, true);
    const u = await newAccount(b.url);
    expect(await whoami(b.url, u.token)).toBe(200);
    const r = await call(a.url, "POST", `/_synapse/admin/v1/deactivate/${encodeURIComponent(u.userId)}`, {
      token: admin.token,
      json: {},
    });
    expect(r.status, r.text).toBe(200);
    const start = performance.now();
    expect(await msUntilRefused(b.url, u.token, start)).toBeLessThan(NOTICE_BOUND_MS);
  });

  it("a password change started on A and finished on B logs out the other device on A at once", async () => {
    const u = await newAccount(a.url);
    const localpart = u.userId.slice(1).split(":")[0]!;
    const other = await call(b.url, "POST", "/_matrix/client/v3/login", {
      json: passwordLogin(localpart, "the password"),
    });
    expect(other.status, other.text).toBe(200);
    const otherToken = other.body.access_token as string;
    expect(await whoami(a.url, otherToken)).toBe(200);
    // The UIA session lives in the database: challenged by A, completed on B.
    const path = "/_matrix/client/v3/account/password";
    const c = await challenge(a.url, "POST", path, u.token, { new_password: "a new password" });
    const done = await call(b.url, "POST", path, {
      token: u.token,
      json: { new_password: "a new password", auth: passwordAuth(c.session, localpart, "the password") },
    });
    expect(done.status, done.text).toBe(200);
    const start = performance.now();
    expect(await msUntilRefused(a.url, otherToken, start)).toBeLessThan(NOTICE_BOUND_MS);
    // The device that changed the password keeps its session, on both.
    expect(await whoami(a.url, u.token)).toBe(200);
    expect(await whoami(b.url, u.token)).toBe(200);
  });

  it("failed logins alternating between A and B meet rc_login.failed_attempts at the same count as on one", async () => {
    const victim = await newAccount(a.url);
    const localpart = victim.userId.slice(1).split(":")[0]!;
    const attempt = (base: string) =>
      call(base, "POST", "/_matrix/client/v3/login", { json: passwordLogin(localpart, "wrong") });
    for (let i = 0; i < FAILED_BURST; i++) {
      expectMatrixError(await attempt(i % 2 ? b.url : a.url), 403, "M_FORBIDDEN", "Invalid username or password");
    }
    for (const base of [a.url, b.url]) {
      const r = await attempt(base);
      expect(r.status, r.text).toBe(429);
      expect(r.body.errcode).toBe("M_LIMIT_EXCEEDED");
      // The bucket leaks one attempt per 1,000 s; it started a few seconds ago at most.
      expect(r.body.retry_after_ms as number).toBeGreaterThan(990_000);
      expect(r.headers.get("retry-after")).toBe(String(Math.ceil((r.body.retry_after_ms as number) / 1000)));
    }
    // Even the right password, on either process.
    const right = await call(b.url, "POST", "/_matrix/client/v3/login", {
      json: passwordLogin(localpart, "the password"),
    });
    expect(right.status).toBe(429);
  });

  it("concurrent failed logins on both processes: exactly burst_count are counted, the rest refused", async () => {
    const victim = await newAccount(b.url);
    const localpart = victim.userId.slice(1).split(":")[0]!;
    const results = await Promise.all(
      Array.from({ length: 16 }, (_, i) =>
        call(i % 2 ? b.url : a.url, "POST", "/_matrix/client/v3/login", { json: passwordLogin(localpart, "wrong") }),
      ),
    );
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 403)).toHaveLength(FAILED_BURST);
    expect(statuses.filter((s) => s === 429)).toHaveLength(16 - FAILED_BURST);
  });

  it("a /sync long-poll on B wakes for an account-data write on A", async () => {
    const u = await newAccount(a.url);
    const initial = await call(b.url, "GET", "/_matrix/client/v3/sync", { token: u.token });
    expect(initial.status, initial.text).toBe(200);
    // The first incremental sync answers at once with the user coming online; the next one is held.
    const first = await call(
      b.url,
      "GET",
      `/_matrix/client/v3/sync?timeout=0&since=${initial.body.next_batch as string}`,
      {
        token: u.token,
      },
    );
    expect(first.status, first.text).toBe(200);
    const since = first.body.next_batch as string;
    const start = performance.now();
    const poll = call(b.url, "GET", `/_matrix/client/v3/sync?timeout=20000&since=${since}`, { token: u.token });
    // Let B start waiting before the write.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const put = await call(
      a.url,
      "PUT",
      `/_matrix/client/v3/user/${encodeURIComponent(u.userId)}/account_data/org.example.cross`,
      { token: u.token, json: { from: "A" } },
    );
    expect(put.status, put.text).toBe(200);
    const r = await poll;
    expect(r.status, r.text).toBe(200);
    const events = (r.body.account_data as { events: { type: string; content: unknown }[] }).events;
    expect(events).toContainEqual({ type: "org.example.cross", content: { from: "A" } });
    // Woken by the notice, not by its 20 s timeout.
    expect(performance.now() - start).toBeLessThan(5000);
  });

  it("typing on A reaches a /sync long-poll on B, and both processes show the same typers", async () => {
    const alice = await newAccount(a.url);
    const bob = await newAccount(b.url);
    const C = "/_matrix/client/v3";
    const created = await call(a.url, "POST", `${C}/createRoom`, {
      token: alice.token,
      json: { preset: "public_chat" },
    });
    expect(created.status, created.text).toBe(200);
    const roomId = created.body.room_id as string;
    const roomPath = `${C}/rooms/${encodeURIComponent(roomId)}`;
    expect((await call(b.url, "POST", `${roomPath}/join`, { token: bob.token, json: {} })).status).toBe(200);
    const initial = await call(b.url, "GET", `${C}/sync`, { token: bob.token });
    const caughtUp = await call(b.url, "GET", `${C}/sync?timeout=0&since=${initial.body.next_batch as string}`, {
      token: bob.token,
    });
    const start = performance.now();
    const poll = call(b.url, "GET", `${C}/sync?timeout=20000&since=${caughtUp.body.next_batch as string}`, {
      token: bob.token,
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const typing = await call(a.url, "PUT", `${roomPath}/typing/${encodeURIComponent(alice.userId)}`, {
      token: alice.token,
      json: { typing: true, timeout: 30_000 },
    });
    expect(typing.status, typing.text).toBe(200);
    const r = await poll;
    expect(performance.now() - start).toBeLessThan(5000);
    const rooms = r.body.rooms as { join: Record<string, { ephemeral: { events: unknown[] } }> };
    expect(rooms.join[roomId]?.ephemeral.events).toContainEqual({
      type: "m.typing",
      content: { user_ids: [alice.userId] },
    });
    // An initial sync on A shows the same typer.
    const onA = await call(a.url, "GET", `${C}/sync`, { token: bob.token });
    const roomsA = onA.body.rooms as { join: Record<string, { ephemeral: { events: unknown[] } }> };
    expect(roomsA.join[roomId]?.ephemeral.events).toContainEqual({
      type: "m.typing",
      content: { user_ids: [alice.userId] },
    });
  });

  it("the LISTEN connection comes back after pg_terminate_backend, and revocations are again seen at once", async () => {
    const before = await waitForListeners(2);
    const u = await newAccount(a.url);
    await conn.query("select pg_terminate_backend(pid) from unnest($1::int[]) as pid", [before]);
    const after = await waitForListeners(2, before);
    expect(after.every((pid) => !before.includes(pid))).toBe(true);
    // Requests went on meanwhile; the reconnected listeners hear the next logout.
    expect(await whoami(b.url, u.token)).toBe(200);
    expect(await whoami(b.url, u.token)).toBe(200);
    expect((await call(a.url, "POST", "/_matrix/client/v3/logout", { token: u.token, json: {} })).status).toBe(200);
    const start = performance.now();
    expect(await msUntilRefused(b.url, u.token, start)).toBeLessThan(NOTICE_BOUND_MS);
  });

  it("neither process logged an unhandled error", () => {
    for (const p of [a, b]) {
      expect(p.stdout()).not.toContain('"level":50');
      expect(p.stdout()).not.toContain("unhandled error");
      expect(p.stderr()).not.toMatch(/error/i);
    }
  });
});

describe("two processes, one SQLite file", () => {
  let a: ServerProcess;
  let b: ServerProcess;
  const running: ServerProcess[] = [];

  beforeAll(async () => {
    const db = await createTestDatabase("sqlite");
    // One after the other: the first creates the file and its schema.
    running.push(await spawnServer(["-c", writeConfigFile(rawConfigFor(db, LIMITS))]));
    running.push(await spawnServer(["-c", writeConfigFile(rawConfigFor(db, LIMITS))]));
    [a, b] = running as [ServerProcess, ServerProcess];
  });
  afterAll(async () => {
    expect(await Promise.all(running.map((p) => p.stop()))).toEqual([0, 0]);
  });

  it("share their rate limits exactly, as on PostgreSQL", async () => {
    const victim = await newAccount(a.url);
    const localpart = victim.userId.slice(1).split(":")[0]!;
    const attempt = (base: string) =>
      call(base, "POST", "/_matrix/client/v3/login", { json: passwordLogin(localpart, "wrong") });
    for (let i = 0; i < FAILED_BURST; i++) expect((await attempt(i % 2 ? b.url : a.url)).status).toBe(403);
    expect((await attempt(a.url)).status).toBe(429);
    expect((await attempt(b.url)).status).toBe(429);
  });

  it("hear no notices: a token logged out on one is refused by the other within the 1 s cache lifetime", async () => {
    const u = await newAccount(a.url);
    expect(await whoami(b.url, u.token)).toBe(200);
    expect((await call(a.url, "POST", "/_matrix/client/v3/logout", { token: u.token, json: {} })).status).toBe(200);
    const start = performance.now();
    expect(await msUntilRefused(b.url, u.token, start)).toBeLessThan(SESSION_CACHE_TTL_MS + 500);
  });
});
