/**
 * `checkUsername` against Synapse's `check_username` (§3.6): each rule's errcode and message, and the order in
 * which the rules apply when a name breaks several. The "taken" rule reads the database, so it runs on both.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { checkLocalpartSyntax, checkUsername, type UsernameRules } from "../../src/accounts/username.js";
import type { Db } from "../../src/db/database.js";
import type { Stores } from "../../src/db/stores.js";
import { ErrCode } from "../../src/errors.js";
import { openAndMigrate } from "../../src/server.js";
import { createTestDatabase, forEachDatabase } from "../helpers/databases.js";
import { expectError, refusal } from "./support.js";

const RULES: UsernameRules = { serverName: "localhost", allowUnderscorePrefix: false };

const INVALID_CHARS = "User ID can only contain characters a-z, 0-9, or '=_-./+'";
const EMPTY = "User ID cannot be empty";
const UNDERSCORE = "User ID may not begin with _";
const TOO_LONG = "User ID may not be longer than 255 characters";
const TAKEN = "User ID already taken.";
const NUMERIC = "Numeric user IDs are reserved for guest users.";

/** `@` + localpart + `:localhost` is 11 characters more than the localpart. */
const MAX_LOCALPART = 255 - "@:localhost".length;

describe("checkLocalpartSyntax (no database)", () => {
  it.each([
    ["upper-case", "Alice"],
    ["an exclamation mark", "alice!"],
    ["a colon", "al:ce"],
    ["a space", "al ce"],
    ["a non-ASCII letter", "alicé"],
    ["a fullwidth letter", "ａlice"],
    ["an @", "@alice"],
    ["a NUL", "al\0ce"],
    ["a newline", "alice\n"],
    ["a hash", "#alice"],
  ])("refuses %s", async (_what, localpart) => {
    expectError(await refusal(() => checkLocalpartSyntax(localpart, RULES)), ErrCode.InvalidUsername, INVALID_CHARS);
  });

  it("accepts every allowed character", () => {
    expect(() => checkLocalpartSyntax("az09._=-/+", RULES)).not.toThrow();
    expect(() => checkLocalpartSyntax("a_b", RULES)).not.toThrow();
  });

  it("refuses the empty localpart", async () => {
    expectError(await refusal(() => checkLocalpartSyntax("", RULES)), ErrCode.InvalidUsername, EMPTY);
  });

  it("refuses a leading underscore unless allowUnderscorePrefix", async () => {
    expectError(await refusal(() => checkLocalpartSyntax("_bridge", RULES)), ErrCode.InvalidUsername, UNDERSCORE);
    expect(() => checkLocalpartSyntax("_bridge", { ...RULES, allowUnderscorePrefix: true })).not.toThrow();
  });

  it("accepts a full user ID of exactly 255 characters and refuses 256", async () => {
    const ok = "a".repeat(MAX_LOCALPART);
    expect(`@${ok}:localhost`).toHaveLength(255);
    expect(() => checkLocalpartSyntax(ok, RULES)).not.toThrow();
    const long = "a".repeat(MAX_LOCALPART + 1);
    expectError(await refusal(() => checkLocalpartSyntax(long, RULES)), ErrCode.InvalidUsername, TOO_LONG);
  });

  it("counts the server name in the 255 limit", async () => {
    const rules = { ...RULES, serverName: "matrix.example.org" };
    const ok = "a".repeat(255 - "@:matrix.example.org".length);
    expect(() => checkLocalpartSyntax(ok, rules)).not.toThrow();
    expectError(await refusal(() => checkLocalpartSyntax(`${ok}a`, rules)), ErrCode.InvalidUsername, TOO_LONG);
    // The same localpart is fine on the shorter server name.
    expect(() => checkLocalpartSyntax(`${ok}a`, RULES)).not.toThrow();
  });

  describe("order", () => {
    it("invalid characters before the underscore rule", async () => {
      expectError(await refusal(() => checkLocalpartSyntax("_Alice", RULES)), ErrCode.InvalidUsername, INVALID_CHARS);
    });

    it("invalid characters before the length rule", async () => {
      const long = `${"a".repeat(300)}!`;
      expectError(await refusal(() => checkLocalpartSyntax(long, RULES)), ErrCode.InvalidUsername, INVALID_CHARS);
    });

    it("the underscore rule before the length rule", async () => {
      const long = `_${"a".repeat(300)}`;
      expectError(await refusal(() => checkLocalpartSyntax(long, RULES)), ErrCode.InvalidUsername, UNDERSCORE);
    });

    it("the underscore rule before the numeric rule", async () => {
      expectError(await refusal(() => checkLocalpartSyntax("_123", RULES)), ErrCode.InvalidUsername, UNDERSCORE);
    });
  });
});

