/**
 * The CLI programs run inside the test's own process: the very commander programs the installed binaries run
 * (src/cli/gatehouse-program.ts, register-new-matrix-user-program.ts), given the arguments, standard input as a
 * string, the environment (the test process's with `env` on top, as a child would get it) and captured output; the
 * exit code comes back instead of ending the process. It answers exactly what `runCli` (test/helpers/cli.ts)
 * answers for the built binary, without the quarter-second of CPU a Node start-up costs, several thousand times a run.
 *
 *     const r = await runGatehouse(["user", "list", "--json"], { env: { GATEHOUSE_URL: url, GATEHOUSE_TOKEN: t } });
 *     expect(r.code).toBe(0);
 *
 * What needs the real process stays on `runCli`/`runInPty` (test/helpers/cli-tools.ts) and `spawnServer`: exit codes
 * and output of the process itself, prompts on a terminal, `--help` starting without the server's code, the crash
 * handler, `serve --workers` (the primary owns the process's signals and cluster), and a `serve` whose log a test
 * reads (the log goes to the process's own standard output). `runRefusedServe` runs a start that is refused before it
 * serves; `startServeInProcess` a single-process server the test stops itself. There is no `cwd`: give paths absolute. In
 * database mode on SQLite the command's connection and an in-process server's share this event loop, so do not run
 * one while the server handles requests.
 */
import { EventEmitter } from "node:events";
import { Readable, Writable } from "node:stream";
import { gatehouse } from "../../src/cli/gatehouse-program.js";
import { registerNewMatrixUser } from "../../src/cli/register-new-matrix-user-program.js";
import type { CliIo } from "../../src/cli/io.js";
import type { CliResult } from "../helpers/cli.js";
import { GATEHOUSE_BIN, RNMU_BIN, type ServerProcess } from "../helpers/server.js";

