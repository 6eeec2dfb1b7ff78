/**
 * @module `gatehouse report …`: the content users reported (events, and whole rooms), as Synapse's event-report
 * admin API shows them: list, show, delete.
 */
import { Command, Option } from "commander";
import { cliIo } from "../io.js";
import { addConnectionOptions } from "./connection.js";
import { humanTime, printJson, printKeyValues, printTable } from "./format.js";
import { expandUserId, nonNegativeInt } from "./input.js";
import type { AdminQuery, EventReportList } from "./room-backend.js";
import { runAdmin, type CommonFlags } from "./run.js";

function leaf(parent: Command, name: string, description: string): Command {
  return addConnectionOptions(parent.command(name).description(description));
}

interface ListFlags extends CommonFlags {
  room?: string;
  user?: string;
  dir?: string;
  limit?: number;
  from?: number;
  all?: boolean;
}

export function defineReportCommands(report: Command): Command {
  report.description("Read and dismiss the content users reported to the server's admins.");

  leaf(report, "list", "List reports, newest first.")
    .option("--room <room>", "only reports about this room (ID or alias)")
    .option("--user <user>", "only reports made by this user (localpart or user ID)")
    .addOption(new Option("--dir <dir>", "b newest first (default), f oldest first").choices(["b", "f"]))
    .option("--limit <n>", "reports per page (default 100)", nonNegativeInt)
    .option("--from <n>", "start at this offset (printed after a page that has more)", nonNegativeInt)
    .option("--all", "fetch every page (--json prints them as one list)")
    .action((flags: ListFlags) =>
      runAdmin(flags, async (b) => {
        const params: AdminQuery = {};
        if (flags.room !== undefined) params.room_id = await b.resolveRoom(flags.room);
        if (flags.user !== undefined) params.user_id = await expandUserId(b, flags.user);
        if (flags.dir !== undefined) params.dir = flags.dir;
        // With --all, a page of 0 would never advance: 0 then means the default page.
        const limit = flags.all && flags.limit === 0 ? undefined : flags.limit;
        if (limit !== undefined) params.limit = String(limit);
        if (flags.from !== undefined) params.from = String(flags.from);
        let page = await b.listReports(params);
        let result: EventReportList = page;
        if (flags.all) {
          const reports = [...page.event_reports];
          while (page.next_token !== undefined) {
            page = await b.listReports({ ...params, from: String(page.next_token) });
            reports.push(...page.event_reports);
          }
          result = { event_reports: reports, total: page.total };
        }
        if (flags.json) {
          printJson(result);
          return;
        }
        printTable(
          ["ID", "RECEIVED", "ROOM", "EVENT", "SENDER", "REPORTER", "SCORE", "REASON"],
          result.event_reports.map((r) => [
            r.id,
            humanTime(r.received_ts),
            r.room_id,
            r.event_id ?? "(the room)",
            r.sender,
            r.user_id,
            r.score,
            r.reason,
          ]),
          "(no reports)",
        );
        if (result.next_token !== undefined) {
          cliIo().stderr.write(
            `${result.event_reports.length} of ${result.total}; next page: --from ${result.next_token}\n`,
          );
        }
      }),
    );

  leaf(report, "show", "Show one report with the reported event.")
    .argument("<id>", "the report's ID")
    .action((id: string, flags: CommonFlags) =>
      runAdmin(flags, async (b) => {
        const r = await b.getReport(id);
        if (flags.json) {
          printJson(r);
          return;
        }
        printKeyValues([
          ["report ID", r.id],
          ["received", humanTime(r.received_ts)],
          ["reporter", r.user_id],
          ["reason", r.reason],
          ["score", r.score],
          ["room ID", r.room_id],
          ["room name", r.name],
          ["room alias", r.canonical_alias],
          ["event ID", r.event_id ?? "(the room was reported)"],
          ["sender", r.sender],
          ["event type", r.event_json?.type],
          ["sent", humanTime(r.event_json?.origin_server_ts)],
          ["content", r.event_json ? JSON.stringify(r.event_json.content) : null],
        ]);
      }),
    );

  leaf(report, "delete", "Delete a report (the reported event stays; redact it from a client to remove it).")
    .argument("<id>", "the report's ID")
    .action((id: string, flags: CommonFlags) =>
      runAdmin(flags, async (b) => {
        const answer = await b.deleteReport(id);
        if (flags.json) printJson(answer);
        else cliIo().stdout.write(`Deleted report ${id}\n`);
      }),
    );
  return report;
}
