/**
 * @module How a command ends: one line on stderr and an exit code a script can rely on, never a stack trace.
 *
 * 0 success, 1 failure, 2 usage or configuration error (as argparse and Synapse use them).
 */
import { ConfigError, formatProblem } from "../config/validate.js";
import { cliIo } from "./io.js";

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT_FAILURE,
    /** Print the message to stdout, where Synapse's script prints some of its errors. */
    readonly toStdout = false,
  ) {
    super(message);
  }
}

export function usageError(message: string): CliError {
  return new CliError(`error: ${message}`, EXIT_USAGE);
}

/**
 * A finished command's exit code, thrown past commander to the program's entry (`runProgram`), which returns it:
 * nothing after the command runs, as after `process.exit`, but a run inside a test's process does not end it.
 */
export class CommandExit extends Error {
  constructor(readonly exitCode: number) {
    super(`exit ${exitCode}`);
  }
}

/** Runs a command body and turns whatever it throws into a message and an exit code. */
export async function runCommand(body: () => Promise<number | undefined>): Promise<never> {
  let code: number;
  try {
    code = (await body()) ?? EXIT_OK;
  } catch (err) {
    code = reportError(err);
  }
  throw new CommandExit(code);
}

export function reportError(err: unknown, exitCodeForConfig = EXIT_FAILURE): number {
  const { stdout, stderr } = cliIo();
  if (err instanceof CliError) {
    (err.toStdout ? stdout : stderr).write(err.message + "\n");
    return err.exitCode;
  }
  if (err instanceof ConfigError) {
    stderr.write("error: the configuration is not valid:\n");
    for (const p of err.problems) stderr.write(`  ${formatProblem(p)}\n`);
    return exitCodeForConfig;
  }
  const message = err instanceof Error ? err.message : String(err);
  stderr.write(`error: ${message.split("\n")[0]}\n`);
  return EXIT_FAILURE;
}

/** Last resort: anything that escapes still ends as one line, not a trace. */
export function installCrashHandlers(): void {
  const crash = (err: unknown) => {
    process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(EXIT_FAILURE);
  };
  process.on("uncaughtException", crash);
  process.on("unhandledRejection", crash);
}
