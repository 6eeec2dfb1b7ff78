/**
 * @module `gatehouse user …`: list, show, create, modify, set-admin, unset-admin, deactivate, reactivate, lock,
 * unlock, reset-password, whois, login-as, rooms, link, unlink. Each is written once against `AdminBackend`, so it runs the same over
 * HTTP and on the database (docs/cli.md documents every one).
 */
import { Command, Option } from "commander";
import type {
  AdminListedUserResponse,
  AdminUserListResponse,
  AdminUserResponse,
} from "../../accounts/admin-user-response.js";
import { USER_SORT_COLUMNS } from "../../db/user-sort-columns.js";
import { ErrCode } from "../../errors.js";
import { AdminFailure } from "./exit-codes.js";
import { CliError, EXIT_USAGE } from "../errors.js";
import type { AdminBackend } from "./backend.js";
import { addConnectionOptions } from "./connection.js";
import { defineImport } from "./import-command.js";
import { hasErrcode } from "./exit-codes.js";
import { humanTime, printJson, printKeyValues, printTable } from "./format.js";
import { expandUserId, nonNegativeInt, parseTime, readPassword, type PasswordFlags } from "./input.js";
import { runAdmin, type CommonFlags } from "./run.js";
import { cliIo } from "../io.js";

const collect = (value: string, previous: string[] = []) => [...previous, value];

function leaf(parent: Command, name: string, description: string): Command {
  return addConnectionOptions(parent.command(name).description(description));
}

const USER_ARG = "localpart or full user ID (@name:server)";

const passwordOptions = (cmd: Command) =>
  cmd
    .option(
      "--password-file <file>",
      "read the password from FILE (whitespace around it stripped); - reads standard input",
    )
    .option("--generate-password", "generate a strong password and print it once on stdout");

function out(flags: CommonFlags, json: unknown, human: () => void): void {
  if (flags.json) printJson(json);
  else human();
}

// ---------------------------------------------------------------------------------------------------------------

interface ListFlags extends CommonFlags {
  admins?: boolean;
  deactivated?: boolean;
  locked?: boolean;
  guests?: boolean;
  search?: string;
  limit?: number;
  from?: string;
  orderBy?: string;
  dir?: string;
  all?: boolean;
}

function listParams(flags: ListFlags, from: string | undefined, limit: number | undefined): Record<string, string> {
  const p: Record<string, string> = {};
  if (from !== undefined) p.from = from;
  if (limit !== undefined) p.limit = String(limit);
  if (flags.search !== undefined) p.name = flags.search;
  if (flags.admins) p.admins = "true";
  if (flags.deactivated) p.deactivated = "true";
  if (flags.locked) p.locked = "true";
  p.guests = flags.guests ? "true" : "false";
  if (flags.orderBy !== undefined) p.order_by = flags.orderBy;
  if (flags.dir !== undefined) p.dir = flags.dir;
  return p;
}

function userRows(users: AdminListedUserResponse[]) {
  return users.map((u) => [
    u.name,
    u.displayname,
    u.admin,
    u.deactivated,
    u.locked,
    humanTime(u.creation_ts),
    humanTime(u.last_seen_ts),
  ]);
}

function defineList(user: Command): void {
  leaf(user, "list", "List accounts: active ones by default; flags add deactivated, locked and guest accounts.")
    .option("--admins", "only server admins")
    .option("--deactivated", "include deactivated accounts")
    .option("--locked", "include locked accounts")
    .option("--guests", "include guest accounts")
    .option("--search <text>", "localpart or display name contains TEXT (any case); with a ':' the whole user ID")
    .option("--limit <n>", "accounts per page (default 100)", nonNegativeInt)
    .option("--from <token>", "start at this page token (printed after a page that has more)")
    .addOption(new Option("--order-by <column>", "sort column").choices([...USER_SORT_COLUMNS]))
    .addOption(new Option("--dir <dir>", "f forwards, b backwards").choices(["f", "b"]))
    .option("--all", "fetch every page (--json prints them as one list)")
    .action((flags: ListFlags) =>
      runAdmin(flags, async (b) => {
        // With --all, a page of 0 would never advance: 0 then means the default page.
        const limit = flags.all && flags.limit === 0 ? undefined : flags.limit;
        let page = await b.listUsers(listParams(flags, flags.from, limit));
        let result: AdminUserListResponse = page;
        if (flags.all) {
          const users = [...page.users];
          while (page.next_token !== undefined) {
            page = await b.listUsers(listParams(flags, page.next_token, limit));
            users.push(...page.users);
          }
          result = { users, total: page.total };
        }
        out(flags, result, () => {
          printTable(
            ["USER ID", "DISPLAY NAME", "ADMIN", "DEACTIVATED", "LOCKED", "CREATED", "LAST SEEN"],
            userRows(result.users),
            "(no accounts match)",
          );
          if (result.next_token !== undefined) {
            cliIo().stderr.write(`${result.users.length} of ${result.total}; next page: --from ${result.next_token}\n`);
          }
        });
      }),
    );
}

