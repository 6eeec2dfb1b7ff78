/**
 * Synapse's leaky-bucket rate limiter (synapse-accounts.md §3.10) over real HTTP: `rc_registration`,
 * `rc_login.address`, `rc_login.account` and `rc_login.failed_attempts`. The algorithm itself, on an injected
 * clock and on both databases, is in test/db/ratelimit-buckets.test.ts; buckets shared by two processes in
 * test/multiprocess/shared-state.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RateLimitConfig } from "../../src/config/schema.js";
import type { HttpResult } from "../helpers/http.js";
import { specCall } from "../helpers/openapi.js";
import {
  NO_LIMITS,
  OPEN_REGISTRATION,
  closeFixture,
  login,
  passwordLogin,
  register,
  signUp,
  startFixture,
  type Fixture,
} from "./client-support.js";
import { expectMatrixError } from "./support.js";

const SMALL: RateLimitConfig = { per_second: 0.1, burst_count: 2 };
const PASSWORD = "rate limited pw";
const INVALID = "Invalid username or password";

/** 429 M_LIMIT_EXCEEDED with a positive retry_after_ms and the matching Retry-After header; returns the ms. */
function expectLimited(r: HttpResult): number {
  expect(r.status, r.text).toBe(429);
  expect(r.body.errcode).toBe("M_LIMIT_EXCEEDED");
  expect(r.body.error).toBe("Too Many Requests");
  const ms = r.body.retry_after_ms as number;
  expect(Number.isInteger(ms)).toBe(true);
  expect(ms).toBeGreaterThan(0);
  expect(r.headers.get("retry-after")).toBe(String(Math.ceil(ms / 1000)));
  return ms;
}

describe("rc_registration", () => {
  let fx: Fixture;
  beforeAll(async () => {
    fx = await startFixture("sqlite", { ...OPEN_REGISTRATION, rc_registration: SMALL });
  });
  afterAll(() => closeFixture(fx));

  it("every request counts, UIA round trips included, before anything is hashed or stored", async () => {
    await signUp(fx.url, "first", PASSWORD);
    expect((await register(fx.url, { username: "second", password: PASSWORD })).status).toBe(401);
    const sessionsBefore = await fx.look.kysely.selectFrom("ui_auth_sessions").select("session_id").execute();
    const ms = expectLimited(await register(fx.url, { username: "third", password: PASSWORD }));
    // One request leaks out every 1 / 0.1 = 10 s (less the time the sign-up's hashing took).
    expect(ms).toBeGreaterThan(5000);
    expect(ms).toBeLessThanOrEqual(10_000);
    expectLimited(await register(fx.url, {}));
    expectLimited(await register(fx.url, { username: "third", password: PASSWORD, auth: { type: "m.login.dummy" } }));
    expect(await fx.look.kysely.selectFrom("ui_auth_sessions").select("session_id").execute()).toEqual(sessionsBefore);
    expect(await fx.server.server.accounts.stores.users.get("@third:localhost")).toBeNull();
  });
});

describe("unauthenticated registration sessions", () => {
  let fx: Fixture;
  beforeAll(async () => {
    fx = await startFixture("sqlite", { ...OPEN_REGISTRATION, registration_sessions: { per_ip: 2, total: 1000 } });
  });
  afterAll(() => closeFixture(fx));

  it("an address holds at most per_ip open sessions; a one-request sign-up needs none", async () => {
    expect((await register(fx.url, {})).status).toBe(401);
    expect((await register(fx.url, { username: "held" })).status).toBe(401);
    const r = await register(fx.url, { username: "third", password: PASSWORD });
    expect([r.status, r.body.errcode, r.body.error]).toEqual([
      429,
      "M_LIMIT_EXCEEDED",
      "Too many open registration sessions",
    ]);
    // Until the oldest of the address's sessions expires, 48 hours after it opened.
    expect(r.body.retry_after_ms as number).toBeGreaterThan(47 * 3600_000);
    const rows = await fx.look.kysely.selectFrom("ui_auth_sessions").select("session_id").execute();
    expect(rows.length).toBe(2);
    await signUp(fx.url, "oneshot", PASSWORD);
  });
});

describe("the hashing queue", () => {
  let fx: Fixture;
  beforeAll(async () => {
    // The real argon2id cost: at the tests' cheap one a hash ends before the next request arrives, so the queue
    // never fills.
    fx = await startFixture("sqlite", {
      ...OPEN_REGISTRATION,
      password_config: {
        hashing_threads: 1,
        hashing_queue_limit: 1,
        argon2: { memory_cost: 19456, time_cost: 2, parallelism: 1 },
      },
    });
  });
  afterAll(() => closeFixture(fx));

  it("when full, a sign-up is 429 M_LIMIT_EXCEEDED with retry_after_ms, and leaves nothing behind", async () => {
    const answers = await Promise.all(
      Array.from({ length: 24 }, (_, i) =>
        register(fx.url, { username: `flood${i}`, password: PASSWORD, auth: { type: "m.login.dummy" } }),
      ),
    );
    const statuses = answers.map((r) => r.status);
    expect(statuses.filter((s) => s !== 200 && s !== 429)).toEqual([]);
    const refused = answers.filter((r) => r.status === 429);
    expect(refused.length).toBeGreaterThan(0);
    for (const r of refused) expectLimited(r);
    const made = await fx.look.kysely.selectFrom("users").select("name").where("name", "like", "@flood%").execute();
    expect(made.length).toBe(statuses.filter((s) => s === 200).length);
  });
});

