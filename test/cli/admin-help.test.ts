/**
 * The admin commands' help: every command in the tree answers `--help` with exit 0, every option and argument
 * has a description there, and docs/cli.md has a section for every command naming every one of its options.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Command } from "commander";
import { describe, expect, it } from "vitest";
import { defineAdminLogin } from "../../src/cli/admin/admin-login.js";
import { defineAuditCommand } from "../../src/cli/admin/audit-command.js";
import { addConnectionOptions } from "../../src/cli/admin/connection.js";
import { defineReportCommands } from "../../src/cli/admin/report-commands.js";
import { defineRoomCommands } from "../../src/cli/admin/room-commands.js";
import { defineNoticeCommands } from "../../src/cli/admin/notice-command.js";
import { defineMediaCommands } from "../../src/cli/admin/media-commands.js";
import { defineTokenCommands } from "../../src/cli/admin/token-commands.js";
import { defineUserCommands } from "../../src/cli/admin/user-commands.js";
import { runCli } from "../helpers/cli.js";
import { GATEHOUSE_BIN, REPO } from "../helpers/server.js";
import { runGatehouse } from "./in-process.js";

/** The admin part of the `gatehouse` tree, built as gatehouse-program.ts builds it. */
function adminTree(): Command {
  const root = new Command("gatehouse");
  defineUserCommands(root.command("user"));
  defineTokenCommands(root.command("token"));
  defineRoomCommands(root.command("room"));
  defineReportCommands(root.command("report"));
  defineAuditCommand(root.command("audit"));
  defineAdminLogin(root.command("admin-login"));
  defineNoticeCommands(root.command("notice"));
  defineMediaCommands(root.command("media"));
  return root;
}

function walk(cmd: Command, path: string[] = []): { path: string[]; cmd: Command }[] {
  return cmd.commands.flatMap((c) => [{ path: [...path, c.name()], cmd: c }, ...walk(c, [...path, c.name()])]);
}

const commands = walk(adminTree());
const leaves = commands.filter((c) => c.cmd.commands.length === 0);
const docs = readFileSync(join(REPO, "docs/cli.md"), "utf8");
/** The options every admin command takes, documented once in docs/cli.md's "Connecting" section. */
const COMMON = new Set(addConnectionOptions(new Command()).options.map((o) => o.long));

/** The text of docs/cli.md from the heading of `gatehouse <path>` to the next heading of its level or above. */
function docSection(path: string[]): string | null {
  return sectionAt(`### \`gatehouse ${path.join(" ")}\``);
}

function sectionAt(heading: string): string | null {
  const start = docs.indexOf(heading);
  if (start < 0) return null;
  const rest = docs.slice(start + heading.length);
  const end = rest.search(/\n#{1,3} /);
  return end < 0 ? rest : rest.slice(0, end);
}

const connecting = sectionAt("### Connecting");

describe("admin commands' help", () => {
  it("the tree has the commands the docs promise", () => {
    expect(leaves.map((l) => l.path.join(" ")).sort()).toEqual(
      [
        "admin-login",
        "audit",
        "media delete",
        "media delete-older-than",
        "media delete-user",
        "media info",
        "media list",
        "media protect",
        "media quarantine",
        "media unprotect",
        "media unquarantine",
        "notice send",
        "report delete",
        "report list",
        "report show",
        "room block",
        "room delete",
        "room delete-status",
        "room join",
        "room list",
        "room make-admin",
        "room members",
        "room show",
        "room state",
        "room unblock",
        "token delete",
        "token list",
        "token new",
        "token show",
        "token update",
        "user create",
        "user deactivate",
        "user import",
        "user link",
        "user list",
        "user lock",
        "user login-as",
        "user modify",
        "user reactivate",
        "user reset-password",
        "user rooms",
        "user set-admin",
        "user show",
        "user unlink",
        "user unlock",
        "user unset-admin",
        "user whois",
      ].sort(),
    );
  });

  it.each(leaves.map((l) => [l.path.join(" "), l] as const))(
    "%s: every option and argument described, in the help and in docs/cli.md",
    (name, { path, cmd }) => {
      const help = cmd.helpInformation();
      expect(cmd.description()).not.toBe("");
      const section = docSection(path);
      expect(section, `docs/cli.md has no section for ${name}`).not.toBeNull();
      for (const option of cmd.options) {
        expect(option.description, option.flags).not.toBe("");
        expect(help).toContain(option.flags);
        const where = COMMON.has(option.long) ? connecting : section;
        expect(where, `docs/cli.md, ${name}: ${option.long}`).toContain(`\`${option.long}`);
      }
      for (const arg of cmd.registeredArguments) {
        expect(arg.description, arg.name()).not.toBe("");
        expect(help).toContain(arg.name());
      }
    },
  );

  it("--help on every command of the program exits 0 and prints its usage", async () => {
    const all = [["user"], ["token"], ["room"], ["report"], ["notice"], ["media"], ...commands.map((c) => c.path)];
    const unique = [...new Map(all.map((p) => [p.join(" "), p])).values()];
    for (const p of unique) {
      const name = p.join(" ");
      const r = await runGatehouse([...p, "--help"]);
      expect(r.code, `${name}: ${r.stderr}`).toBe(0);
      expect(r.stdout, name).toContain(`Usage: gatehouse ${name}`);
    }
  });

  it("--help through the built program: exit 0 and the usage, for an admin command and the whole program", async () => {
    for (const p of [["user", "create"], []]) {
      const name = ["gatehouse", ...p].join(" ");
      const r = await runCli(GATEHOUSE_BIN, [...p, "--help"]);
      expect(r.code, `${name}: ${r.stderr}`).toBe(0);
      expect(r.stdout, name).toContain(`Usage: ${name}`);
    }
  });
});