function showUser(u: AdminUserResponse, devices: number): void {
  printKeyValues([
    ["user ID", u.name],
    ["display name", u.displayname],
    ["avatar", u.avatar_url],
    ["admin", u.admin],
    ["user type", u.user_type ?? "regular"],
    ["guest", u.is_guest],
    ["deactivated", u.deactivated],
    ["erased", u.erased],
    ["locked", u.locked],
    ["suspended", u.suspended],
    ["shadow-banned", u.shadow_banned],
    ["created", humanTime(u.creation_ts * 1000)],
    ["last seen", humanTime(u.last_seen_ts)],
    ["devices", devices],
    ["threepids", u.threepids.map((t) => `${t.medium}:${t.address}`).join(", ")],
    ["external IDs", u.external_ids.map((e) => `${e.auth_provider}:${e.external_id}`).join(", ")],
    ["terms accepted", u.consent_version === null ? null : `${u.consent_version}, ${humanTime(u.consent_ts)}`],
    ["terms notice sent", u.consent_server_notice_sent],
  ]);
}

function defineShow(user: Command): void {
  leaf(user, "show", "Show one account: flags, profile, devices count, threepids.")
    .argument("<user>", USER_ARG)
    .action((name: string, flags: CommonFlags) =>
      runAdmin(flags, async (b) => {
        const u = await b.getUser(await expandUserId(b, name));
        if (flags.json) {
          printJson(u);
          return;
        }
        showUser(u, (await b.listDevices(u.name)).total);
      }),
    );
}

// ---------------------------------------------------------------------------------------------------------------

interface CreateFlags extends CommonFlags, PasswordFlags {
  password: boolean;
  admin?: boolean;
  displayname?: string;
  userType?: string;
  email?: string[];
  existsOk?: boolean;
}

function defineCreate(user: Command): void {
  passwordOptions(
    leaf(user, "create", "Create an account (never changes an existing one). The password policy applies."),
  )
    .argument("<user>", USER_ARG)
    .option("--no-password", "no password (the account cannot log in with one until reset-password)")
    .option("--admin", "make the account a server admin")
    .option("--displayname <name>", "display name (default: the localpart)")
    .addOption(new Option("--user-type <type>", "a special account type").choices(["support", "bot"]))
    .option("--email <address>", "an e-mail address to record (repeatable)", collect)
    .option("--exists-ok", "exit 0 without changing anything if the account exists")
    .action((name: string, flags: CreateFlags) =>
      runAdmin(flags, async (b) => {
        const userId = await expandUserId(b, name);
        if (!flags.password && (flags.passwordFile !== undefined || flags.generatePassword)) {
          throw new CliError(
            "error: --no-password cannot be used with --password-file or --generate-password",
            EXIT_USAGE,
          );
        }
        const secret = flags.password ? await readPassword(flags) : null;
        const body: Record<string, unknown> = { admin: flags.admin ?? false };
        if (secret) body.password = secret.password;
        if (flags.displayname !== undefined) body.displayname = flags.displayname;
        if (flags.userType !== undefined) body.user_type = flags.userType;
        if (flags.email) body.threepids = flags.email.map((address) => ({ medium: "email", address }));
        let created: AdminUserResponse;
        try {
          created = await b.createUser(userId, body);
        } catch (err) {
          if (flags.existsOk && hasErrcode(err, ErrCode.UserInUse)) {
            cliIo().stderr.write(`${userId} already exists; nothing changed.\n`);
            return;
          }
          throw err;
        }
        const generated = secret?.generated ? secret.password : undefined;
        out(flags, generated ? { ...created, generated_password: generated } : created, () => {
          cliIo().stdout.write(`Created ${created.name}\n`);
          if (generated) cliIo().stdout.write(`Password: ${generated}\n`);
        });
      }),
    );
}

