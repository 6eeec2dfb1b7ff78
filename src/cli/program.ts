/**
 * @module Commander set-up shared by both programs: exit 2 on usage errors (as argparse does), 0 for --help, and
 * every word commander prints on the run's own streams (src/cli/io.ts).
 */
import { Command, CommanderError } from "commander";
import { CommandExit, EXIT_OK, EXIT_USAGE } from "./errors.js";
import { cliIo, type CliOutput } from "./io.js";

/** Commander's own rule for colour (NO_COLOR, FORCE_COLOR, CLICOLOR_FORCE), read from the run's environment. */
function hasColors(stream: CliOutput): boolean {
  const { env } = cliIo();
  if (env.NO_COLOR || env.FORCE_COLOR === "0" || env.FORCE_COLOR === "false") return false;
  if (env.FORCE_COLOR || env.CLICOLOR_FORCE !== undefined) return true;
  return stream.isTTY === true && stream.hasColors?.() === true;
}

/** A terminal's width for commander's help; its default (80) elsewhere. */
function helpWidth(stream: CliOutput): number {
  return (stream.isTTY ? stream.columns : undefined) ?? 80;
}

export function configureProgram(cmd: Command): Command {
  return cmd
    .exitOverride()
    .configureOutput({
      writeOut: (s) => cliIo().stdout.write(s),
      writeErr: (s) => cliIo().stderr.write(s),
      getOutHelpWidth: () => helpWidth(cliIo().stdout),
      getErrHelpWidth: () => helpWidth(cliIo().stderr),
      getOutHasColors: () => hasColors(cliIo().stdout),
      getErrHasColors: () => hasColors(cliIo().stderr),
    })
    .showHelpAfterError("(add --help for usage)");
}

/**
 * Parses `args` (the words after the program's name) and runs the command they name; resolves to the exit code.
 * A usage error has been printed by commander by then.
 */
export async function runProgram(cmd: Command, args: string[]): Promise<number> {
  try {
    await cmd.parseAsync(args, { from: "user" });
    return EXIT_OK;
  } catch (err) {
    if (err instanceof CommandExit) return err.exitCode;
    if (err instanceof CommanderError) {
      const ok =
        err.code === "commander.helpDisplayed" || err.code === "commander.version" || err.code === "commander.help";
      return ok ? EXIT_OK : EXIT_USAGE;
    }
    throw err;
  }
}
