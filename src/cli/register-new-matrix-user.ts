#!/usr/bin/env node
/**
 * @module The installed `register_new_matrix_user` program (register-new-matrix-user-program.ts) on this process's
 * streams.
 */
import { installCrashHandlers } from "./errors.js";
import { registerNewMatrixUser } from "./register-new-matrix-user-program.js";

installCrashHandlers();
// Exits at once: open pools or sockets must not keep a finished command alive.
process.exit(await registerNewMatrixUser(process.argv.slice(2)));
