#!/usr/bin/env node
/**
 * @module The `register_new_matrix_user` program: a drop-in for Synapse's script of the same name.
 */
import { Command } from "commander";
import { installCrashHandlers, runCommand } from "./errors.js";
import { configureProgram, parseOrExit } from "./program.js";
import { defineRegisterUser, runRegisterUser, trackAdminFlags, type RegisterUserFlags } from "./register-user.js";

installCrashHandlers();
const program = configureProgram(defineRegisterUser(new Command("register_new_matrix_user")));
const seen = trackAdminFlags(program);
program.action((serverUrl: string | undefined, flags: RegisterUserFlags) =>
  runCommand(() => runRegisterUser(flags, seen, serverUrl)),
);
await parseOrExit(program, process.argv);
