/**
 * @module The `register_new_matrix_user` program: a drop-in for Synapse's script of the same name. The installed
 * program (register-new-matrix-user.ts) runs it on the process; tests run it in theirs (test/cli/in-process.ts).
 */
import { Command } from "commander";
import { runCommand } from "./errors.js";
import { withCliIo, type CliIo } from "./io.js";
import { configureProgram, runProgram } from "./program.js";
import { defineRegisterUser, runRegisterUser, trackAdminFlags, type RegisterUserFlags } from "./register-user.js";

/** Runs `register_new_matrix_user args…`; resolves to the exit code. */
export function registerNewMatrixUser(args: string[], io?: CliIo): Promise<number> {
  return withCliIo(io, () => {
    const program = configureProgram(defineRegisterUser(new Command("register_new_matrix_user")));
    const seen = trackAdminFlags(program);
    program.action((serverUrl: string | undefined, flags: RegisterUserFlags) =>
      runCommand(() => runRegisterUser(flags, seen, serverUrl)),
    );
    return runProgram(program, args);
  });
}
