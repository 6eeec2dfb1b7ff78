/**
 * @module `gatehouse token …`: the registration tokens that `registration_requires_token` asks sign-ups for.
 */
import { Command, Option } from "commander";
import type { RegistrationTokenResponse } from "../../accounts/registration-tokens.js";
import { CliError, EXIT_USAGE } from "../errors.js";
import { addConnectionOptions } from "./connection.js";
import { humanTime, printJson, printKeyValues, printTable } from "./format.js";
import { nonNegativeInt, parseTime } from "./input.js";
import { runAdmin, type CommonFlags } from "./run.js";
import { cliIo } from "../io.js";

function leaf(parent: Command, name: string, description: string): Command {
  return addConnectionOptions(parent.command(name).description(description));
}

const uses = (t: RegistrationTokenResponse) => (t.uses_allowed === null ? "unlimited" : t.uses_allowed);

/** What `valid=true` means on the server: uses left, and not expired. */
function usable(t: RegistrationTokenResponse, now: number): boolean {
  const left = t.uses_allowed === null || t.pending + t.completed < t.uses_allowed;
  return left && (t.expiry_time === null || t.expiry_time > now);
}

function showToken(t: RegistrationTokenResponse): void {
  printKeyValues([
    ["token", t.token],
    ["uses allowed", uses(t)],
    ["pending", t.pending],
    ["completed", t.completed],
    ["expires", t.expiry_time === null ? "never" : humanTime(t.expiry_time)],
    ["valid now", usable(t, Date.now())],
    ...(t.bound_username !== undefined ? [["only for user", t.bound_username] as [string, string]] : []),
    ...(t.bound_email !== undefined ? [["only for e-mail", t.bound_email] as [string, string]] : []),
  ]);
}

interface NewFlags extends CommonFlags {
  length?: number;
  uses?: number;
  expires?: number;
  forUser?: string;
  forEmail?: string;
}

interface UpdateFlags extends CommonFlags {
  uses?: number;
  unlimited?: boolean;
  expires?: number;
  expiry?: boolean;
}

export function defineTokenCommands(token: Command): Command {
  token.description("Manage registration tokens (for registration_requires_token).");

  leaf(token, "new", "Create a registration token, named or generated.")
    .argument("[name]", "the token itself (1-64 of A-Z a-z 0-9 . _ ~ -); default: a generated one")
    .option("--length <n>", "length of a generated token (1-64, default 16)", nonNegativeInt)
    .option(
      "--uses <n>",
      "how many accounts it may create (default: unlimited; 0: none, a switched-off token)",
      nonNegativeInt,
    )
    .option("--expires <time>", "expiry: a duration from now (7d) or an ISO date; default: never", parseTime)
    .option("--for-user <name>", "only this username may sign up with it (Gatehouse's bound_username)")
    .option(
      "--for-email <address>",
      "only for this e-mail address (Gatehouse's bound_email); with email configured, the server mails the invitation",
    )
    .action((name: string | undefined, flags: NewFlags) =>
      runAdmin(flags, async (b) => {
        if (name !== undefined && flags.length !== undefined) {
          throw new CliError("error: --length is for a generated token, not a named one", EXIT_USAGE);
        }
        const body: Record<string, unknown> = {};
        if (name !== undefined) body.token = name;
        if (flags.length !== undefined) body.length = flags.length;
        if (flags.uses !== undefined) body.uses_allowed = flags.uses;
        if (flags.expires !== undefined) body.expiry_time = flags.expires;
        if (flags.forUser !== undefined) body.bound_username = flags.forUser;
        if (flags.forEmail !== undefined) body.bound_email = flags.forEmail;
        const t = await b.createToken(body);
        if (flags.json) printJson(t);
        else showToken(t);
      }),
    );

  leaf(token, "list", "List registration tokens, oldest first.")
    .addOption(new Option("--valid", "only tokens usable now").conflicts("invalid"))
    .option("--invalid", "only tokens used up or expired")
    .action((flags: CommonFlags & { valid?: boolean; invalid?: boolean }) =>
      runAdmin(flags, async (b) => {
        const answer = await b.listTokens(flags.valid ? true : flags.invalid ? false : null);
        if (flags.json) {
          printJson(answer);
          return;
        }
        const now = Date.now();
        printTable(
          ["TOKEN", "USES ALLOWED", "PENDING", "COMPLETED", "EXPIRES", "VALID"],
          answer.registration_tokens.map((t) => [
            t.token,
            uses(t),
            t.pending,
            t.completed,
            t.expiry_time === null ? "never" : humanTime(t.expiry_time),
            usable(t, now),
          ]),
          "(no registration tokens)",
        );
      }),
    );

  leaf(token, "show", "Show one registration token.")
    .argument("<token>", "the token")
    .action((name: string, flags: CommonFlags) =>
      runAdmin(flags, async (b) => {
        const t = await b.getToken(name);
        if (flags.json) printJson(t);
        else showToken(t);
      }),
    );

  leaf(token, "update", "Change a token's use limit or expiry (its counters cannot be changed).")
    .argument("<token>", "the token")
    .addOption(new Option("--uses <n>", "new use limit").argParser(nonNegativeInt).conflicts("unlimited"))
    .option("--unlimited", "remove the use limit")
    .addOption(
      new Option("--expires <time>", "new expiry: a duration from now (7d) or an ISO date")
        .argParser(parseTime)
        .conflicts("expiry"),
    )
    .option("--no-expiry", "the token never expires")
    .action((name: string, flags: UpdateFlags) =>
      runAdmin(flags, async (b) => {
        const body: Record<string, unknown> = {};
        if (flags.uses !== undefined) body.uses_allowed = flags.uses;
        if (flags.unlimited) body.uses_allowed = null;
        if (flags.expires !== undefined) body.expiry_time = flags.expires;
        if (flags.expiry === false) body.expiry_time = null;
        if (Object.keys(body).length === 0) {
          throw new CliError(
            "error: nothing to change: give --uses, --unlimited, --expires or --no-expiry",
            EXIT_USAGE,
          );
        }
        const t = await b.updateToken(name, body);
        if (flags.json) printJson(t);
        else showToken(t);
      }),
    );

  leaf(token, "delete", "Delete a registration token (sign-ups already past the token step still finish).")
    .argument("<token>", "the token")
    .action((name: string, flags: CommonFlags) =>
      runAdmin(flags, async (b) => {
        const answer = await b.deleteToken(name);
        if (flags.json) printJson(answer);
        else cliIo().stdout.write(`Deleted ${name}\n`);
      }),
    );
  return token;
}