interface ModifyFlags extends CommonFlags {
  displayname?: string;
  avatarUrl?: string;
  userType?: string;
  admin?: boolean;
  email?: string[];
  clearEmails?: boolean;
}

function defineModify(user: Command): void {
  leaf(user, "modify", "Change an account's profile, type, admin flag or e-mail addresses (passwords: reset-password).")
    .argument("<user>", USER_ARG)
    .option("--displayname <name>", 'new display name ("" clears it)')
    .option("--avatar-url <mxc>", 'new avatar (mxc://…; "" clears it)')
    .addOption(
      new Option("--user-type <type>", "account type; regular for an ordinary account").choices([
        "support",
        "bot",
        "regular",
      ]),
    )
    .option("--admin", "make a server admin")
    .option("--no-admin", "make an ordinary user")
    .option("--email <address>", "the account's e-mail addresses become these (repeatable)", collect)
    .option("--clear-emails", "remove every e-mail address")
    .action((name: string, flags: ModifyFlags) =>
      runAdmin(flags, async (b) => {
        const userId = await expandUserId(b, name);
        const body: Record<string, unknown> = {};
        if (flags.displayname !== undefined) body.displayname = flags.displayname;
        if (flags.avatarUrl !== undefined) body.avatar_url = flags.avatarUrl;
        if (flags.userType !== undefined) body.user_type = flags.userType === "regular" ? null : flags.userType;
        if (flags.admin !== undefined) body.admin = flags.admin;
        if (flags.email !== undefined && flags.clearEmails) {
          throw new CliError("error: --email and --clear-emails cannot be used together", EXIT_USAGE);
        }
        if (flags.email !== undefined || flags.clearEmails) {
          // Only e-mail addresses are replaced: the account's phone numbers are kept as they are.
          const current = await b.getUser(userId);
          const phones = current.threepids.filter((t) => t.medium !== "email");
          const emails = (flags.email ?? []).map((address) => ({ medium: "email", address }));
          body.threepids = [...phones.map((t) => ({ medium: t.medium, address: t.address })), ...emails];
        }
        if (Object.keys(body).length === 0)
          throw new CliError("error: nothing to change: give at least one flag (see --help)", EXIT_USAGE);
        const u = await b.modifyUser(userId, body);
        out(flags, u, () => cliIo().stdout.write(`Modified ${u.name}\n`));
      }),
    );
}

// ---------------------------------------------------------------------------------------------------------------

function defineFlagCommand(
  user: Command,
  name: string,
  description: string,
  change: (b: AdminBackend, userId: string) => Promise<unknown>,
  done: (userId: string) => string,
): void {
  leaf(user, name, description)
    .argument("<user>", USER_ARG)
    .action((arg: string, flags: CommonFlags) =>
      runAdmin(flags, async (b) => {
        const userId = await expandUserId(b, arg);
        const answer = await change(b, userId);
        out(flags, answer, () => cliIo().stdout.write(done(userId) + "\n"));
      }),
    );
}

function defineFlagCommands(user: Command): void {
  defineFlagCommand(
    user,
    "set-admin",
    "Make the account a server admin.",
    (b, id) => b.setAdmin(id, true),
    (id) => `${id} is now a server admin`,
  );
  defineFlagCommand(
    user,
    "unset-admin",
    "Make the account an ordinary user (not a server admin).",
    (b, id) => b.setAdmin(id, false),
    (id) => `${id} is no longer a server admin`,
  );
  defineFlagCommand(
    user,
    "lock",
    "Lock the account: its sessions stop working until it is unlocked; nothing is deleted.",
    (b, id) => b.modifyUser(id, { locked: true }),
    (id) => `Locked ${id}`,
  );
  defineFlagCommand(
    user,
    "unlock",
    "Unlock a locked account.",
    (b, id) => b.modifyUser(id, { locked: false }),
    (id) => `Unlocked ${id}`,
  );
}

