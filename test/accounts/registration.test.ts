/**
 * `registerUser`, the one path every front end creates accounts through: atomic user + device + token, Synapse's
 * defaults and refusals, device rules (§6.3), and exactly one winner when many register the same name at once.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createAccountsContext, type AccountsContext } from "../../src/accounts/context.js";
import { registerUser, type RegisterUserRequest } from "../../src/accounts/registration.js";
import { startSession } from "../../src/accounts/sessions.js";
import { hashToken } from "../../src/accounts/tokens.js";
import type { Db } from "../../src/db/database.js";
import type { Stores } from "../../src/db/stores.js";
import { ErrCode, MatrixError } from "../../src/errors.js";
import { openAndMigrate } from "../../src/server.js";
import { createTestDatabase, forEachDatabase, type TestDatabase } from "../helpers/databases.js";
import { configFrom, rawConfigFor } from "../helpers/server.js";
import { refusal, expectError } from "./support.js";

const T0 = 1_731_000_000_456;
const ACCESS_TOKEN_RE = /^syt_[A-Za-z0-9+/]+_[A-Za-z]{20}_[0-9A-Za-z]{6,}$/;

function request(overrides: Partial<RegisterUserRequest> = {}): RegisterUserRequest {
  return {
    localpart: "alice",
    password: "s3cret pass",
    admin: false,
    userType: null,
    displayname: null,
    login: { deviceId: null, initialDeviceDisplayName: null, validUntilMs: null },
    ...overrides,
  };
}

forEachDatabase((kind) => {
  let testDb: TestDatabase;
  let db: Db;
  let stores: Stores;
  let ctx: AccountsContext;

  beforeEach(async () => {
    testDb = await createTestDatabase(kind);
    ({ db, stores } = await openAndMigrate({ database: testDb.config }));
    ctx = contextWith({});
  });
  afterEach(async () => {
    await db.close();
  });

  /** A context over this test's stores with `password_config` merged in (bcrypt at cost 4 unless said). */
  function contextWith(passwordConfig: Record<string, unknown>): AccountsContext {
    const config = configFrom(
      rawConfigFor(testDb, { bcrypt_rounds: 4, password_config: { algorithm: "bcrypt", ...passwordConfig } }),
    );
    return createAccountsContext(config, stores, () => T0);
  }

  async function counts(): Promise<{ users: number; devices: number; tokens: number }> {
    const n = async (table: "users" | "devices" | "access_tokens") =>
      Number(
        (
          await db.kysely
            .selectFrom(table)
            .select((eb) => eb.fn.countAll<number | string | bigint>().as("n"))
            .executeTakeFirstOrThrow()
        ).n,
      );
    return { users: await n("users"), devices: await n("devices"), tokens: await n("access_tokens") };
  }

  /** Runs a registration that must be refused, checks that it wrote nothing, and returns the error. */
  async function refused(req: RegisterUserRequest, c: AccountsContext = ctx): Promise<MatrixError> {
    const before = await counts();
    const err = await refusal(registerUser(c, req));
    expect(await counts()).toEqual(before);
    return err;
  }

  describe("a successful registration", () => {
    it("creates the user, a device and an access token together", async () => {
      const r = await registerUser(
        ctx,
        request({ login: { deviceId: null, initialDeviceDisplayName: "Phone", validUntilMs: null } }),
      );
      expect(r.userId).toBe("@alice:localhost");
      expect(r.session?.accessToken).toMatch(ACCESS_TOKEN_RE);
      expect(r.session?.accessToken.startsWith("syt_YWxpY2U_")).toBe(true);
      expect(r.session?.deviceId).toMatch(/^[A-Z]{10}$/);
      expect(r.session?.validUntilMs).toBeNull();

      const user = await stores.users.get("@alice:localhost");
      expect(user).toMatchObject({
        userId: "@alice:localhost",
        creationTs: Math.floor(T0 / 1000),
        admin: false,
        isGuest: false,
        userType: null,
        deactivated: false,
        approved: true,
      });
      expect(await ctx.hasher.verify("s3cret pass", user!.passwordHash)).toBe(true);
      expect(await ctx.hasher.verify("wrong", user!.passwordHash)).toBe(false);

      const device = await stores.devices.get("@alice:localhost", r.session!.deviceId);
      expect(device).toMatchObject({ displayName: "Phone", createdTs: T0 });
      const token = await stores.accessTokens.getByHash(hashToken(r.session!.accessToken));
      expect(token).toMatchObject({
        tokenHash: hashToken(r.session!.accessToken),
        userId: "@alice:localhost",
        deviceId: r.session!.deviceId,
        createdTs: T0,
        validUntilMs: null,
        puppetsUserId: null,
      });
      expect(await counts()).toEqual({ users: 1, devices: 1, tokens: 1 });
    });

    it("never stores the password or the token in the clear", async () => {
      const r = await registerUser(ctx, request());
      const user = await db.kysely.selectFrom("users").selectAll().executeTakeFirstOrThrow();
      expect(user.password_hash).not.toContain("s3cret pass");
      const tokens = await db.kysely.selectFrom("access_tokens").select("token_hash").execute();
      expect(tokens.map((t) => t.token_hash)).toEqual([hashToken(r.session!.accessToken)]);
    });

    it("with login: null (inhibit_login), creates no device and no token", async () => {
      const r = await registerUser(ctx, request({ login: null }));
      expect(r).toEqual({ userId: "@alice:localhost", session: null });
      expect(await counts()).toEqual({ users: 1, devices: 0, tokens: 0 });
    });

    it("without a password, stores no hash", async () => {
      await registerUser(ctx, request({ password: null }));
      expect((await stores.users.get("@alice:localhost"))?.passwordHash).toBeNull();
    });

    it("defaults the display name to the localpart, and keeps a given one", async () => {
      await registerUser(ctx, request({ localpart: "carol" }));
      expect((await stores.users.get("@carol:localhost"))?.displayname).toBe("carol");
      await registerUser(ctx, request({ localpart: "dave", displayname: "Dave D." }));
      expect((await stores.users.get("@dave:localhost"))?.displayname).toBe("Dave D.");
    });

    it("records admin", async () => {
      await registerUser(ctx, request({ admin: true }));
      expect((await stores.users.get("@alice:localhost"))?.admin).toBe(true);
    });

    it.each(["support", "bot"])("accepts user_type %s", async (userType) => {
      await registerUser(ctx, request({ userType }));
      expect((await stores.users.get("@alice:localhost"))?.userType).toBe(userType);
    });

    it("uses the client's device ID and gives the token its expiry", async () => {
      const r = await registerUser(
        ctx,
        request({ login: { deviceId: "MY-DEVICE", initialDeviceDisplayName: null, validUntilMs: T0 + 1000 } }),
      );
      expect(r.session).toMatchObject({ deviceId: "MY-DEVICE", validUntilMs: T0 + 1000 });
      expect((await stores.accessTokens.getByHash(hashToken(r.session!.accessToken)))?.validUntilMs).toBe(T0 + 1000);
      expect(await stores.devices.get("@alice:localhost", "MY-DEVICE")).not.toBeNull();
    });

    it("two users may each have a device with the same ID", async () => {
      const login = { deviceId: "SHARED", initialDeviceDisplayName: null, validUntilMs: null };
      await registerUser(ctx, request({ localpart: "a1", login }));
      await registerUser(ctx, request({ localpart: "a2", login }));
      expect(await counts()).toEqual({ users: 2, devices: 2, tokens: 2 });
    });

    it("hashes with the configured algorithm", async () => {
      await registerUser(contextWith({ algorithm: "argon2id" }), request());
      expect((await stores.users.get("@alice:localhost"))?.passwordHash).toMatch(/^\$argon2id\$/);
    });
  });

  describe("device reuse", () => {
    it("a session on an existing device ID reuses the device and keeps its other tokens", async () => {
      const r = await registerUser(
        ctx,
        request({ login: { deviceId: "KEEPME", initialDeviceDisplayName: "Original", validUntilMs: null } }),
      );
      const second = await stores.transaction((t) =>
        startSession(t, {
          userId: r.userId,
          localpart: "alice",
          deviceId: "KEEPME",
          initialDeviceDisplayName: "Renamed?",
          validUntilMs: null,
          now: T0 + 5,
        }),
      );
      expect(second.deviceId).toBe("KEEPME");
      expect(second.accessToken).not.toBe(r.session!.accessToken);
      const devices = await stores.devices.listForUser(r.userId);
      expect(devices).toHaveLength(1);
      expect(devices[0]).toMatchObject({ deviceId: "KEEPME", displayName: "Original", createdTs: T0 });
      expect(await stores.accessTokens.getByHash(hashToken(r.session!.accessToken))).not.toBeNull();
      expect((await stores.accessTokens.getByHash(hashToken(second.accessToken)))?.deviceId).toBe("KEEPME");
      expect(await counts()).toEqual({ users: 1, devices: 1, tokens: 2 });
    });
  });

  describe("refusals write nothing", () => {
    it("an invalid username", async () => {
      expectError(
        await refused(request({ localpart: "Alice" })),
        ErrCode.InvalidUsername,
        "User ID can only contain characters a-z, 0-9, or '=_-./+'",
      );
      expectError(
        await refused(request({ localpart: "1234" })),
        ErrCode.InvalidUsername,
        "Numeric user IDs are reserved for guest users.",
      );
    });

    it("a taken username, whatever its case in the database", async () => {
      await stores.users.insert({
        userId: "@Alice:localhost",
        passwordHash: null,
        creationTs: 1,
        admin: false,
        userType: null,
        displayname: null,
      });
      expectError(await refused(request()), ErrCode.UserInUse, "User ID already taken.");
    });

    it.each(["other", "Bot", ""])('user_type %j is M_UNKNOWN "Invalid user type"', async (userType) => {
      expectError(await refused(request({ userType })), ErrCode.Unknown, "Invalid user type");
    });

    it("a user_type that is not a string", async () => {
      const req = { ...request(), userType: 7 as unknown as string };
      expectError(await refused(req), ErrCode.Unknown, "Invalid user type");
    });

    it("a device display name over 100 characters is 400 M_TOO_LARGE", async () => {
      const login = { deviceId: null, initialDeviceDisplayName: "d".repeat(101), validUntilMs: null };
      expectError(await refused(request({ login })), ErrCode.TooLarge, "Device display name is too long (max 100)");
    });

    it("a device display name of exactly 100 characters is fine, counted as Python counts them", async () => {
      await registerUser(
        ctx,
        request({
          localpart: "a1",
          login: { deviceId: "D1", initialDeviceDisplayName: "d".repeat(100), validUntilMs: null },
        }),
      );
      // 100 emoji are 200 UTF-16 units but 100 characters to Synapse.
      await registerUser(
        ctx,
        request({
          localpart: "a2",
          login: { deviceId: "D2", initialDeviceDisplayName: "📱".repeat(100), validUntilMs: null },
        }),
      );
      expect((await stores.devices.get("@a2:localhost", "D2"))?.displayName).toBe("📱".repeat(100));
      const login = { deviceId: null, initialDeviceDisplayName: "📱".repeat(101), validUntilMs: null };
      expectError(
        await refused(request({ localpart: "a3", login })),
        ErrCode.TooLarge,
        "Device display name is too long (max 100)",
      );
    });

    it("a device ID over 512 characters is M_INVALID_PARAM", async () => {
      const login = { deviceId: "D".repeat(513), initialDeviceDisplayName: null, validUntilMs: null };
      expectError(
        await refused(request({ login })),
        ErrCode.InvalidParam,
        "device_id cannot be longer than 512 characters.",
      );
      await registerUser(
        ctx,
        request({
          localpart: "ok",
          login: { deviceId: "D".repeat(512), initialDeviceDisplayName: null, validUntilMs: null },
        }),
      );
      expect(await stores.devices.get("@ok:localhost", "D".repeat(512))).not.toBeNull();
    });

    it("a device ID's length is counted in code points, as Python counts it", async () => {
      const long = "📱".repeat(512);
      await registerUser(
        ctx,
        request({ localpart: "ok", login: { deviceId: long, initialDeviceDisplayName: null, validUntilMs: null } }),
      );
      expect(await stores.devices.get("@ok:localhost", long)).not.toBeNull();
      const login = { deviceId: `${long}📱`, initialDeviceDisplayName: null, validUntilMs: null };
      expectError(
        await refused(request({ login })),
        ErrCode.InvalidParam,
        "device_id cannot be longer than 512 characters.",
      );
    });

    it("device checks are skipped when there is no login", async () => {
      await registerUser(ctx, request({ login: null }));
      expect(await counts()).toEqual({ users: 1, devices: 0, tokens: 0 });
    });
  });

  describe("the password policy (§3.9)", () => {
    const full = {
      enabled: true,
      minimum_length: 8,
      require_digit: true,
      require_symbol: true,
      require_uppercase: true,
      require_lowercase: true,
    };

    it.each([
      ["too short", "aB1!", ErrCode.PasswordTooShort, "The password must be at least 8 characters long"],
      [
        "too short, counted in code points (4 emoji are 8 UTF-16 units)",
        "😀😀😀😀",
        ErrCode.PasswordTooShort,
        "The password must be at least 8 characters long",
      ],
      ["no digit", "abcdefgh", ErrCode.PasswordNoDigit, "The password must include at least one digit"],
      [
        "no digit (only non-ASCII digits)",
        "Abcdefg!٣",
        ErrCode.PasswordNoDigit,
        "The password must include at least one digit",
      ],
      ["no symbol", "abcdefg1", ErrCode.PasswordNoSymbol, "The password must include at least one symbol"],
      [
        "no uppercase",
        "abcdefg1!",
        ErrCode.PasswordNoUppercase,
        "The password must include at least one uppercase letter",
      ],
      [
        "no lowercase",
        "ABCDEFG1!",
        ErrCode.PasswordNoLowercase,
        "The password must include at least one lowercase letter",
      ],
    ])("refuses a password with %s", async (_what, password, errcode, message) => {
      expectError(await refused(request({ password }), contextWith({ policy: full })), errcode, message);
    });

    it("checks in Synapse's order: length, digit, symbol, uppercase, lowercase", async () => {
      const c = contextWith({ policy: full });
      // Breaks every rule but the previous ones each time.
      expectError(
        await refused(request({ password: "" }), c),
        ErrCode.PasswordTooShort,
        "The password must be at least 8 characters long",
      );
      expectError(
        await refused(request({ password: "        " }), c),
        ErrCode.PasswordNoDigit,
        "The password must include at least one digit",
      );
      expectError(
        await refused(request({ password: "aaaaaaa1" }), c),
        ErrCode.PasswordNoSymbol,
        "The password must include at least one symbol",
      );
      expectError(
        await refused(request({ password: "aaaaaa1!" }), c),
        ErrCode.PasswordNoUppercase,
        "The password must include at least one uppercase letter",
      );
      expectError(
        await refused(request({ password: "AAAAAA1!" }), c),
        ErrCode.PasswordNoLowercase,
        "The password must include at least one lowercase letter",
      );
    });

    it("a non-ASCII letter counts as a symbol, as [^a-zA-Z0-9] says", async () => {
      const c = contextWith({ policy: { ...full, require_uppercase: false } });
      await registerUser(c, request({ password: "abcdefg1é" }));
      expect(await counts()).toEqual({ users: 1, devices: 1, tokens: 1 });
    });

    it("accepts a password meeting every rule", async () => {
      const c = contextWith({ policy: full });
      await registerUser(c, request({ password: "Abcdefg1!" }));
      expect(await c.hasher.verify("Abcdefg1!", (await stores.users.get("@alice:localhost"))!.passwordHash)).toBe(true);
    });

    it("a rule left off is not applied", async () => {
      const c = contextWith({ policy: { enabled: true, minimum_length: 3 } });
      await registerUser(c, request({ password: "abc" }));
      expect(await counts()).toEqual({ users: 1, devices: 1, tokens: 1 });
      expectError(
        await refused(request({ localpart: "bob", password: "ab" }), c),
        ErrCode.PasswordTooShort,
        "The password must be at least 3 characters long",
      );
    });

    it("a disabled policy applies no rule, even with rules configured", async () => {
      const c = contextWith({ policy: { ...full, enabled: false } });
      await registerUser(c, request({ password: "a" }));
      expect(await counts()).toEqual({ users: 1, devices: 1, tokens: 1 });
    });

    it("no password at all is not checked against the policy", async () => {
      await registerUser(contextWith({ policy: full }), request({ password: null }));
      expect((await stores.users.get("@alice:localhost"))?.passwordHash).toBeNull();
    });
  });

  describe("concurrency", () => {
    it("200 concurrent registrations of one name: one wins, 199 hear M_USER_IN_USE, one account results", async () => {
      const results = await Promise.allSettled(
        Array.from({ length: 200 }, (_, i) =>
          registerUser(
            ctx,
            request({
              localpart: "contested",
              password: `pw-${i}`,
              login: { deviceId: null, initialDeviceDisplayName: `device ${i}`, validUntilMs: null },
            }),
          ),
        ),
      );
      const won = results.filter((r) => r.status === "fulfilled");
      const lost = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
      expect(won).toHaveLength(1);
      expect(lost).toHaveLength(199);
      for (const l of lost) {
        expect(l.reason).toBeInstanceOf(MatrixError);
        expect({ errcode: (l.reason as MatrixError).errcode, message: (l.reason as MatrixError).message }).toEqual({
          errcode: ErrCode.UserInUse,
          message: "User ID already taken.",
        });
      }
      expect(await counts()).toEqual({ users: 1, devices: 1, tokens: 1 });

      // The account, device and token that exist are the winner's, together.
      const winner = (won[0] as PromiseFulfilledResult<Awaited<ReturnType<typeof registerUser>>>).value;
      const token = await stores.accessTokens.getByHash(hashToken(winner.session!.accessToken));
      expect(token?.deviceId).toBe(winner.session!.deviceId);
      const device = await stores.devices.get("@contested:localhost", winner.session!.deviceId);
      const i = Number(device?.displayName?.replace("device ", ""));
      const user = await stores.users.get("@contested:localhost");
      expect(await ctx.hasher.verify(`pw-${i}`, user!.passwordHash)).toBe(true);
    });

    it("concurrent registrations of different names all succeed", async () => {
      const results = await Promise.allSettled(
        Array.from({ length: 50 }, (_, i) => registerUser(ctx, request({ localpart: `user${i}` }))),
      );
      expect(results.filter((r) => r.status === "rejected")).toEqual([]);
      expect(await counts()).toEqual({ users: 50, devices: 50, tokens: 50 });
    });
  });
});
