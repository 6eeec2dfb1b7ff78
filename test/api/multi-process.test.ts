/**
 * Two `gatehouse serve` processes on one PostgreSQL database, as behind a load balancer: nonces, tokens and
 * usernames are shared through the database, and races between the processes have exactly one winner.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Db } from "../../src/db/database.js";
import { createTestDatabase, type TestDatabase } from "../helpers/databases.js";
import { call } from "../helpers/http.js";
import { getNonce, registerShared } from "../helpers/register.js";
import { rawConfigFor, spawnServer, writeConfigFile, type ServerProcess } from "../helpers/server.js";
import { countUsers, expectMatrixError, openTestDb } from "./support.js";

const WHOAMI = "/_matrix/client/v3/account/whoami";

describe("two processes, one PostgreSQL database", () => {
  let db: TestDatabase;
  let a: ServerProcess;
  let b: ServerProcess;
  let conn: Db;
  /** Whatever started, so a failed setup still stops it. */
  const running: ServerProcess[] = [];

  beforeAll(async () => {
    db = await createTestDatabase("postgres", { empty: true });
    // Separate config files, the same database; started together, so their migrations race too.
    const started = await Promise.allSettled([
      spawnServer(["-c", writeConfigFile(rawConfigFor(db))]),
      spawnServer(["-c", writeConfigFile(rawConfigFor(db))]),
    ]);
    for (const s of started) if (s.status === "fulfilled") running.push(s.value);
    for (const s of started) if (s.status === "rejected") throw s.reason;
    [a, b] = running as [ServerProcess, ServerProcess];
    conn = openTestDb(db);
  });
  afterAll(async () => {
    await conn.close();
    const codes = await Promise.all(running.map((p) => p.stop()));
    expect(codes).toEqual([0, 0]);
  });

  it("really is two processes on two addresses", () => {
    expect(a.proc.pid).not.toBe(b.proc.pid);
    expect(a.url).not.toBe(b.url);
  });

  it("a nonce from A registers on B, and is then spent on both", async () => {
    const before = await countUsers(conn);
    const nonce = await getNonce(a.url);
    const r = await registerShared(b.url, { username: "crosser", password: "pw" }, nonce);
    expect(r.status, r.text).toBe(200);
    expect(r.body.user_id).toBe("@crosser:localhost");
    const again = await registerShared(a.url, { username: "crosser2", password: "pw" }, nonce);
    expectMatrixError(again, 400, "M_UNKNOWN", "unrecognised nonce");
    const onB = await registerShared(b.url, { username: "crosser3", password: "pw" }, nonce);
    expectMatrixError(onB, 400, "M_UNKNOWN", "unrecognised nonce");
    expect(await countUsers(conn)).toBe(before + 1);
  });

  it("a token issued by A works on B, and one issued by B works on A", async () => {
    const fromA = await registerShared(a.url, { username: "issuedbya", password: "pw" });
    expect(fromA.status, fromA.text).toBe(200);
    const who = await call(b.url, "GET", WHOAMI, { token: fromA.body.access_token as string });
    expect(who.status).toBe(200);
    expect(who.body).toEqual({ user_id: "@issuedbya:localhost", is_guest: false, device_id: fromA.body.device_id });

    const fromB = await registerShared(b.url, { username: "issuedbyb", password: "pw" });
    expect(fromB.status, fromB.text).toBe(200);
    const whoA = await call(a.url, "GET", WHOAMI, { token: fromB.body.access_token as string });
    expect(whoA.body).toEqual({ user_id: "@issuedbyb:localhost", is_guest: false, device_id: fromB.body.device_id });
  });

  it("one nonce sent to both processes at once registers exactly one account", async () => {
    for (let round = 0; round < 8; round++) {
      const before = await countUsers(conn);
      const nonce = await getNonce(round % 2 ? a.url : b.url);
      const results = await Promise.all([
        registerShared(a.url, { username: `noncerace${round}a`, password: "pw" }, nonce),
        registerShared(b.url, { username: `noncerace${round}b`, password: "pw" }, nonce),
      ]);
      const statuses = results.map((r) => r.status).sort();
      expect(statuses, results.map((r) => r.text).join("\n")).toEqual([200, 400]);
      const loser = results.find((r) => r.status === 400)!;
      expect(loser.body).toEqual({ errcode: "M_UNKNOWN", error: "unrecognised nonce" });
      expect(await countUsers(conn)).toBe(before + 1);
    }
  });

  it("one username registered on both processes at once: one account, and the other hears M_USER_IN_USE", async () => {
    for (let round = 0; round < 8; round++) {
      const before = await countUsers(conn);
      const [nonceA, nonceB] = await Promise.all([getNonce(a.url), getNonce(b.url)]);
      const results = await Promise.all([
        registerShared(a.url, { username: `clash${round}`, password: "pw" }, nonceA),
        // Upper case on B: the account is the same once lower-cased.
        registerShared(b.url, { username: `CLASH${round}`, password: "pw" }, nonceB),
      ]);
      const statuses = results.map((r) => r.status).sort();
      expect(statuses, results.map((r) => r.text).join("\n")).toEqual([200, 400]);
      const loser = results.find((r) => r.status === 400)!;
      expect(loser.body).toEqual({ errcode: "M_USER_IN_USE", error: "User ID already taken." });
      expect(await countUsers(conn)).toBe(before + 1);
      // The winner's token works on the other process.
      const winner = results.find((r) => r.status === 200)!;
      const who = await call(results[0] === winner ? b.url : a.url, "GET", WHOAMI, {
        token: winner.body.access_token as string,
      });
      expect(who.body.user_id).toBe(`@clash${round}:localhost`);
    }
  });

  it("neither process logged an unhandled error", () => {
    for (const p of [a, b]) {
      expect(p.stdout()).not.toContain('"level":50');
      expect(p.stdout()).not.toContain("unhandled error");
      expect(p.stderr()).not.toMatch(/error/i);
    }
  });
});
