/**
 * @module The `gatehouse` program: serve, generate-config, migrate, register-user (server-commands.ts), and the
 * admin commands (user, token, room, report, audit, admin-login, notice, media) that work on a running server or straight on
 * the database.
 * The installed program (gatehouse.ts) runs it on the process; tests run it in theirs (test/cli/in-process.ts).
 */
import { Command } from "commander";
import { VERSION } from "../version.js";
import { defineAdminLogin } from "./admin/admin-login.js";
import { defineAuditCommand } from "./admin/audit-command.js";
import { defineNoticeCommands } from "./admin/notice-command.js";
import { defineMediaCommands } from "./admin/media-commands.js";
import { defineReportCommands } from "./admin/report-commands.js";
import { defineRoomCommands } from "./admin/room-commands.js";
import { defineTokenCommands } from "./admin/token-commands.js";
import { defineUserCommands } from "./admin/user-commands.js";
import { withCliIo, type CliIo } from "./io.js";
import { configureProgram, runProgram } from "./program.js";

/** Commands that never need the server's code. */
const ADMIN_COMMANDS = new Set(["user", "token", "room", "report", "audit", "admin-login", "notice", "media"]);

/** Runs `gatehouse args…` (the words after the program's name); resolves to the exit code. */
export function gatehouse(args: string[], io?: CliIo): Promise<number> {
  return withCliIo(io, async () => {
    const program = configureProgram(new Command("gatehouse"))
      .description("Gatehouse, a Matrix homeserver for people who run accounts.")
      .version(VERSION, "-V, --version");

    // Loading the server (fastify, every route) takes about half a second; scripts run admin commands in loops, so
    // an admin command leaves it out. Anything else (including `gatehouse --help`) declares every command.
    if (!ADMIN_COMMANDS.has(args[0] ?? "")) {
      const { defineServerCommands } = await import("./server-commands.js");
      defineServerCommands(program);
    }

    defineUserCommands(program.command("user"));
    defineTokenCommands(program.command("token"));
    defineRoomCommands(program.command("room"));
    defineReportCommands(program.command("report"));
    defineAuditCommand(program.command("audit"));
    defineAdminLogin(program.command("admin-login"));
    defineNoticeCommands(program.command("notice"));
    defineMediaCommands(program.command("media"));

    return runProgram(program, args);
  });
}