export interface InProcessOptions {
  stdin?: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

type Program = (args: string[], io: CliIo) => Promise<number>;

class Capture extends Writable {
  text = "";
  override _write(chunk: Buffer | string, _encoding: BufferEncoding, callback: () => void): void {
    this.text += chunk.toString();
    this.emit("text");
    callback();
  }
}

/** Streams of the run's own: standard input given whole, output captured, and stop signals nobody else sends. */
function captured(options: InProcessOptions): { io: CliIo; stdout: Capture; stderr: Capture } {
  const stdout = new Capture();
  const stderr = new Capture();
  // Read only if the command reads it, as a child's pipe: an empty string is an input at its end.
  const stdin = Readable.from(options.stdin ? [Buffer.from(options.stdin)] : [], { objectMode: false });
  const io: CliIo = { stdin, stdout, stderr, env: { ...process.env, ...options.env }, signals: new EventEmitter() };
  return { io, stdout, stderr };
}

async function run(
  name: string,
  program: Program,
  args: string[],
  options: InProcessOptions,
  refusal = false,
): Promise<CliResult> {
  if (program === gatehouse && args[0] === "serve" && !refusal) {
    throw new Error("run `gatehouse serve` with spawnServer: it owns the process's signals and cluster");
  }
  const { io, stdout, stderr } = captured(options);
  const timeoutMs = options.timeoutMs ?? 30_000;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${name} ${args.join(" ")} timed out\n${stdout.text}\n${stderr.text}`)),
      timeoutMs,
    );
  });
  // A `serve` that should have been refused but started a server has installed its SIGTERM handler (on the run's
  // signals, or on the process for a `--workers` primary): stop it through that handler alone (not the worker's
  // own) and fail, rather than leave a server here until the timeout.
  const sigtermHandlers = process.listenerCount("SIGTERM");
  const seen = { started: false };
  const watch = refusal
    ? setInterval(() => {
        const added = [...process.listeners("SIGTERM").slice(sigtermHandlers), ...io.signals!.listeners("SIGTERM")];
        if (seen.started || added.length === 0) return;
        seen.started = true;
        for (const handler of added) (handler as (signal: string) => void)("SIGTERM");
      }, 20)
    : undefined;
  try {
    const code = await Promise.race([program(args, io), timedOut]);
    if (seen.started) throw new Error(`${name} ${args.join(" ")} started a server instead of refusing\n${stderr.text}`);
    return { code, stdout: stdout.text, stderr: stderr.text };
  } finally {
    clearTimeout(timer);
    clearInterval(watch);
  }
}

/** `gatehouse args…` in this process. */
export function runGatehouse(args: string[], options: InProcessOptions = {}): Promise<CliResult> {
  return run("gatehouse", gatehouse, args, options);
}

/** `register_new_matrix_user args…` in this process. */
export function runRegisterNewMatrixUser(args: string[], options: InProcessOptions = {}): Promise<CliResult> {
  return run("register_new_matrix_user", registerNewMatrixUser, args, options);
}

/**
 * `gatehouse serve args…` in this process, for a start that is refused before anything serves (a configuration
 * that does not validate, a bad signing key, a database of another server_name, a port in use): the exit code and
 * output the process gives, without a Node start-up and a load of the server's code (about 1 s of CPU) each. A
 * start that is not refused fails the test; a server that should start is spawned (`spawnServer`).
 */
export function runRefusedServe(args: string[], options: InProcessOptions = {}): Promise<CliResult> {
  return run("gatehouse", gatehouse, ["serve", ...args], options, true);
}

/** `runCli`'s signature for the two built programs' paths, so a test converts by changing the function it calls. */
export function runCliInProcess(bin: string, args: string[], options: InProcessOptions = {}): Promise<CliResult> {
  if (bin === GATEHOUSE_BIN) return runGatehouse(args, options);
  if (bin === RNMU_BIN) return runRegisterNewMatrixUser(args, options);
  throw new Error(`${bin} is not one of the programs that run in process`);
}

/** A `serve` started in this process: what `spawnServer` answers, without a child process. */
export type InProcessServer = Omit<ServerProcess, "proc">;

/**
 * `gatehouse serve args…` in this process, until the test stops it: the same command, configuration loading,
 * warnings, start-up and stop on SIGTERM as the built program, and the same `serving … on` line to wait for, without
 * a Node start-up and a load of the server's code (about 1 s of CPU) for each start. Only for one process (no
 * `--workers`), paths given absolute, and nothing read from the server's log (see the top of this file); `stop`
 * sends the signal to this server alone and answers the exit code the program returns.
 */
export function startServeInProcess(args: string[], options: InProcessOptions = {}): Promise<InProcessServer> {
  if (args.some((a) => a.startsWith("--workers"))) throw new Error("spawn `gatehouse serve --workers` (spawnServer)");
  const { io, stdout, stderr } = captured(options);
  const exited = gatehouse(["serve", ...args], io);
  const stop = (signal: NodeJS.Signals = "SIGTERM") => {
    io.signals!.emit(signal, signal);
    return exited;
  };
  return new Promise((resolve, reject) => {
    const fail = (err: Error) => {
      clearTimeout(timer);
      stdout.off("text", listening);
      reject(err);
    };
    const timer = setTimeout(() => {
      // Stopped as soon as it can be: now if it listens for the signal, else once it starts to.
      const signals = io.signals!;
      if (signals.listenerCount("SIGTERM") > 0) void stop("SIGTERM");
      else
        signals.on("newListener", (event) => {
          if (event === "SIGTERM") setImmediate(() => void stop("SIGTERM"));
        });
      fail(new Error(`server did not start in time:\n${stdout.text}\n${stderr.text}`));
    }, options.timeoutMs ?? 30_000);
    // The same line, and the same first address, that spawnServer reads from a child's output.
    const listening = () => {
      const m = / on (\S+?)(,|\n)/.exec(stdout.text);
      if (!m) return;
      clearTimeout(timer);
      stdout.off("text", listening);
      resolve({ url: m[1]!, stdout: () => stdout.text, stderr: () => stderr.text, stop });
    };
    stdout.on("text", listening);
    exited.then(
      (code) => fail(new Error(`server exited with ${code} before listening:\n${stdout.text}\n${stderr.text}`)),
      (err: unknown) => fail(err instanceof Error ? err : new Error(String(err))),
    );
  });
}
