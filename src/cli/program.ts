/**
 * @module Commander set-up shared by both programs: exit 2 on usage errors (as argparse does), 0 for --help.
 */
import { Command, CommanderError } from "commander";
import { EXIT_OK, EXIT_USAGE } from "./errors.js";

export function configureProgram(cmd: Command): Command {
  return cmd
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) })
    .showHelpAfterError("(add --help for usage)");
}

/** Parses argv; a usage error has been printed by commander and ends the process with 2. */
export async function parseOrExit(cmd: Command, argv: string[]): Promise<void> {
  try {
    await cmd.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      const ok =
        err.code === "commander.helpDisplayed" || err.code === "commander.version" || err.code === "commander.help";
      process.exit(ok ? EXIT_OK : EXIT_USAGE);
    }
    throw err;
  }
}
