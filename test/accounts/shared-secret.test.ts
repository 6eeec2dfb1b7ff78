/**
 * Shared-secret registration (§2.2, §2.3): the MAC vectors, every refusal in Synapse's order with its errcode,
 * message and status, the nonce's single use and 60-second life, and that a refused request writes nothing.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createAccountsContext, type AccountsContext } from "../../src/accounts/context.js";
import { TOKEN_LIFETIME_FIELD, computeRegistrationMac } from "../../src/accounts/registration-mac.js";
import {
  NONCE_TIMEOUT_MS,
  issueRegistrationNonce,
  purgeExpiredNonces,
  registerWithSharedSecret,
} from "../../src/accounts/shared-secret.js";
import { hashToken } from "../../src/accounts/tokens.js";
import type { Config } from "../../src/config/schema.js";
import type { Db } from "../../src/db/database.js";
import type { Stores } from "../../src/db/stores.js";
import { ErrCode, MatrixError } from "../../src/errors.js";
import { openAndMigrate } from "../../src/server.js";
import { createTestDatabase, forEachDatabase, type TestDatabase } from "../helpers/databases.js";
import { SHARED_SECRET, configFrom, rawConfigFor } from "../helpers/server.js";
import { refusal, expectError } from "./support.js";

describe("computeRegistrationMac", () => {
  it("matches the verified vectors of §2.3", () => {
    const mac = (admin: boolean, userType: string | null) =>
      computeRegistrationMac("shared_secret", "thisisanonce", "pepper_roni", "pizza", admin, userType);
    expect(mac(true, null)).toBe("48715842ad67d5dc9a9ee938a3bda4fcfae8d7c7");
    expect(mac(false, null)).toBe("cf2391885316861a8e3871bfdcd223ab3913221d");
    expect(mac(false, "bot")).toBe("b269635cb53e1adc15073ae7ffbd000b836b3105");
  });

  it("omits an empty user_type, as Synapse does for any falsy one", () => {
    expect(computeRegistrationMac("shared_secret", "thisisanonce", "pepper_roni", "pizza", false, "")).toBe(
      "cf2391885316861a8e3871bfdcd223ab3913221d",
    );
  });

  it("hashes non-ASCII secrets and fields as UTF-8 (vector from Python's hmac)", () => {
    expect(computeRegistrationMac(SHARED_SECRET, "n", "Ünïcode", "pässwörd ❄", false, "support")).toBe(
      "768be76069f7171434515039c8c39699e0732733",
    );
  });

  it("is lower-case hex of 40 characters, and every field changes it", () => {
    const base = computeRegistrationMac("s", "n", "u", "p", false, null);
    expect(base).toMatch(/^[0-9a-f]{40}$/);
    expect(computeRegistrationMac("t", "n", "u", "p", false, null)).not.toBe(base);
    expect(computeRegistrationMac("s", "m", "u", "p", false, null)).not.toBe(base);
    expect(computeRegistrationMac("s", "n", "U", "p", false, null)).not.toBe(base);
    expect(computeRegistrationMac("s", "n", "u", "q", false, null)).not.toBe(base);
    expect(computeRegistrationMac("s", "n", "u", "p", true, null)).not.toBe(base);
    // The NUL separators keep field boundaries: moving a character across one changes the MAC.
    expect(computeRegistrationMac("s", "n", "uu", "p", false, null)).not.toBe(
      computeRegistrationMac("s", "nu", "u", "p", false, null),
    );
  });
});

const T0 = 1_731_000_000_000;

forEachDatabase((kind) => {
  let testDb: TestDatabase;
  let db: Db;
  let stores: Stores;
  let config: Config;
  let clock: number;
  let ctx: AccountsContext;

  beforeEach(async () => {
    testDb = await createTestDatabase(kind);
    ({ db, stores } = await openAndMigrate({ database: testDb.config }));
    config = configFrom(rawConfigFor(testDb, { bcrypt_rounds: 4, password_config: { algorithm: "bcrypt" } }));
    clock = T0;
    ctx = createAccountsContext(config, stores, () => clock);
  });
  afterEach(async () => {
    await db.close();
  });

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

  interface Fields {
    username?: string;
    password?: string;
    admin?: boolean;
    user_type?: string | null;
    /** Overrides the MAC computed from the fields above. */
    mac?: unknown;
    [extra: string]: unknown;
  }

  /** A correctly MAC'd body for `nonce`, with `fields` on top. */
  function body(nonce: string, fields: Fields = {}): Record<string, unknown> {
    const username = fields.username ?? "alice";
    const password = fields.password ?? "s3cret pass";
    const admin = fields.admin ?? false;
    const userType = fields.user_type ?? null;
    const mac = computeRegistrationMac(SHARED_SECRET, nonce, username, password, admin, userType);
    return { nonce, username, password, admin, user_type: userType, mac, ...fields };
  }

  /** Whether the nonce can still be redeemed (which uses it up). */
  const nonceStillValid = (nonce: string) => stores.registrationNonces.consume(nonce, 0);

  /** Runs a request that must fail, checks that nothing was written, and returns the error. */
  async function refused(b: Record<string, unknown>, c: AccountsContext = ctx): Promise<MatrixError> {
    const before = await counts();
    const err = await refusal(registerWithSharedSecret(c, b));
    expect(await counts()).toEqual(before);
    return err;
  }

  describe("success", () => {
    it("registers the lower-cased user with a device and a working token", async () => {
      const nonce = await issueRegistrationNonce(ctx);
      expect(nonce).toMatch(/^[0-9a-f]{128}$/);
      const r = await registerWithSharedSecret(ctx, body(nonce, { username: "Alice" }));
      expect(r.user_id).toBe("@alice:localhost");
      expect(r.home_server).toBe("localhost");
      expect(r.access_token).toMatch(/^syt_YWxpY2U_[A-Za-z]{20}_[0-9A-Za-z]{6,}$/);
      expect(r.device_id).toMatch(/^[A-Z]{10}$/);
      expect(r.expires_in_ms).toBeUndefined();

      const user = await stores.users.get("@alice:localhost");
      expect(user?.admin).toBe(false);
      expect(user?.displayname).toBe("alice");
      expect(user?.userType).toBeNull();
      expect(user?.creationTs).toBe(Math.floor(T0 / 1000));
      expect(await ctx.hasher.verify("s3cret pass", user?.passwordHash ?? null)).toBe(true);
      expect(user?.passwordHash).toMatch(/^\$2b\$04\$/);
      const token = await stores.accessTokens.getByHash(hashToken(r.access_token!));
      expect(token).toMatchObject({ userId: "@alice:localhost", deviceId: r.device_id, validUntilMs: null });
      expect(await counts()).toEqual({ users: 1, devices: 1, tokens: 1 });
    });

    it("honours admin, user_type and displayname", async () => {
      const nonce = await issueRegistrationNonce(ctx);
      const r = await registerWithSharedSecret(
        ctx,
        body(nonce, { username: "bot1", admin: true, user_type: "bot", displayname: "The Bot" }),
      );
      const user = await stores.users.get(r.user_id);
      expect(user).toMatchObject({ admin: true, userType: "bot", displayname: "The Bot" });
    });

    it("treats admin by Python truthiness, and the MAC must say the same", async () => {
      const nonce = await issueRegistrationNonce(ctx);
      const mac = computeRegistrationMac(SHARED_SECRET, nonce, "boss", "pw", true, null);
      const r = await registerWithSharedSecret(ctx, { nonce, username: "boss", password: "pw", admin: "yes", mac });
      expect((await stores.users.get(r.user_id))?.admin).toBe(true);
    });

    it("inhibit_login creates the account only", async () => {
      const nonce = await issueRegistrationNonce(ctx);
      const r = await registerWithSharedSecret(ctx, body(nonce, { inhibit_login: true }));
      expect(r).toEqual({ user_id: "@alice:localhost", home_server: "localhost" });
      expect(await counts()).toEqual({ users: 1, devices: 0, tokens: 0 });
    });

    it("uses device_id and initial_device_display_name", async () => {
      const nonce = await issueRegistrationNonce(ctx);
      const r = await registerWithSharedSecret(
        ctx,
        body(nonce, { device_id: "MYDEVICE", initial_device_display_name: "Laptop" }),
      );
      expect(r.device_id).toBe("MYDEVICE");
      expect((await stores.devices.get("@alice:localhost", "MYDEVICE"))?.displayName).toBe("Laptop");
    });

    it("gives the token the requested lifetime", async () => {
      const nonce = await issueRegistrationNonce(ctx);
      const r = await registerWithSharedSecret(ctx, body(nonce, { [TOKEN_LIFETIME_FIELD]: 3_600_000 }));
      expect(r.expires_in_ms).toBe(3_600_000);
      expect((await stores.accessTokens.getByHash(hashToken(r.access_token!)))?.validUntilMs).toBe(T0 + 3_600_000);
    });

    it("accepts 512-character passwords counted in code points", async () => {
      const nonce = await issueRegistrationNonce(ctx);
      // 400 emoji are 800 UTF-16 units but 400 characters to Python.
      const password = "😀".repeat(400);
      const r = await registerWithSharedSecret(ctx, body(nonce, { password }));
      expect(await ctx.hasher.verify(password, (await stores.users.get(r.user_id))?.passwordHash ?? null)).toBe(true);
    });
  });

  describe("the nonce", () => {
    it("is single-use", async () => {
      const nonce = await issueRegistrationNonce(ctx);
      await registerWithSharedSecret(ctx, body(nonce));
      expectError(await refused(body(nonce, { username: "bob" })), ErrCode.Unknown, "unrecognised nonce");
      expect(await stores.users.get("@bob:localhost")).toBeNull();
    });

    it("an unknown nonce, or one that is not a string, is unrecognised", async () => {
      expectError(await refused(body("f".repeat(128))), ErrCode.Unknown, "unrecognised nonce");
      expectError(await refused({ ...body("x"), nonce: 12345 }), ErrCode.Unknown, "unrecognised nonce");
      expectError(await refused({ ...body("x"), nonce: null }), ErrCode.Unknown, "unrecognised nonce");
    });

    it("is good for 60 seconds inclusive, like Synapse", async () => {
      const nonce59 = await issueRegistrationNonce(ctx);
      const nonce60 = await issueRegistrationNonce(ctx);
      const nonce61 = await issueRegistrationNonce(ctx);
      expect(NONCE_TIMEOUT_MS).toBe(60_000);
      const at = (ms: number) => createAccountsContext(config, stores, () => T0 + ms);

      expectError(await refused(body(nonce61, { username: "c" }), at(61_000)), ErrCode.Unknown, "unrecognised nonce");
      expect((await registerWithSharedSecret(at(59_000), body(nonce59, { username: "a" }))).user_id).toBe(
        "@a:localhost",
      );
      expect((await registerWithSharedSecret(at(60_000), body(nonce60, { username: "b" }))).user_id).toBe(
        "@b:localhost",
      );
    });

    it("one millisecond past the timeout is too late", async () => {
      const nonce = await issueRegistrationNonce(ctx);
      clock = T0 + NONCE_TIMEOUT_MS + 1;
      expectError(await refused(body(nonce)), ErrCode.Unknown, "unrecognised nonce");
    });

    it("an expired nonce stays refused when the clock is later wound back", async () => {
      const old = await issueRegistrationNonce(ctx);
      clock = T0 + 120_000;
      // The purge (a background job's) deletes the expired one.
      expect(await purgeExpiredNonces(ctx)).toBe(1);
      clock = T0;
      expectError(await refused(body(old)), ErrCode.Unknown, "unrecognised nonce");
    });

    it("redeemed concurrently, registers exactly once", async () => {
      const nonce = await issueRegistrationNonce(ctx);
      const results = await Promise.allSettled(
        Array.from({ length: 20 }, (_, i) => registerWithSharedSecret(ctx, body(nonce, { username: `racer${i}` }))),
      );
      expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
      for (const r of results) {
        if (r.status === "rejected") {
          expect(r.reason).toBeInstanceOf(MatrixError);
          expect((r.reason as MatrixError).message).toBe("unrecognised nonce");
        }
      }
      expect(await counts()).toEqual({ users: 1, devices: 1, tokens: 1 });
    });
  });

  describe("each refusal, with its errcode, message and status, writing nothing", () => {
    it("1. shared secret not configured (and the nonce is left alone)", async () => {
      const nonce = await issueRegistrationNonce(ctx);
      const off = { ...ctx, sharedSecret: null };
      expectError(await refused(body(nonce), off), ErrCode.Unknown, "Shared secret registration is not enabled");
      expectError(await refused({}, off), ErrCode.Unknown, "Shared secret registration is not enabled");
      expect(await nonceStillValid(nonce)).toBe(true);
    });

    it("1. an empty secret counts as not configured", async () => {
      const nonce = await issueRegistrationNonce(ctx);
      expectError(
        await refused(body(nonce), { ...ctx, sharedSecret: "" }),
        ErrCode.Unknown,
        "Shared secret registration is not enabled",
      );
    });

    it("3. nonce missing", async () => {
      const { nonce: _n, ...rest } = body("x");
      expectError(await refused(rest), ErrCode.BadJson, "nonce must be specified");
    });

    it("6. username missing, wrong type, too long or with a NUL — and the nonce is used up", async () => {
      const cases: [Record<string, unknown>, ErrCode, string][] = [];
      const n1 = await issueRegistrationNonce(ctx);
      const { username: _u, ...noUser } = body(n1);
      cases.push([noUser, ErrCode.BadJson, "username must be specified"]);
      const n2 = await issueRegistrationNonce(ctx);
      cases.push([{ ...body(n2), username: 42 }, ErrCode.Unknown, "Invalid username"]);
      const n3 = await issueRegistrationNonce(ctx);
      cases.push([body(n3, { username: "a".repeat(513) }), ErrCode.Unknown, "Invalid username"]);
      const n4 = await issueRegistrationNonce(ctx);
      cases.push([body(n4, { username: "ali\0ce" }), ErrCode.Unknown, "Invalid username"]);
      const n5 = await issueRegistrationNonce(ctx);
      cases.push([{ ...body(n5), username: null }, ErrCode.Unknown, "Invalid username"]);
      for (const [b, errcode, message] of cases) {
        expectError(await refused(b), errcode, message);
        expect(await nonceStillValid(b.nonce as string)).toBe(false);
      }
    });

    it("6. a 512-character username passes step 6 and is refused by the username rules instead", async () => {
      const nonce = await issueRegistrationNonce(ctx);
      expectError(
        await refused(body(nonce, { username: "a".repeat(512) })),
        ErrCode.InvalidUsername,
        "User ID may not be longer than 255 characters",
      );
    });

    it("7. password missing, wrong type, too long or with a NUL — and the nonce is used up", async () => {
      const cases: [Record<string, unknown>, ErrCode, string][] = [];
      const n1 = await issueRegistrationNonce(ctx);
      const { password: _p, ...noPassword } = body(n1);
      cases.push([noPassword, ErrCode.BadJson, "password must be specified"]);
      const n2 = await issueRegistrationNonce(ctx);
      cases.push([{ ...body(n2), password: ["pw"] }, ErrCode.Unknown, "Invalid password"]);
      const n3 = await issueRegistrationNonce(ctx);
      cases.push([body(n3, { password: "p".repeat(513) }), ErrCode.Unknown, "Invalid password"]);
      const n4 = await issueRegistrationNonce(ctx);
      cases.push([body(n4, { password: "pass\0word" }), ErrCode.Unknown, "Invalid password"]);
      for (const [b, errcode, message] of cases) {
        expectError(await refused(b), errcode, message);
        expect(await nonceStillValid(b.nonce as string)).toBe(false);
      }
    });

    it("9. unknown user_type", async () => {
      const nonce = await issueRegistrationNonce(ctx);
      expectError(await refused(body(nonce, { user_type: "other" })), ErrCode.Unknown, "Invalid user type");
      expect(await nonceStillValid(nonce)).toBe(false);
    });

    it("10. mac missing", async () => {
      const nonce = await issueRegistrationNonce(ctx);
      const { mac: _m, ...noMac } = body(nonce);
      expectError(await refused(noMac), ErrCode.BadJson, "mac must be specified");
      expect(await nonceStillValid(nonce)).toBe(false);
    });

    it("11. wrong MAC is 403 M_UNKNOWN", async () => {
      const bad: Record<string, unknown>[] = [];
      const n = async () => issueRegistrationNonce(ctx);
      bad.push(body(await n(), { mac: "0".repeat(40) }));
      bad.push(body(await n(), { mac: "" }));
      bad.push(body(await n(), { mac: 12345 }));
      bad.push(body(await n(), { mac: null }));
      // Upper-case hex is not the MAC Synapse compares against.
      const n5 = await n();
      bad.push(
        body(n5, { mac: computeRegistrationMac(SHARED_SECRET, n5, "alice", "s3cret pass", false, null).toUpperCase() }),
      );
      // The MAC covers the username as sent, before lower-casing.
      const n6 = await n();
      bad.push({
        ...body(n6, { username: "Alice" }),
        mac: computeRegistrationMac(SHARED_SECRET, n6, "alice", "s3cret pass", false, null),
      });
      // A MAC made with another secret.
      const n7 = await n();
      bad.push(body(n7, { mac: computeRegistrationMac("wrong", n7, "alice", "s3cret pass", false, null) }));
      // MAC'd as not admin, sent as admin.
      const n8 = await n();
      bad.push({ ...body(n8), admin: true });
      // MAC'd without the user type, sent with it.
      const n9 = await n();
      bad.push({ ...body(n9), user_type: "bot" });
      for (const b of bad) {
        expectError(await refused(b), ErrCode.Unknown, "HMAC incorrect", 403);
        expect(await nonceStillValid(b.nonce as string)).toBe(false);
      }
    });

    it("12. refresh_token not a boolean", async () => {
      const nonce = await issueRegistrationNonce(ctx);
      expectError(
        await refused(body(nonce, { refresh_token: "yes" })),
        ErrCode.Unknown,
        "refresh_token must be a boolean",
      );
    });

    it("13. the username rules, after lower-casing", async () => {
      await registerWithSharedSecret(ctx, body(await issueRegistrationNonce(ctx), { username: "taken" }));
      expectError(
        await refused(body(await issueRegistrationNonce(ctx), { username: "TAKEN" })),
        ErrCode.UserInUse,
        "User ID already taken.",
      );
      expectError(
        await refused(body(await issueRegistrationNonce(ctx), { username: "12345" })),
        ErrCode.InvalidUsername,
        "Numeric user IDs are reserved for guest users.",
      );
      expectError(
        await refused(body(await issueRegistrationNonce(ctx), { username: "bad name" })),
        ErrCode.InvalidUsername,
        "User ID can only contain characters a-z, 0-9, or '=_-./+'",
      );
      expectError(
        await refused(body(await issueRegistrationNonce(ctx), { username: "_hidden" })),
        ErrCode.InvalidUsername,
        "User ID may not begin with _",
      );
    });

    it("the password policy applies here too", async () => {
      const strict = createAccountsContext(
        configFrom(
          rawConfigFor(testDb, {
            bcrypt_rounds: 4,
            password_config: { algorithm: "bcrypt", policy: { enabled: true, minimum_length: 10 } },
          }),
        ),
        stores,
        () => clock,
      );
      const nonce = await issueRegistrationNonce(strict);
      expectError(
        await refused(body(nonce, { password: "short" }), strict),
        ErrCode.PasswordTooShort,
        "The password must be at least 10 characters long",
      );
    });
  });

  describe("the order of the checks", () => {
    const order: [string, (nonce: string) => Record<string, unknown>, ErrCode, string, number?][] = [
      [
        "nonce missing before everything else",
        () => ({ username: 1, password: 2, user_type: "x" }),
        ErrCode.BadJson,
        "nonce must be specified",
      ],
      [
        "unrecognised nonce before a missing username",
        () => ({ nonce: "nope" }),
        ErrCode.Unknown,
        "unrecognised nonce",
      ],
      [
        "missing username before a missing password",
        (n) => ({ nonce: n }),
        ErrCode.BadJson,
        "username must be specified",
      ],
      [
        "invalid username before a missing password",
        (n) => ({ nonce: n, username: 7 }),
        ErrCode.Unknown,
        "Invalid username",
      ],
      [
        "missing password before an invalid user type",
        (n) => ({ nonce: n, username: "alice", user_type: "other" }),
        ErrCode.BadJson,
        "password must be specified",
      ],
      [
        "invalid password before an invalid user type",
        (n) => ({ nonce: n, username: "alice", password: 7, user_type: "other" }),
        ErrCode.Unknown,
        "Invalid password",
      ],
      [
        "invalid user type before a missing mac",
        (n) => ({ nonce: n, username: "alice", password: "pw", user_type: "other" }),
        ErrCode.Unknown,
        "Invalid user type",
      ],
      [
        "missing mac before a bad refresh_token",
        (n) => ({ nonce: n, username: "alice", password: "pw", refresh_token: "x" }),
        ErrCode.BadJson,
        "mac must be specified",
      ],
      [
        "wrong mac before a bad refresh_token and a bad username",
        (n) => ({ nonce: n, username: "12345", password: "pw", refresh_token: "x", mac: "0".repeat(40) }),
        ErrCode.Unknown,
        "HMAC incorrect",
        403,
      ],
      [
        "bad refresh_token before the username rules",
        (n) => body(n, { username: "12345", refresh_token: "x" }),
        ErrCode.Unknown,
        "refresh_token must be a boolean",
      ],
    ];
    it.each(order)("%s", async (_what, make, errcode, message, status) => {
      const nonce = await issueRegistrationNonce(ctx);
      expectError(await refused(make(nonce)), errcode, message, status ?? 400);
    });
  });
});
