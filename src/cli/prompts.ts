/**
 * @module Terminal prompts worded as Synapse's `register_new_matrix_user` words them.
 *
 * On a terminal, the prompt is printed exactly as Python's `input()` and `getpass()` print it, and a password is
 * read with echo off (nothing is shown, not even a mask). Ctrl-C ends the command (exit 130) rather than moving on
 * to the next question. When standard input is not a terminal the answers are read line by line from it, as
 * Python's `input()` and `getpass()` fall back to doing, so a script can pipe them in.
 */
import { createInterface, type Interface } from "node:readline";
import { Writable } from "node:stream";
import { CliError } from "./errors.js";
import { cliIo } from "./io.js";

/** The shell's exit code for a command ended by Ctrl-C (128 + SIGINT). */
const EXIT_INTERRUPTED = 130;

interface PipedInput {
  rl: Interface;
  lines: string[];
  waiters: ((line: string | null) => void)[];
  ended: boolean;
}

/** One line reader per input stream, so that answers read ahead for the next question are kept for it. */
const pipedReaders = new WeakMap<object, PipedInput>();

function pipedReader(): PipedInput {
  const input = cliIo().stdin;
  const existing = pipedReaders.get(input);
  if (existing) return existing;
  const state: PipedInput = {
    rl: createInterface({ input, terminal: false }),
    lines: [],
    waiters: [],
    ended: false,
  };
  state.rl.on("line", (line) => {
    const waiter = state.waiters.shift();
    if (waiter) waiter(line);
    else state.lines.push(line);
  });
  state.rl.on("close", () => {
    state.ended = true;
    for (const w of state.waiters.splice(0)) w(null);
  });
  pipedReaders.set(input, state);
  return state;
}

function nextPipedLine(): Promise<string | null> {
  const state = pipedReader();
  const line = state.lines.shift();
  if (line !== undefined) return Promise.resolve(line);
  if (state.ended) return Promise.resolve(null);
  return new Promise((resolve) => state.waiters.push(resolve));
}

/**
 * Reads one line on the terminal. With `hidden`, typed characters are not echoed: readline's own echo goes to a
 * sink, and the terminal is in raw mode while it reads, so the kernel does not echo either.
 */
async function readTtyLine(question: string, hidden: boolean): Promise<string | null> {
  const sink = new Writable({ write: (_chunk, _encoding, callback) => callback() });
  const rl = createInterface({ input: cliIo().stdin, output: hidden ? sink : cliIo().stdout, terminal: true });
  // A visible prompt is readline's to draw (it redraws the line as it is edited); a hidden one is written here, once
  // the terminal is in raw mode, so nothing typed after the prompt appears can be echoed by the terminal itself.
  if (hidden) cliIo().stdout.write(question);
  // An object, so the flag set in the SIGINT handler is seen as mutable where it is read after the await.
  const state = { interrupted: false };
  let answer: string | null;
  try {
    answer = await new Promise<string | null>((resolve) => {
      rl.once("close", () => resolve(null));
      rl.once("SIGINT", () => {
        state.interrupted = true;
        rl.close();
      });
      rl.question(hidden ? "" : question, (line) => resolve(line));
    });
  } finally {
    rl.close();
  }
  // getpass() ends the hidden line itself; after Ctrl-C the message must not land on the prompt's line.
  if (hidden || state.interrupted) cliIo().stdout.write("\n");
  if (state.interrupted) throw new CliError("Aborted.", EXIT_INTERRUPTED);
  return answer;
}

/** Shows `question` and reads one line; null at end of input. */
export async function ask(question: string): Promise<string | null> {
  if (!cliIo().stdin.isTTY) {
    cliIo().stdout.write(question);
    const line = await nextPipedLine();
    if (line !== null) cliIo().stdout.write("\n");
    return line;
  }
  return readTtyLine(question, false);
}

/** Reads a password without echoing it; null at end of input. */
export async function askHidden(question: string): Promise<string | null> {
  if (!cliIo().stdin.isTTY) {
    cliIo().stdout.write(question + "\n");
    return nextPipedLine();
  }
  return readTtyLine(question, true);
}

/** Reads all of standard input (for `--password-file -`). */
export async function readAllStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of cliIo().stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}
