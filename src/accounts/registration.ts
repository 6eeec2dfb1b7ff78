/**
 * @module Creating an account: the one path every front end (client API, shared-secret API, admin API, CLI,
 * console) goes through, so the username rules and password policy cannot be skipped.
 *
 * The account, its device and its access token are written in one transaction: a crash or a lost race leaves
 * either all of them or none.
 */
import { isUniqueViolation } from "../db/database.js";
import { ErrCode, MatrixError } from "../errors.js";
import { countRegistration } from "../metrics/metrics.js";
import type { AccountsContext } from "./context.js";
import { checkPasswordPolicy } from "./password-policy.js";
import type { Tables } from "../db/stores.js";
import type { NewUser } from "../db/users.js";
import { checkDeviceParams, startSession, type RefreshExpiry, type Session } from "./sessions.js";
import { userIdFor } from "./user-id.js";
import { checkUsername, type CheckUsernameOptions } from "./username.js";

/** Synapse's built-in user types; `null` is an ordinary user. */
export const USER_TYPES = ["support", "bot"] as const;

export interface RegisterUserRequest {
  /** As the caller decided it: `/register` and shared-secret registration lower-case first, as Synapse does. */
  localpart: string;
  password: string | null;
  /** A hash made earlier (a UIA session stored it when the password arrived); skips policy and hashing. */
  passwordHash?: string | null;
  /** A client's request (`POST /register`): hashing is refused with 429 when `hashing_queue_limit` hashes wait. */
  boundedHash?: boolean;
  isGuest?: boolean;
  admin: boolean;
  userType: string | null;
  /** Defaults to the localpart, as in Synapse. */
  displayname: string | null;
  /** null: create the account only (`inhibit_login`). */
  login: {
    deviceId: string | null;
    initialDeviceDisplayName: string | null;
    validUntilMs: number | null;
    refresh?: RefreshExpiry | null;
  } | null;
  /** More writes that must land with the account or not at all (a registration token's use, say). */
  alsoInTransaction?: (tables: Tables, userId: string) => Promise<void>;
  /** Skip the username checks (guest IDs are generated, and numeric by design). */
  generatedLocalpart?: boolean;
}

export interface RegisteredUser {
  userId: string;
  session: Session | null;
}

export function checkUserType(userType: unknown): asserts userType is string | null | undefined {
  if (userType === null || userType === undefined) return;
  if (typeof userType !== "string" || !(USER_TYPES as readonly string[]).includes(userType)) {
    throw new MatrixError(ErrCode.Unknown, "Invalid user type");
  }
}

/** An account whose checks have passed and whose password is hashed: what `writeAccounts` inserts. */
export interface PreparedAccount {
  userId: string;
  localpart: string;
  row: NewUser;
}

/** What an account is made of, without the session `registerUser` may open for it. */
export type AccountRequest = Pick<
  RegisterUserRequest,
  | "localpart"
  | "password"
  | "passwordHash"
  | "boundedHash"
  | "isGuest"
  | "admin"
  | "userType"
  | "displayname"
  | "generatedLocalpart"
>;

export interface PrepareOptions extends CheckUsernameOptions {
  /** A dry run: every check, but no hashing (the row's hash stays null), since nothing will be written. */
  checkOnly?: boolean;
  /** The caller's own checks, in their place in Synapse's order: after the user type, before the password. */
  moreChecks?: () => void;
}

/**
 * Every check an account must pass before it is written, in Synapse's order (username rules, user type, password
 * policy), then hashing. A batch (the bulk import) runs this for each of its accounts with `skipInUseCheck`,
 * because it has looked up all of its names in one query instead; the unique index still judges races.
 */
export async function prepareAccount(
  ctx: AccountsContext,
  req: AccountRequest,
  options: PrepareOptions = {},
): Promise<PreparedAccount> {
  if (!req.generatedLocalpart) await checkUsername(req.localpart, ctx.usernameRules, ctx.stores.users, options);
  checkUserType(req.userType);
  options.moreChecks?.();
  let passwordHash = req.passwordHash ?? null;
  if (passwordHash === null && req.password !== null) {
    checkPasswordPolicy(req.password, ctx.passwordPolicy);
    if (!options.checkOnly) passwordHash = await ctx.hasher.hash(req.password, { bounded: req.boundedHash === true });
  }
  const userId = userIdFor(req.localpart, ctx.serverName);
  return {
    userId,
    localpart: req.localpart,
    row: {
      userId,
      passwordHash,
      creationTs: Math.floor(ctx.now() / 1000),
      admin: req.admin,
      userType: req.userType,
      displayname: req.displayname ?? req.localpart,
      isGuest: req.isGuest ?? false,
    },
  };
}

/**
 * The accounts' rows, in the caller's transaction, in one statement: one account for `registerUser`, a thousand
 * for an import batch. A name taken meanwhile throws a unique violation and writes none of them.
 */
export async function writeAccounts(tables: Tables, accounts: PreparedAccount[]): Promise<void> {
  await tables.users.insertMany(accounts.map((a) => a.row));
}

/** The unique index's verdict on a lost race, in Synapse's words. */
export function userInUse(): MatrixError {
  return new MatrixError(ErrCode.UserInUse, "User ID already taken.");
}

export async function registerUser(ctx: AccountsContext, req: RegisterUserRequest): Promise<RegisteredUser> {
  const login = req.login;
  const account = await prepareAccount(ctx, req, {
    moreChecks: () => login && checkDeviceParams(login.deviceId, login.initialDeviceDisplayName),
  });
  const userId = account.userId;
  const now = ctx.now();
  try {
    const registered = await ctx.stores.transaction(async (tables) => {
      await writeAccounts(tables, [account]);
      if (req.alsoInTransaction) await req.alsoInTransaction(tables, userId);
      const session = req.login
        ? await startSession(tables, {
            userId,
            localpart: req.localpart,
            deviceId: req.login.deviceId,
            initialDeviceDisplayName: req.login.initialDeviceDisplayName,
            validUntilMs: req.login.validUntilMs,
            refresh: req.login.refresh ?? null,
            now,
          })
        : null;
      return { userId, session };
    });
    countRegistration();
    return registered;
  } catch (err) {
    // The check above and the insert race: the unique index is the judge, and the loser hears what Synapse says.
    if (isUniqueViolation(err)) throw userInUse();
    throw err;
  }
}
