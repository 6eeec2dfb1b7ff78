/**
 * @module The Matrix account of a user an external directory vouched for: found (any case, as logins find
 * accounts), or created on first login through `registerUser` (the username rules and reserved names apply as to
 * anyone, and the creation is in the audit log), and its display name and e-mail address brought up to date with the
 * directory on every later login (matrix-synapse-ldap3 only reads them at creation: docs/compatibility.md). The
 * address a directory adds is marked as its own (`user_threepids.source`), so that only it follows the directory.
 *
 * `enable_registration: false` does not stop it: the directory decides who has an account, as in Synapse, unless
 * the provider says not to create accounts.
 */
import { isUniqueViolation } from "../db/database.js";
import type { Tables } from "../db/stores.js";
import type { User } from "../db/users.js";
import { ErrCode, MatrixError } from "../errors.js";
import { canonicalEmail } from "../shared/email.js";
import { recordAudit } from "./audit.js";
import type { ServerContext } from "./context.js";
import { findUserForLogin } from "./login.js";
import { MAX_DISPLAYNAME_LENGTH } from "./profile.js";
import { registerUser } from "./registration.js";
import { userIdFor } from "./user-id.js";

export interface ExternalIdentity {
  /** Which provider vouched ("ldap"): the audit entry says so. */
  provider: string;
  localpart: string;
  displayName: string;
  email: string | null;
  /** The directory's attributes were read, so they may replace what the account holds. */
  attributesKnown: boolean;
}

export interface ExternalAccountOptions {
  createAccounts: boolean;
  /** The client's address, for the audit entry of a new account. */
  ip: string;
  log: (message: string) => void;
}

/**
 * A directory's name as a display name: what `PUT /profile` would store (trimmed, no NUL, at most 256 characters),
 * or the localpart when nothing is left; a directory is not refused for an over-long name.
 */
function displayNameFrom(identity: ExternalIdentity, localpart: string): string {
  const name = [...identity.displayName.replaceAll("\0", "").trim()].slice(0, MAX_DISPLAYNAME_LENGTH).join("").trim();
  return name === "" ? localpart : name;
}

/** The account for `identity`, created or refreshed; throws a Matrix error when it may not or cannot be made. */
export async function accountForExternalUser(
  sc: ServerContext,
  identity: ExternalIdentity,
  options: ExternalAccountOptions,
): Promise<User> {
  const localpart = identity.localpart.toLowerCase();
  const userId = userIdFor(localpart, sc.config.server_name);
  const existing = await findUserForLogin(sc, userId);
  if (existing) return refreshExternalUser(sc, existing, identity, options);
  if (!options.createAccounts) {
    options.log(
      `${identity.provider} user ${JSON.stringify(localpart)} has no account and enable_registration is false`,
    );
    throw new MatrixError(ErrCode.Forbidden, "This account does not exist here and is not created on login");
  }
  const email = identity.email === null ? null : canonicalEmail(identity.email);
  const emailFree = email !== null && (await sc.accounts.stores.threepids.owners("email", [email])).size === 0;
  if (email !== null && !emailFree) {
    options.log(`${identity.provider} user ${localpart}: e-mail ${email} belongs to another account; not added`);
  }
  const now = sc.accounts.now();
  const displayname = displayNameFrom(identity, localpart);
  try {
    await registerUser(sc.accounts, {
      localpart,
      password: null,
      admin: false,
      userType: null,
      displayname,
      login: null,
      alsoInTransaction: async (t, id) => {
        if (emailFree) {
          const threepid = { medium: "email", address: email, validatedAt: now, addedAt: now };
          await t.threepids.add(id, { ...threepid, source: identity.provider });
        }
        const after = { source: identity.provider, displayname, email: emailFree ? email : null };
        await recordAudit(
          t,
          sc.accounts,
          { userId: id, deviceId: null, tokenHash: "", ip: options.ip },
          "user.create",
          id,
          {},
          after,
        );
      },
    });
  } catch (err) {
    // Two first logins at once: the loser finds the winner's account.
    if (!(err instanceof MatrixError && err.errcode === ErrCode.UserInUse)) {
      if (err instanceof MatrixError)
        options.log(`${identity.provider} user ${JSON.stringify(localpart)}: ${err.message}`);
      throw err;
    }
  }
  const created = await findUserForLogin(sc, userId);
  if (!created) throw new MatrixError(ErrCode.Unknown, "The account could not be created");
  return created;
}

/** The directory's display name and e-mail address onto an existing account, when they were read and differ. */
async function refreshExternalUser(
  sc: ServerContext,
  user: User,
  identity: ExternalIdentity,
  options: ExternalAccountOptions,
): Promise<User> {
  if (!identity.attributesKnown || user.deactivated) return user;
  const { stores } = sc.accounts;
  let changed = false;
  const displayname = displayNameFrom(identity, identity.localpart.toLowerCase());
  if (displayname !== user.displayname) {
    await stores.users.setProfile(user.userId, { displayname });
    changed = true;
  }
  try {
    await stores.transaction((t) => followDirectoryEmail(t, sc.accounts.now(), user.userId, identity, options.log));
  } catch (err) {
    // The address was taken by another account between the look and the write; the next login tries again.
    if (!isUniqueViolation(err)) throw err;
  }
  if (!changed) return user;
  await sc.accounts.userHooks.userChanged(user.userId);
  return (await stores.users.get(user.userId)) ?? user;
}

/**
 * The account's directory address follows the directory: the one it added earlier (`source` is the provider) is
 * removed when the directory gives another or none (no single `mail` value), and the directory's current one is
 * added unless the account has it already. Addresses the user or an admin added are never touched, even when the
 * directory's address is the same one.
 */
async function followDirectoryEmail(
  t: Tables,
  now: number,
  userId: string,
  identity: ExternalIdentity,
  log: (message: string) => void,
): Promise<void> {
  const email = identity.email === null ? null : canonicalEmail(identity.email);
  const had = (await t.threepids.listForUser(userId)).filter((p) => p.medium === "email");
  for (const p of had) {
    if (p.source === identity.provider && p.address !== email) await t.threepids.remove(userId, "email", p.address);
  }
  if (email === null || had.some((p) => p.address === email)) return;
  const owner = (await t.threepids.owners("email", [email])).get(email);
  if (owner !== undefined) {
    log(`${identity.provider} user ${userId}: e-mail ${email} belongs to ${owner}; not added`);
    return;
  }
  await t.threepids.add(userId, {
    medium: "email",
    address: email,
    validatedAt: now,
    addedAt: now,
    source: identity.provider,
  });
}
