/**
 * @module Where a CLI run reads and writes: standard input, output and error, the environment, and the stop signals
 * `serve` listens for.
 *
 * The installed programs use the process's own. A test runs the same commands inside its own process
 * (test/cli/in-process.ts) with streams of its own; every command reaches them through `cliIo()`. They follow the
 * run's asynchronous calls (AsyncLocalStorage) rather than being passed down through every command and helper, and
 * two runs in one process never see each other's.
 */
import { AsyncLocalStorage } from "node:async_hooks";

export type CliOutput = NodeJS.WritableStream & { isTTY?: boolean; columns?: number; hasColors?(): boolean };

export interface CliIo {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  stdout: CliOutput;
  stderr: CliOutput;
  env: NodeJS.ProcessEnv;
  /**
   * Where `serve` listens for SIGTERM and SIGINT: the process; a test's own emitter, so that it can stop the one
   * server it started in its process and leave the signals of the process, and of every other run, alone.
   */
  signals?: NodeJS.EventEmitter;
}

/** Getters: process.stdin makes its stream when first touched, which a command that reads nothing never does. */
const PROCESS_IO: CliIo = {
  get stdin() {
    return process.stdin;
  },
  get stdout() {
    return process.stdout;
  },
  get stderr() {
    return process.stderr;
  },
  get env() {
    return process.env;
  },
  get signals() {
    return process;
  },
};

const current = new AsyncLocalStorage<CliIo>();

/** The streams and environment of the run in progress (the process's own outside `withCliIo`). */
export function cliIo(): CliIo {
  return current.getStore() ?? PROCESS_IO;
}

/** Runs `body` (and everything it starts) with `io` as its streams and environment. */
export function withCliIo<T>(io: CliIo | undefined, body: () => T): T {
  return current.run(io ?? PROCESS_IO, body);
}
