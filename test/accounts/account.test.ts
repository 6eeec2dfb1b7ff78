/**
 * `setPassword` and `deactivateAccount` called directly, as the admin API and the CLI will: no requester, so no
 * session is kept; the policy applies to them too; refusals write nothing. On SQLite and PostgreSQL.
 */
import { afterEach, beforeEach, expect, it } from "vitest";
import { deactivateAccount, setPassword } from "../../src/accounts/account.js";
import { createAccountsContext, type AccountsContext } from "../../src/accounts/context.js";
import { registerUser } from "../../src/accounts/registration.js";
import { startSession } from "../../src/accounts/sessions.js";
import type { Db } from "../../src/db/database.js";
import type { Stores } from "../../src/db/stores.js";
import { ErrCode } from "../../src/errors.js";
import { openAndMigrate } from "../../src/server.js";
import { createTestDatabase, forEachDatabase, type TestDatabase } from "../helpers/databases.js";
import { configFrom, rawConfigFor } from "../helpers/server.js";
import { refusal } from "./support.js";

const T0 = 1_731_000_000_000;

forEachDatabase((kind) => {
  let testDb: TestDatabase;
  let db: Db;
  let stores: Stores;
  let ctx: AccountsContext;

  function contextWith(passwordConfig: Record<string, unknown>): AccountsContext {
    const config = configFrom(
      rawConfigFor(testDb, { bcrypt_rounds: 4, password_config: { algorithm: "bcrypt", ...passwordConfig } }),
    );
    return createAccountsContext(config, stores, () => T0);
  }

  beforeEach(async () => {
    testDb = await createTestDatabase(kind);
    ({ db, stores } = await openAndMigrate({ database: testDb.config }));
    ctx = contextWith({});
  });
  afterEach(async () => {
    await db.close();
  });

  /** alice with two devices (one with a refresh token) and a login token. */
  async function alice(): Promise<void> {
    await registerUser(ctx, {
      localpart: "alice",
      password: "old password",
      admin: false,
      userType: null,
      displayname: null,
      login: { deviceId: "D1", initialDeviceDisplayName: null, validUntilMs: null },
    });
    await stores.transaction((t) =>
      startSession(t, {
        userId: "@alice:localhost",
        localpart: "alice",
        deviceId: "D2",
        initialDeviceDisplayName: null,
        validUntilMs: null,
        refresh: { expiryTs: null, ultimateSessionExpiryTs: null },
        now: T0,
      }),
    );
    await stores.loginTokens.insert("hash-of-a-login-token", "@alice:localhost", T0 + 60_000);
  }

  async function count(table: "devices" | "access_tokens" | "refresh_tokens" | "login_tokens"): Promise<number> {
    const row = await db.kysely
      .selectFrom(table)
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .where("user_id", "=", "@alice:localhost")
      .executeTakeFirstOrThrow();
    return row.n;
  }

  const verify = async (password: string) =>
    ctx.hasher.verify(password, (await stores.users.get("@alice:localhost"))!.passwordHash);

  it("setPassword without a requester logs out every session when asked", async () => {
    await alice();
    await setPassword(ctx, "@alice:localhost", "new password", { logoutDevices: true });
    expect(await verify("new password")).toBe(true);
    expect(await verify("old password")).toBe(false);
    expect([await count("devices"), await count("access_tokens"), await count("refresh_tokens")]).toEqual([0, 0, 0]);
  });

  it("setPassword keeps every session when not asked to log out", async () => {
    await alice();
    await setPassword(ctx, "@alice:localhost", "new password", { logoutDevices: false });
    expect(await verify("new password")).toBe(true);
    expect([await count("devices"), await count("access_tokens"), await count("refresh_tokens")]).toEqual([2, 2, 1]);
  });

  it("setPassword applies the policy to every caller, and refuses unknown users and disabled passwords", async () => {
    await alice();
    ctx = contextWith({ policy: { enabled: true, minimum_length: 20 } });
    const weak = await refusal(setPassword(ctx, "@alice:localhost", "short", { logoutDevices: true }));
    expect([weak.errcode, weak.status]).toEqual([ErrCode.PasswordTooShort, 400]);
    const unknown = await refusal(
      setPassword(ctx, "@nobody:localhost", "a long enough password", { logoutDevices: true }),
    );
    expect([unknown.errcode, unknown.message, unknown.status]).toEqual([ErrCode.NotFound, "Unknown user", 404]);
    ctx = contextWith({ enabled: false });
    const off = await refusal(setPassword(ctx, "@alice:localhost", "whatever", { logoutDevices: true }));
    expect([off.errcode, off.message, off.status]).toEqual([ErrCode.Forbidden, "Password change disabled", 403]);
    expect(await verify("old password")).toBe(true);
    expect(await count("devices")).toBe(2);
  });

  it("deactivateAccount removes every way in and keeps the profile unless erasing", async () => {
    await alice();
    expect(await deactivateAccount(ctx, "@alice:localhost", { erase: false })).toEqual({
      idServerUnbindResult: "no-support",
    });
    const user = await stores.users.get("@alice:localhost");
    expect(user).toMatchObject({ deactivated: true, passwordHash: null, displayname: "alice" });
    for (const table of ["devices", "access_tokens", "refresh_tokens", "login_tokens"] as const) {
      expect(await count(table), table).toBe(0);
    }
    await deactivateAccount(ctx, "@alice:localhost", { erase: true });
    expect(await stores.users.get("@alice:localhost")).toMatchObject({
      deactivated: true,
      displayname: null,
      avatarUrl: null,
    });
    const unknown = await refusal(deactivateAccount(ctx, "@nobody:localhost", { erase: false }));
    expect([unknown.errcode, unknown.message, unknown.status]).toEqual([ErrCode.NotFound, "User not found", 404]);
  });
});
