/**
 * The purges the background jobs run, on SQLite and PostgreSQL with an injected clock: each deletes exactly what
 * its read path already refuses and keeps everything live, in batches; an expired UIA session gives back the
 * registration-token use it had reserved, and the jobs run through the runner do all of it in one pass.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { authenticate } from "../../src/accounts/auth.js";
import { createAccountsContext, type AccountsContext, type ServerContext } from "../../src/accounts/context.js";
import { refresh } from "../../src/accounts/login.js";
import { RateLimiter } from "../../src/accounts/ratelimit.js";
import { startSession } from "../../src/accounts/sessions.js";
import { NONCE_TIMEOUT_MS, purgeExpiredNonces } from "../../src/accounts/shared-secret.js";
import {
  purgeExpiredAccessTokens,
  purgeExpiredLoginTokens,
  purgeSpentRefreshTokens,
} from "../../src/accounts/token-expiry.js";
import { hashToken } from "../../src/accounts/tokens.js";
import {
  UIA_PURGE_MARGIN_MS,
  UIA_SESSION_LIFETIME_MS,
  loadSession,
  purgeExpiredSessions,
} from "../../src/accounts/uia.js";
import type { Db } from "../../src/db/database.js";
import { rateLimitBucketsStore } from "../../src/db/ratelimit-buckets.js";
import { scheduledJobsStore } from "../../src/db/scheduled-jobs.js";
import type { Stores } from "../../src/db/stores.js";
import { purgeJobs } from "../../src/jobs/purges.js";
import { JobRunner } from "../../src/jobs/runner.js";
import { TXN_RETENTION_MS, purgeExpiredEventTxns, purgeExpiredToDeviceTxns } from "../../src/sync/txn-expiry.js";
import { openAndMigrate } from "../../src/server.js";
import { createTestDatabase, forEachDatabase } from "../helpers/databases.js";
import { configFrom, rawConfigFor } from "../helpers/server.js";

const T0 = 1_750_000_000_000;
const ALICE = "@alice:localhost";

forEachDatabase((kind) => {
  let db: Db;
  let stores: Stores;
  let clock: number;
  let ctx: AccountsContext;
  let sc: ServerContext;

  beforeEach(async () => {
    const testDb = await createTestDatabase(kind);
    ({ db, stores } = await openAndMigrate({ database: testDb.config }));
    const config = configFrom(rawConfigFor(testDb, { bcrypt_rounds: 4, refreshable_access_token_lifetime: 300_000 }));
    clock = T0;
    ctx = createAccountsContext(config, stores, () => clock);
    sc = { accounts: ctx, config, limiter: new RateLimiter(rateLimitBucketsStore(db), () => clock) };
    await stores.users.insert({
      userId: ALICE,
      passwordHash: null,
      creationTs: T0 / 1000,
      admin: false,
      userType: null,
      displayname: null,
    });
  });
  afterEach(() => db.close());

  async function count(
    table: "ui_auth_sessions" | "access_tokens" | "refresh_tokens" | "login_tokens" | "event_txns" | "to_device_txns",
  ) {
    const r = await db.kysely
      .selectFrom(table)
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .executeTakeFirstOrThrow();
    return r.n;
  }

  /** A sign-up that passed the token stage with `token` and was then abandoned. */
  async function abandonedSignUp(id: string, token: string, createdAt: number, completed = false): Promise<void> {
    expect(await stores.registrationTokens.reserve(token, createdAt)).toBe(true);
    if (completed) await stores.registrationTokens.complete(token);
    await stores.uiAuthSessions.create({
      sessionId: id,
      creationTime: createdAt,
      uri: "/_matrix/client/v3/register",
      method: "POST",
      description: "register a new account",
      clientdict: { username: id },
      serverdict: { registration_token: token, ...(completed ? { registration_token_completed: true } : {}) },
    });
    await stores.uiAuthSessions.markStageComplete(id, "m.login.registration_token", token);
  }

  describe("UIA sessions", () => {
    it("go once past their 48 hours (and the margin), giving back the token uses they held", async () => {
      await stores.registrationTokens.insert({ token: "invite", usesAllowed: 3, expiryTime: null, createdTs: T0 });
      await abandonedSignUp("gone1", "invite", T0);
      await abandonedSignUp("gone2", "invite", T0 + 1);
      await abandonedSignUp("done", "invite", T0 + 2, true);
      // Every use is taken: two reserved by abandoned sign-ups, one completed.
      expect(await stores.registrationTokens.isValid("invite", T0 + 3)).toBe(false);

      const young = T0 + 10 * 60_000;
      await stores.uiAuthSessions.create({
        sessionId: "young",
        creationTime: young,
        uri: "/x",
        method: "POST",
        description: "",
        clientdict: {},
        serverdict: {},
      });

      // Expired for loadSession, but within the margin: kept, and the uses stay reserved.
      clock = T0 + UIA_SESSION_LIFETIME_MS + 1;
      expect(await loadSession(ctx, "gone1")).toBeNull();
      expect(await purgeExpiredSessions(ctx, 1000)).toBe(0);
      expect(await stores.registrationTokens.get("invite")).toMatchObject({ pending: 2, completed: 1 });

      clock = T0 + 2 + UIA_SESSION_LIFETIME_MS + UIA_PURGE_MARGIN_MS + 1;
      expect(await purgeExpiredSessions(ctx, 1000)).toBe(3);
      // The two abandoned reservations are back; the completed use is not touched.
      expect(await stores.registrationTokens.get("invite")).toMatchObject({ pending: 0, completed: 1 });
      expect(await stores.registrationTokens.isValid("invite", clock)).toBe(true);
      expect(await stores.uiAuthSessions.get("young")).not.toBeNull();
      expect((await stores.uiAuthSessions.completedStages("gone1")).size).toBe(0);
      expect(await count("ui_auth_sessions")).toBe(1);
    });

    it("purge in batches of `limit`, each releasing exactly its own sessions' uses", async () => {
      await stores.registrationTokens.insert({ token: "a", usesAllowed: null, expiryTime: null, createdTs: T0 });
      await stores.registrationTokens.insert({ token: "b", usesAllowed: null, expiryTime: null, createdTs: T0 });
      for (let i = 0; i < 5; i++) await abandonedSignUp(`s${i}`, i % 2 === 0 ? "a" : "b", T0 + i);
      clock = T0 + UIA_SESSION_LIFETIME_MS + UIA_PURGE_MARGIN_MS + 10;
      expect(await purgeExpiredSessions(ctx, 2)).toBe(2);
      const a = (await stores.registrationTokens.get("a"))!.pending;
      const b = (await stores.registrationTokens.get("b"))!.pending;
      expect(a + b).toBe(3);
      expect(await count("ui_auth_sessions")).toBe(3);
      expect(await purgeExpiredSessions(ctx, 2)).toBe(2);
      expect(await purgeExpiredSessions(ctx, 2)).toBe(1);
      expect(await purgeExpiredSessions(ctx, 2)).toBe(0);
      expect((await stores.registrationTokens.get("a"))!.pending).toBe(0);
      expect((await stores.registrationTokens.get("b"))!.pending).toBe(0);
    });
  });

  it("nonces go after their 60 seconds, exactly when redemption stops accepting them", async () => {
    await stores.registrationNonces.insert("old", T0);
    await stores.registrationNonces.insert("edge", T0 + 1);
    clock = T0 + 1 + NONCE_TIMEOUT_MS;
    expect(await purgeExpiredNonces(ctx, 1000)).toBe(1);
    // "edge" is exactly 60 s old: still redeemable, so still there.
    expect(await stores.registrationNonces.consume("edge", clock - NONCE_TIMEOUT_MS)).toBe(true);
    expect(await stores.registrationNonces.consume("old", 0)).toBe(false);
  });

  it("login tokens go once past their expiry, and a live one still logs in", async () => {
    await stores.loginTokens.insert(hashToken("expired"), ALICE, T0 - 1);
    await stores.loginTokens.insert(hashToken("edge"), ALICE, T0);
    await stores.loginTokens.insert(hashToken("live"), ALICE, T0 + 60_000);
    expect(await purgeExpiredLoginTokens(ctx, 1000)).toBe(1);
    expect(await count("login_tokens")).toBe(2);
    // Good up to and including its expiry, as m.login.token reads it.
    expect(await stores.loginTokens.consume(hashToken("edge"), T0)).toEqual({ userId: ALICE, sso: null });
    expect(await stores.loginTokens.consume(hashToken("live"), T0)).toEqual({ userId: ALICE, sso: null });
  });

  describe("refresh and access tokens", () => {
    /** A refreshable login on `device`, at the current clock. */
    async function refreshableLogin(device: string) {
      return stores.transaction((t) =>
        startSession(t, {
          userId: ALICE,
          localpart: "alice",
          deviceId: device,
          initialDeviceDisplayName: null,
          validUntilMs: clock + 300_000,
          refresh: { expiryTs: null, ultimateSessionExpiryTs: null },
          now: clock,
        }),
      );
    }

    it("a refreshed token goes only once its successor is in use; the live chain is untouched", async () => {
      const first = await refreshableLogin("PHONE");
      const r0 = first.refreshToken!;
      const second = await refresh(sc, { refresh_token: r0 });
      // The successor is unused: the client may have lost our answer and may still retry with r0.
      expect(await purgeSpentRefreshTokens(ctx, 1000)).toBe(0);
      expect(await count("refresh_tokens")).toBe(2);
      await authenticate(ctx, second.access_token);
      expect(await purgeSpentRefreshTokens(ctx, 1000)).toBe(1);
      expect(await stores.refreshTokens.getByHash(hashToken(r0))).toBeNull();
      // The chain goes on from the kept token.
      const third = await refresh(sc, { refresh_token: second.refresh_token });
      expect((await authenticate(ctx, third.access_token)).deviceId).toBe("PHONE");
    });

    it("an expired access token goes when its client cannot resume with it; soft-logout tokens stay", async () => {
      // A refreshable session refreshed twice: its first access token's refresh token is gone.
      const first = await refreshableLogin("PHONE");
      const second = await refresh(sc, { refresh_token: first.refreshToken });
      await authenticate(ctx, second.access_token);
      const third = await refresh(sc, { refresh_token: second.refresh_token });
      // A plain session whose token expires: its client will hear soft_logout and log in again to this device.
      const plain = await stores.transaction((t) =>
        startSession(t, {
          userId: ALICE,
          localpart: "alice",
          deviceId: "LAPTOP",
          initialDeviceDisplayName: null,
          validUntilMs: clock + 1000,
          now: clock,
        }),
      );
      // An admin's login_as token (no device), one expiring and one not.
      for (const [hash, validUntilMs] of [
        ["puppet-expiring", clock + 1000],
        ["puppet-forever", null],
      ] as const) {
        await stores.accessTokens.insert({
          tokenHash: hash,
          userId: ALICE,
          deviceId: null,
          createdTs: clock,
          validUntilMs,
          puppetsUserId: "@admin:localhost",
        });
      }
      expect(await count("access_tokens")).toBe(6);

      // Nothing has expired yet.
      expect(await purgeExpiredAccessTokens(ctx, 1000)).toBe(0);
      clock += 300_001;
      expect(await purgeExpiredAccessTokens(ctx, 1000)).toBe(2);
      expect(await stores.accessTokens.getByHash(hashToken(first.accessToken))).toBeNull();
      expect(await stores.accessTokens.getByHash("puppet-expiring")).toBeNull();
      // Kept: the second token (its refresh token is still there), the plain one and the unexpiring puppet.
      expect(await stores.accessTokens.getByHash(hashToken(second.access_token))).not.toBeNull();
      expect(await stores.accessTokens.getByHash("puppet-forever")).not.toBeNull();
      const soft = await authenticate(ctx, plain.accessToken).catch((e: unknown) => e);
      expect(soft).toMatchObject({ errcode: "M_UNKNOWN_TOKEN", extra: { soft_logout: true } });
      // The live refresh token still refreshes.
      await authenticate(ctx, (await refresh(sc, { refresh_token: third.refresh_token })).access_token);
    });

    it("purge in batches of `limit`", async () => {
      for (let i = 0; i < 5; i++) {
        await stores.accessTokens.insert({
          tokenHash: `p${i}`,
          userId: ALICE,
          deviceId: null,
          createdTs: clock,
          validUntilMs: clock - 1,
          puppetsUserId: "@admin:localhost",
        });
      }
      expect(await purgeExpiredAccessTokens(ctx, 2)).toBe(2);
      expect(await purgeExpiredAccessTokens(ctx, 2)).toBe(2);
      expect(await purgeExpiredAccessTokens(ctx, 2)).toBe(1);
      expect(await count("access_tokens")).toBe(0);
    });
  });

  describe("transaction IDs", () => {
    it("go once a day old; a younger one still answers a retry with its event, or refuses a second send", async () => {
      await stores.eventTxns.insert(ALICE, "DEV", "send", "old", "$old", T0);
      await stores.eventTxns.insert(ALICE, "DEV", "redact", "young", "$young", T0 + 1000);
      expect(await stores.toDeviceTxns.claim(ALICE, "DEV", "old", T0)).toBe(true);
      expect(await stores.toDeviceTxns.claim(ALICE, "DEV", "young", T0 + 1000)).toBe(true);

      clock = T0 + TXN_RETENTION_MS;
      expect(await purgeExpiredEventTxns(ctx, 100)).toBe(0);
      expect(await purgeExpiredToDeviceTxns(ctx, 100)).toBe(0);
      clock = T0 + TXN_RETENTION_MS + 1;
      expect(await purgeExpiredEventTxns(ctx, 100)).toBe(1);
      expect(await purgeExpiredToDeviceTxns(ctx, 100)).toBe(1);

      expect(await stores.eventTxns.get(ALICE, "DEV", "send", "old")).toBeNull();
      expect(await stores.eventTxns.get(ALICE, "DEV", "redact", "young")).toBe("$young");
      expect(await stores.toDeviceTxns.claim(ALICE, "DEV", "young", clock)).toBe(false);
      expect(await stores.toDeviceTxns.claim(ALICE, "DEV", "old", clock)).toBe(true);
    });

    it("purge the oldest first, in batches of `limit` (and the rows of the batch's last millisecond)", async () => {
      for (let i = 0; i < 7; i++) {
        await stores.eventTxns.insert(ALICE, "DEV", "send", `t${i}`, `$e${i}`, T0 + i);
        await stores.toDeviceTxns.claim(ALICE, "DEV", `t${i}`, T0 + i);
      }
      // Two IDs in the same millisecond as the third oldest go with it.
      await stores.eventTxns.insert(ALICE, "OTHER", "send", "t2", "$other", T0 + 2);
      clock = T0 + TXN_RETENTION_MS + 100;
      expect(await purgeExpiredEventTxns(ctx, 3)).toBe(4);
      expect(await stores.eventTxns.get(ALICE, "DEV", "send", "t2")).toBeNull();
      expect(await stores.eventTxns.get(ALICE, "DEV", "send", "t3")).toBe("$e3");
      expect(await purgeExpiredEventTxns(ctx, 3)).toBe(3);
      expect(await purgeExpiredEventTxns(ctx, 3)).toBe(1);
      expect(await purgeExpiredEventTxns(ctx, 3)).toBe(0);
      expect(await count("event_txns")).toBe(0);

      expect(await purgeExpiredToDeviceTxns(ctx, 5)).toBe(5);
      expect(await purgeExpiredToDeviceTxns(ctx, 5)).toBe(2);
      expect(await count("to_device_txns")).toBe(0);
    });
  });

  it("the jobs through the runner: one pass purges everything due, the next period again", async () => {
    await stores.registrationTokens.insert({ token: "invite", usesAllowed: 1, expiryTime: null, createdTs: T0 });
    await abandonedSignUp("abandoned", "invite", T0);
    await stores.registrationNonces.insert("nonce", T0);
    await stores.loginTokens.insert(hashToken("login"), ALICE, T0 + 1000);
    await sc.limiter.check("rc_test", "k", { per_second: 1, burst_count: 5 });
    const runner = new JobRunner(purgeJobs(ctx, sc.limiter), {
      store: scheduledJobsStore(db.kysely),
      now: () => clock,
      log: (m) => {
        throw new Error(`unexpected log: ${m}`);
      },
    });
    const all = [
      "purge_ui_auth_sessions",
      "purge_captcha_challenges",
      "purge_registration_nonces",
      "purge_login_tokens",
      "purge_refresh_tokens",
      "purge_access_tokens",
      "purge_event_txns",
      "purge_to_device_txns",
      "purge_ratelimit_buckets",
    ];
    // Registered and run at once on first start; nothing is old enough yet.
    expect(await runner.runDue()).toEqual(all);
    expect(await stores.registrationTokens.isValid("invite", clock)).toBe(false);

    clock = T0 + UIA_SESSION_LIFETIME_MS + UIA_PURGE_MARGIN_MS + 1;
    expect(await runner.runDue()).toEqual(all);
    expect(await stores.registrationTokens.isValid("invite", clock)).toBe(true);
    expect(await count("ui_auth_sessions")).toBe(0);
    expect(await count("login_tokens")).toBe(0);
    expect(await stores.registrationNonces.consume("nonce", 0)).toBe(false);
    const rows = await scheduledJobsStore(db.kysely).list();
    expect(rows.find((r) => r.name === "purge_ui_auth_sessions")).toMatchObject({
      lastResult: "ok: deleted 1",
      lastStartedAt: clock,
      nextRunAt: clock + 5 * 60_000,
      lockedBy: null,
    });
    // Within the period nothing is due.
    clock += 30_000;
    expect(await runner.runDue()).toEqual([]);
    clock += 30_000;
    expect(await runner.runDue()).toEqual(["purge_ratelimit_buckets"]);
  });
});
