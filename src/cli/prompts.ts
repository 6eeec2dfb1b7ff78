/**
 * @module Terminal prompts worded as Synapse's `register_new_matrix_user` words them.
 *
 * On a terminal, passwords are read with @inquirer/password (no echo). When standard input is not a terminal the
 * answers are read line by line from it, as Python's `input()` and `getpass()` fall back to doing, so a script can
 * pipe them in.
 */
import { createInterface, type Interface } from "node:readline";
import password from "@inquirer/password";

let piped: { rl: Interface; lines: string[]; waiters: ((line: string | null) => void)[]; ended: boolean } | null =
  null;

function pipedReader() {
  if (piped) return piped;
  const state = {
    rl: createInterface({ input: process.stdin, terminal: false }),
    lines: [] as string[],
    waiters: [] as ((line: string | null) => void)[],
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
  piped = state;
  return state;
}

function nextPipedLine(): Promise<string | null> {
  const state = pipedReader();
  const line = state.lines.shift();
  if (line !== undefined) return Promise.resolve(line);
  if (state.ended) return Promise.resolve(null);
  return new Promise((resolve) => state.waiters.push(resolve));
}

/** Shows `question` and reads one line; null at end of input. */
export async function ask(question: string): Promise<string | null> {
  if (!process.stdin.isTTY) {
    process.stdout.write(question);
    const line = await nextPipedLine();
    if (line !== null) process.stdout.write("\n");
    return line;
  }
  const rl = createInterface({ input: process.stdin, output: process.stdout, terminal: true });
  try {
    return await new Promise<string | null>((resolve) => {
      rl.once("close", () => resolve(null));
      rl.question(question, (answer) => resolve(answer));
    });
  } finally {
    rl.close();
  }
}

/** Reads a password without echoing it; null at end of input. */
export async function askHidden(question: string): Promise<string | null> {
  if (!process.stdin.isTTY) {
    process.stdout.write(question + "\n");
    return nextPipedLine();
  }
  try {
    return await password({
      message: question.replace(/:\s*$/, ":"),
      mask: false,
      theme: { prefix: "", style: { message: (text: string) => text, answer: () => "" } },
    });
  } catch (err) {
    // Ctrl-C or a closed terminal.
    if (err instanceof Error && (err.name === "ExitPromptError" || err.name === "AbortPromptError")) return null;
    throw err;
  }
}

/** Reads all of standard input (for `--password-file -`). */
export async function readAllStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}