function defineDeactivate(user: Command): void {
  leaf(user, "deactivate", "Deactivate the account: devices, tokens, 3PIDs and password go; the ID stays taken.")
    .argument("<user>", USER_ARG)
    .option("--erase", "also erase the profile (display name, avatar) and mark the account erased")
    .action((name: string, flags: CommonFlags & { erase?: boolean }) =>
      runAdmin(flags, async (b) => {
        const userId = await expandUserId(b, name);
        const answer = await b.deactivate(userId, flags.erase ?? false);
        out(flags, answer, () => cliIo().stdout.write(`Deactivated ${userId}${flags.erase ? " (erased)" : ""}\n`));
      }),
    );
}

function defineReactivate(user: Command): void {
  passwordOptions(leaf(user, "reactivate", "Reactivate a deactivated account, optionally with a new password."))
    .argument("<user>", USER_ARG)
    .action((name: string, flags: CommonFlags & PasswordFlags) =>
      runAdmin(flags, async (b) => {
        const userId = await expandUserId(b, name);
        const secret = flags.passwordFile !== undefined || flags.generatePassword ? await readPassword(flags) : null;
        const body: Record<string, unknown> = { deactivated: false };
        if (secret) body.password = secret.password;
        const u = await b.modifyUser(userId, body);
        const generated = secret?.generated ? secret.password : undefined;
        out(flags, generated ? { ...u, generated_password: generated } : u, () => {
          cliIo().stdout.write(
            `Reactivated ${u.name}${secret ? "" : " (it has no password: set one with reset-password)"}\n`,
          );
          if (generated) cliIo().stdout.write(`Password: ${generated}\n`);
        });
      }),
    );
}

function defineResetPassword(user: Command): void {
  passwordOptions(
    leaf(user, "reset-password", "Set a new password (the password policy applies); logs out every session."),
  )
    .argument("<user>", USER_ARG)
    .option("--keep-devices", "keep the account's sessions logged in")
    .action((name: string, flags: CommonFlags & PasswordFlags & { keepDevices?: boolean }) =>
      runAdmin(flags, async (b) => {
        const userId = await expandUserId(b, name);
        const { password, generated } = await readPassword(flags);
        const answer = await b.resetPassword(userId, password, !flags.keepDevices);
        out(flags, generated ? { ...answer, generated_password: password } : answer, () => {
          cliIo().stdout.write(
            `Password changed for ${userId}${flags.keepDevices ? "" : "; its sessions were logged out"}\n`,
          );
          if (generated) cliIo().stdout.write(`Password: ${password}\n`);
        });
      }),
    );
}

function defineWhois(user: Command): void {
  leaf(user, "whois", "Where the account's devices were last used: device, IP, user agent, time.")
    .argument("<user>", USER_ARG)
    .action((name: string, flags: CommonFlags) =>
      runAdmin(flags, async (b) => {
        const userId = await expandUserId(b, name);
        const answer = await b.whois(userId);
        if (flags.json) {
          printJson(answer);
          return;
        }
        const { devices } = await b.listDevices(userId);
        const sorted = [...devices].sort((x, y) => (y.last_seen_ts ?? 0) - (x.last_seen_ts ?? 0));
        printTable(
          ["DEVICE", "NAME", "IP", "USER AGENT", "LAST SEEN"],
          sorted.map((d) => [
            d.device_id,
            d.display_name,
            d.last_seen_ip,
            d.last_seen_user_agent,
            humanTime(d.last_seen_ts),
          ]),
          `(${userId} has no devices)`,
        );
      }),
    );
}

function defineLoginAs(user: Command): void {
  leaf(user, "login-as", "Print an access token that acts as the user (no device; audited). Only the token is printed.")
    .argument("<user>", USER_ARG)
    .option("--valid-until <time>", "expiry: a duration (1h, 7d) or an ISO date; default: no expiry", parseTime)
    .action((name: string, flags: CommonFlags & { validUntil?: number }) =>
      runAdmin(flags, async (b) => {
        const userId = await expandUserId(b, name);
        const answer = await b.loginAs(userId, flags.validUntil ?? null);
        out(flags, answer, () => cliIo().stdout.write(answer.access_token + "\n"));
      }),
    );
}

// ---------------------------------------------------------------------------------------------------------------

interface LinkFlags extends CommonFlags {
  provider: string;
  externalId: string;
}

