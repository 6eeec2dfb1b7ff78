/**
 * @module What the admin commands read from their user: user IDs (a bare localpart gets the server name), times
 * (an ISO date or a duration such as `7d`), and passwords (a file, standard input, a no-echo prompt typed twice,
 * or generated and printed once).
 */
import { randomInt } from "node:crypto";
import { readFileSync } from "node:fs";
import { InvalidArgumentError } from "commander";
import { errorMessage } from "../../config/validate.js";
import { CliError, EXIT_USAGE } from "../errors.js";
import { askHidden, readAllStdin } from "../prompts.js";
import type { AdminBackend } from "./backend.js";
import { cliIo } from "../io.js";

/** `alice` → `@alice:<server name>`; `@alice:example.org` as given. */
export async function expandUserId(backend: AdminBackend, user: string): Promise<string> {
  if (user.startsWith("@")) return user;
  if (user.includes(":"))
    throw new CliError(
      `error: ${JSON.stringify(user)} is neither a localpart nor a user ID (@name:server)`,
      EXIT_USAGE,
    );
  return `@${user}:${await backend.serverName()}`;
}

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/**
 * A point in time for commander: a duration from now (`90s`, `30m`, `12h`, `7d`, `2w`) or a date as
 * `Date.parse` reads ISO 8601 (`2026-12-31`, `2026-12-31T18:00:00Z`). Milliseconds since the epoch.
 */
export function parseTime(value: string): number {
  const d = /^(\d+)([smhdw])$/.exec(value.trim());
  if (d) return Date.now() + Number(d[1]) * UNITS[d[2]!]!;
  if (/^\d{4}-\d{2}-\d{2}/.test(value)) {
    const ms = Date.parse(value);
    if (Number.isFinite(ms)) return ms;
  }
  throw new InvalidArgumentError("Give a duration (90s, 30m, 12h, 7d, 2w) or an ISO date (2026-12-31T18:00:00Z).");
}

/** For `--since`: a duration means that long ago. */
export function parsePastTime(value: string): number {
  const d = /^(\d+)([smhdw])$/.exec(value.trim());
  if (d) return Date.now() - Number(d[1]) * UNITS[d[2]!]!;
  return parseTime(value);
}

export function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n))
    throw new InvalidArgumentError("It must be a whole number, 0 or more.");
  return n;
}

export interface PasswordFlags {
  passwordFile?: string;
  generatePassword?: boolean;
}

const LOWER = "abcdefghijkmnopqrstuvwxyz";
const UPPER = "ABCDEFGHJKLMNPQRSTUVWXYZ";
const DIGITS = "23456789";
const SYMBOLS = "-_.!";

/**
 * 24 characters with at least one lower-case letter, capital, digit and symbol, so any password policy a server
 * is likely to set accepts it (~140 bits). Look-alike characters are left out, for passwords read aloud.
 */
export function generatePassword(): string {
  const all = LOWER + UPPER + DIGITS + SYMBOLS;
  const pick = (set: string) => set.charAt(randomInt(set.length));
  const chars = [pick(LOWER), pick(UPPER), pick(DIGITS), pick(SYMBOLS)];
  while (chars.length < 24) chars.push(pick(all));
  for (let i = chars.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [chars[i], chars[j]] = [chars[j]!, chars[i]!];
  }
  return chars.join("");
}

/** The password the flags name; on a terminal with none named, asked for twice without echo. */
export async function readPassword(flags: PasswordFlags): Promise<{ password: string; generated: boolean }> {
  if (flags.passwordFile !== undefined && flags.generatePassword) {
    throw new CliError("error: --password-file and --generate-password cannot be used together", EXIT_USAGE);
  }
  if (flags.generatePassword) return { password: generatePassword(), generated: true };
  if (flags.passwordFile !== undefined) {
    let text: string;
    if (flags.passwordFile === "-") {
      text = await readAllStdin();
    } else {
      try {
        text = readFileSync(flags.passwordFile, "utf8");
      } catch (err) {
        throw new CliError(`error: --password-file ${flags.passwordFile}: ${errorMessage(err)}`, EXIT_USAGE);
      }
    }
    // Surrounding whitespace stripped, as register-user's --password-file does, so both read a file alike.
    const password = text.trim();
    if (password === "") throw new CliError("error: the password file is empty", EXIT_USAGE);
    return { password, generated: false };
  }
  if (!cliIo().stdin.isTTY) {
    throw new CliError(
      "error: no password: give --password-file FILE (- for standard input) or --generate-password, or run on a terminal to be asked",
      EXIT_USAGE,
    );
  }
  const first = await askHidden("Password: ");
  if (!first) throw new CliError("error: the password cannot be blank", EXIT_USAGE);
  const second = await askHidden("Confirm password: ");
  if (first !== second) throw new CliError("error: the passwords do not match", EXIT_USAGE);
  return { password: first, generated: false };
}