describe("rc_login", () => {
  async function withLimits(rc_login: Record<string, RateLimitConfig>): Promise<Fixture> {
    const fx = await startFixture("sqlite", {
      ...OPEN_REGISTRATION,
      rc_login: { ...(NO_LIMITS.rc_login as object), ...rc_login },
    });
    await signUp(fx.url, "alice", PASSWORD);
    await signUp(fx.url, "bob", PASSWORD);
    return fx;
  }

  describe("address", () => {
    let fx: Fixture;
    beforeAll(async () => {
      fx = await withLimits({ address: SMALL });
    });
    afterAll(() => closeFixture(fx));

    it("counts every attempt from the address, good or bad, whoever it names", async () => {
      expectMatrixError(await login(fx.url, passwordLogin("alice", "wrong")), 403, "M_FORBIDDEN", INVALID);
      expect((await login(fx.url, passwordLogin("bob", PASSWORD))).status).toBe(200);
      const ms = expectLimited(await login(fx.url, passwordLogin("alice", PASSWORD)));
      expect(ms).toBeGreaterThan(9000);
      expectLimited(await login(fx.url, passwordLogin("carol", PASSWORD), "/_matrix/client/r0/login"));
      // Registration is another bucket.
      expect(
        (await register(fx.url, { username: "dave", password: PASSWORD, auth: { type: "m.login.dummy" } })).status,
      ).toBe(200);
    });
  });

  describe("account", () => {
    let fx: Fixture;
    beforeAll(async () => {
      fx = await withLimits({ account: SMALL });
    });
    afterAll(() => closeFixture(fx));

    it("counts successful logins per (lower-cased) account", async () => {
      expect((await login(fx.url, passwordLogin("alice", PASSWORD))).status).toBe(200);
      expect((await login(fx.url, passwordLogin("@alice:localhost", PASSWORD))).status).toBe(200);
      const ms = expectLimited(await login(fx.url, passwordLogin("alice", PASSWORD)));
      expect(ms).toBeGreaterThan(9000);
      expectLimited(await login(fx.url, passwordLogin("ALICE", PASSWORD)));
      // The password is checked before this limiter, so a wrong one is still a plain 403.
      expectMatrixError(await login(fx.url, passwordLogin("alice", "wrong")), 403, "M_FORBIDDEN", INVALID);
      expect((await login(fx.url, passwordLogin("bob", PASSWORD))).status).toBe(200);
    });
  });

  describe("failed_attempts", () => {
    let fx: Fixture;
    beforeAll(async () => {
      fx = await withLimits({ failed_attempts: SMALL });
    });
    afterAll(() => closeFixture(fx));

    it("counts failures per (lower-cased) user ID; then even the right password is 429", async () => {
      expectMatrixError(await login(fx.url, passwordLogin("alice", "wrong 1")), 403, "M_FORBIDDEN", INVALID);
      expectMatrixError(await login(fx.url, passwordLogin("ALICE", "wrong 2")), 403, "M_FORBIDDEN", INVALID);
      const ms = expectLimited(await login(fx.url, passwordLogin("alice", PASSWORD)));
      expect(ms).toBeGreaterThan(9000);
      expectLimited(await login(fx.url, passwordLogin("@alice:localhost", PASSWORD)));
      expect((await login(fx.url, passwordLogin("bob", PASSWORD))).status).toBe(200);
    });

    it("the UIA password stage counts its failures in the same bucket, another user's name included", async () => {
      const carol = await signUp(fx.url, "carol", PASSWORD);
      const DEL = "/_matrix/client/v3/devices/NONE";
      const attempt = async (user: string, password: string) => {
        const c = await specCall(fx.url, "DELETE", DEL, { token: carol.access_token, json: {} });
        const auth = {
          type: "m.login.password",
          session: c.body.session,
          identifier: { type: "m.id.user", user },
          password,
        };
        return specCall(fx.url, "DELETE", DEL, { token: carol.access_token, json: { auth } });
      };
      expectMatrixError(await attempt("bob", PASSWORD), 403, "M_FORBIDDEN", "Invalid auth");
      const wrong = await attempt("carol", "wrong");
      expect([wrong.status, wrong.body.errcode]).toEqual([401, "M_FORBIDDEN"]);
      expectLimited(await attempt("carol", PASSWORD));
      expectLimited(await login(fx.url, passwordLogin("carol", PASSWORD)));
      // bob's own bucket was not touched by carol's guesses.
      expect((await login(fx.url, passwordLogin("bob", PASSWORD))).status).toBe(200);
    });

    it("unknown users are counted the same way", async () => {
      expectMatrixError(await login(fx.url, passwordLogin("ghost", "x")), 403, "M_FORBIDDEN", INVALID);
      expectMatrixError(await login(fx.url, passwordLogin("ghost", "y")), 403, "M_FORBIDDEN", INVALID);
      expectLimited(await login(fx.url, passwordLogin("ghost", "z")));
    });
  });
});

describe("rc_registration_token_validity", () => {
  let fx: Fixture;
  beforeAll(async () => {
    fx = await startFixture("sqlite", {
      enable_registration: true,
      registration_requires_token: true,
      rc_registration_token_validity: SMALL,
    });
  });
  afterAll(() => closeFixture(fx));

  it("limits the validity check per address", async () => {
    const path = "/_matrix/client/v1/register/m.login.registration_token/validity?token=abc";
    for (let i = 0; i < 2; i++) expect((await specCall(fx.url, "GET", path)).body).toEqual({ valid: false });
    expectLimited(await specCall(fx.url, "GET", path));
  });
});