const linkOptions = (cmd: Command) =>
  cmd
    .argument("<user>", USER_ARG)
    .requiredOption("--provider <name>", "the auth provider: oidc-<idp_id> for an OpenID Connect provider, ldap")
    .requiredOption("--external-id <id>", "the account's ID at that provider (for OpenID Connect, the `sub` claim)");

const sameLink = (e: { auth_provider: string; external_id: string }, flags: LinkFlags) =>
  e.auth_provider === flags.provider && e.external_id === flags.externalId;

/**
 * Both commands are `PUT /v2/users` with the account's whole `external_ids` list, changed by one: the admin API
 * Synapse has, and in database mode the service behind it, so the rule (an ID belongs to one account) and the audit
 * entry (`user.modify`, the list before and after) are that endpoint's.
 */
function defineLinks(user: Command): void {
  linkOptions(
    leaf(user, "link", "Link an identity provider's ID to the account: logging in through it reaches it."),
  ).action((name: string, flags: LinkFlags) =>
    runAdmin(flags, async (b) => {
      const userId = await expandUserId(b, name);
      const current = await b.getUser(userId);
      const label = `${flags.provider}:${flags.externalId}`;
      if (current.external_ids.some((e) => sameLink(e, flags))) {
        out(flags, current, () => cliIo().stdout.write(`${userId} is already linked to ${label}; nothing changed\n`));
        return;
      }
      // The look-up names the other account; the PUT refuses the same way should it be linked in between.
      let owner: string | null = null;
      try {
        owner = (await b.userByExternalId(flags.provider, flags.externalId)).user_id;
      } catch (err) {
        if (!hasErrcode(err, ErrCode.NotFound)) throw err;
      }
      if (owner !== null) {
        throw new AdminFailure(ErrCode.Unknown, `External id is already in use by ${owner}`, 409);
      }
      const links = current.external_ids.map((e) => ({ auth_provider: e.auth_provider, external_id: e.external_id }));
      links.push({ auth_provider: flags.provider, external_id: flags.externalId });
      const u = await b.modifyUser(userId, { external_ids: links });
      out(flags, u, () => cliIo().stdout.write(`Linked ${userId} to ${label}\n`));
    }),
  );
  linkOptions(leaf(user, "unlink", "Remove a link to an identity provider's ID from the account.")).action(
    (name: string, flags: LinkFlags) =>
      runAdmin(flags, async (b) => {
        const userId = await expandUserId(b, name);
        const current = await b.getUser(userId);
        const label = `${flags.provider}:${flags.externalId}`;
        if (!current.external_ids.some((e) => sameLink(e, flags))) {
          throw new AdminFailure(ErrCode.NotFound, `${userId} is not linked to ${label}`, 404);
        }
        const links = current.external_ids
          .filter((e) => !sameLink(e, flags))
          .map((e) => ({ auth_provider: e.auth_provider, external_id: e.external_id }));
        const u = await b.modifyUser(userId, { external_ids: links });
        out(flags, u, () => cliIo().stdout.write(`Unlinked ${userId} from ${label}\n`));
      }),
  );
}

function defineRooms(user: Command): void {
  leaf(user, "rooms", "List the rooms the account is joined to.")
    .argument("<user>", USER_ARG)
    .action((name: string, flags: CommonFlags) =>
      runAdmin(flags, async (b) => {
        const answer = await b.userJoinedRooms(await expandUserId(b, name));
        if (flags.json) {
          printJson(answer);
          return;
        }
        const rooms = await Promise.all(answer.joined_rooms.map((roomId) => b.getRoom(roomId)));
        printTable(
          ["ROOM ID", "NAME", "ALIAS", "MEMBERS"],
          rooms.map((r) => [r.room_id, r.name, r.canonical_alias, r.joined_members]),
          "(in no rooms)",
        );
      }),
    );
}

export function defineUserCommands(user: Command): Command {
  user.description("Manage accounts, on a running server or straight on the database.");
  defineList(user);
  defineShow(user);
  defineCreate(user);
  defineModify(user);
  defineFlagCommands(user);
  defineDeactivate(user);
  defineReactivate(user);
  defineResetPassword(user);
  defineWhois(user);
  defineLoginAs(user);
  defineRooms(user);
  defineLinks(user);
  defineImport(user);
  return user;
}
