/**
 * Synapse's leaky-bucket rate limiter (synapse-accounts.md §3.10): the algorithm itself on an injected clock, and
 * `rc_registration`, `rc_login.address`, `rc_login.account` and `rc_login.failed_attempts` over real HTTP. The
 * limiter keeps its buckets in memory, so one database (SQLite) is enough for the HTTP part.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RateLimiter } from "../../src/accounts/ratelimit.js";
import type { RateLimitConfig } from "../../src/config/schema.js";
import { MatrixError } from "../../src/http/errors.js";
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

/** Runs `fn` and returns the `retry_after_ms` of the 429 it throws, or null when it passes. */
function retryAfter(fn: () => void): number | null {
  try {
    fn();
    return null;
  } catch (err) {
    expect(err).toBeInstanceOf(MatrixError);
    const e = err as MatrixError;
    expect([e.status, e.errcode, e.message]).toEqual([429, "M_LIMIT_EXCEEDED", "Too Many Requests"]);
    return e.extra.retry_after_ms as number;
  }
}

describe("the leaky bucket (injected clock)", () => {
  it("allows burst_count at once, then leaks per_second", () => {
    let now = 1_000_000;
    const limiter = new RateLimiter(() => now);
    const rule = { per_second: 0.5, burst_count: 3 };
    const check = () => limiter.check("test", "key", rule);

    for (let i = 0; i < 3; i++) expect(retryAfter(check)).toBeNull();
    // Full: the next action is allowed once one has leaked away, 1 / 0.5 = 2 s after the bucket started.
    expect(retryAfter(check)).toBe(2000);
    now += 1000;
    expect(retryAfter(check)).toBe(1000);
    now += 999;
    expect(retryAfter(check)).toBe(1);
    now += 1;
    // One action has leaked out: exactly one more fits.
    expect(retryAfter(check)).toBeNull();
    expect(retryAfter(check)).toBe(2000);
    // Long enough for the bucket to drain entirely: the whole burst is back, and no more.
    now += 60_000;
    for (let i = 0; i < 3; i++) expect(retryAfter(check)).toBeNull();
    expect(retryAfter(check)).toBe(2000);
  });

  it("refusals are not counted, and update: false only asks", () => {
    let now = 0;
    const limiter = new RateLimiter(() => now);
    const rule = { per_second: 1, burst_count: 2 };
    for (let i = 0; i < 10; i++) expect(retryAfter(() => limiter.check("a", "k", rule, { update: false }))).toBeNull();
    limiter.check("a", "k", rule);
    limiter.check("a", "k", rule);
    for (let i = 0; i < 5; i++) expect(retryAfter(() => limiter.check("a", "k", rule))).toBe(1000);
    expect(retryAfter(() => limiter.check("a", "k", rule, { update: false }))).toBe(1000);
    now += 1000;
    // The five refusals did not fill the bucket further.
    expect(retryAfter(() => limiter.check("a", "k", rule))).toBeNull();
  });

  it("keys and limiter names have separate buckets", () => {
    const limiter = new RateLimiter(() => 0);
    const rule = { per_second: 0.1, burst_count: 1 };
    limiter.check("login", "@a:hs", rule);
    expect(retryAfter(() => limiter.check("login", "@a:hs", rule))).toBe(10_000);
    expect(retryAfter(() => limiter.check("login", "@b:hs", rule))).toBeNull();
    expect(retryAfter(() => limiter.check("register", "@a:hs", rule))).toBeNull();
  });

  it("counts several actions at once", () => {
    let now = 0;
    const limiter = new RateLimiter(() => now);
    const rule = { per_second: 2, burst_count: 4 };
    limiter.check("n", "k", rule, { actions: 3 });
    expect(retryAfter(() => limiter.check("n", "k", rule, { actions: 2 }))).not.toBeNull();
    expect(retryAfter(() => limiter.check("n", "k", rule, { actions: 1 }))).toBeNull();
    now += 1000;
    // Two leaked out (2 per second): two more fit.
    expect(retryAfter(() => limiter.check("n", "k", rule, { actions: 2 }))).toBeNull();
  });
});

describe("rc_registration", () => {
  let fx: Fixture;
  beforeAll(async () => {
    fx = await startFixture("sqlite", { ...OPEN_REGISTRATION, rc_registration: SMALL });
  });
  afterAll(() => closeFixture(fx));

  it("UIA round trips are not counted; burst_count sign-ups are, then 429 even for POST {}", async () => {
    for (let i = 0; i < 5; i++) expect((await register(fx.url, {})).status).toBe(401);
    await signUp(fx.url, "first", PASSWORD);
    await signUp(fx.url, "second", PASSWORD);
    const ms = expectLimited(
      await register(fx.url, { username: "third", password: PASSWORD, auth: { type: "m.login.dummy" } }),
    );
    // One sign-up leaks out after 1 / 0.1 = 10 s.
    expect(ms).toBeGreaterThan(9000);
    expect(ms).toBeLessThanOrEqual(10_000);
    expectLimited(await register(fx.url, {}));
    expect(await fx.server.server.accounts.stores.users.get("@third:localhost")).toBeNull();
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