forEachDatabase((kind) => {
  let db: Db;
  let stores: Stores;

  beforeEach(async () => {
    ({ db, stores } = await openAndMigrate({ database: (await createTestDatabase(kind)).config }));
  });
  afterEach(async () => {
    await db.close();
  });

  /** Puts an account straight into the table, past every rule (as an old Synapse database might hold it). */
  const existing = (userId: string) =>
    stores.users.insert({ userId, passwordHash: null, creationTs: 1, admin: false, userType: null, displayname: null });

  describe("checkUsername", () => {
    it("accepts a free, valid localpart", async () => {
      await expect(checkUsername("alice", RULES, stores.users)).resolves.toBeUndefined();
    });

    it("refuses a taken localpart", async () => {
      await existing("@alice:localhost");
      expectError(await refusal(() => checkUsername("alice", RULES, stores.users)), ErrCode.UserInUse, TAKEN);
    });

    it("treats a differently-cased existing account as taken", async () => {
      await existing("@Alice:localhost");
      expectError(await refusal(() => checkUsername("alice", RULES, stores.users)), ErrCode.UserInUse, TAKEN);
    });

    it("only counts accounts of this server as taken", async () => {
      await existing("@alice:elsewhere.example");
      await expect(checkUsername("alice", RULES, stores.users)).resolves.toBeUndefined();
    });

    it("a prefix of a taken name is free", async () => {
      await existing("@alice2:localhost");
      await expect(checkUsername("alice", RULES, stores.users)).resolves.toBeUndefined();
    });

    it("refuses a purely numeric localpart", async () => {
      expectError(await refusal(() => checkUsername("12345", RULES, stores.users)), ErrCode.InvalidUsername, NUMERIC);
      await expect(checkUsername("12345a", RULES, stores.users)).resolves.toBeUndefined();
    });

    it("a leading underscore is fine when allowed", async () => {
      await expect(
        checkUsername("_bridge", { ...RULES, allowUnderscorePrefix: true }, stores.users),
      ).resolves.toBeUndefined();
    });

    it("skipInUseCheck skips only the taken rule", async () => {
      await existing("@alice:localhost");
      await existing("@123:localhost");
      await expect(checkUsername("alice", RULES, stores.users, { skipInUseCheck: true })).resolves.toBeUndefined();
      expectError(
        await refusal(() => checkUsername("123", RULES, stores.users, { skipInUseCheck: true })),
        ErrCode.InvalidUsername,
        NUMERIC,
      );
      expectError(
        await refusal(() => checkUsername("Alice", RULES, stores.users, { skipInUseCheck: true })),
        ErrCode.InvalidUsername,
        INVALID_CHARS,
      );
    });

    describe("order", () => {
      it("a taken numeric localpart is M_USER_IN_USE (taken before numeric)", async () => {
        await existing("@123:localhost");
        expectError(await refusal(() => checkUsername("123", RULES, stores.users)), ErrCode.UserInUse, TAKEN);
      });

      it("a taken upper-case localpart is refused for its characters, not as taken", async () => {
        await existing("@alice:localhost");
        expectError(
          await refusal(() => checkUsername("Alice", RULES, stores.users)),
          ErrCode.InvalidUsername,
          INVALID_CHARS,
        );
      });

      it("a taken underscore localpart is refused for the underscore", async () => {
        await existing("@_bot:localhost");
        expectError(
          await refusal(() => checkUsername("_bot", RULES, stores.users)),
          ErrCode.InvalidUsername,
          UNDERSCORE,
        );
      });

      it("'_123' gets the underscore error, not the numeric one", async () => {
        expectError(
          await refusal(() => checkUsername("_123", RULES, stores.users)),
          ErrCode.InvalidUsername,
          UNDERSCORE,
        );
      });

      it("a taken over-long localpart is refused for its length (length before taken)", async () => {
        const long = "a".repeat(MAX_LOCALPART + 1);
        await existing(`@${long}:localhost`);
        expectError(await refusal(() => checkUsername(long, RULES, stores.users)), ErrCode.InvalidUsername, TOO_LONG);
      });

      it("an over-long numeric localpart is refused for its length (length before numeric)", async () => {
        const long = "1".repeat(MAX_LOCALPART + 1);
        expectError(await refusal(() => checkUsername(long, RULES, stores.users)), ErrCode.InvalidUsername, TOO_LONG);
      });

      it("a 255-character numeric localpart passes the length rule and fails as numeric", async () => {
        const numeric = "1".repeat(MAX_LOCALPART);
        expectError(await refusal(() => checkUsername(numeric, RULES, stores.users)), ErrCode.InvalidUsername, NUMERIC);
      });

      it("the empty localpart is refused as empty, before any lookup", async () => {
        expectError(await refusal(() => checkUsername("", RULES, stores.users)), ErrCode.InvalidUsername, EMPTY);
      });
    });
  });
});
