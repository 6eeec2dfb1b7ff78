#!/usr/bin/env node
/**
 * @module The installed `gatehouse` program (gatehouse-program.ts) on this process's streams.
 */
import { installCrashHandlers } from "./errors.js";
import { gatehouse } from "./gatehouse-program.js";

installCrashHandlers();
// Exits at once: open pools or sockets must not keep a finished command alive.
process.exit(await gatehouse(process.argv.slice(2)));
