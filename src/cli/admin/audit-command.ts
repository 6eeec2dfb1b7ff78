/**
 * @module `gatehouse audit`: the audit log of admin writes, newest first, from the API or the CLI alike.
 */
import { Command } from "commander";
import type { AuditEntryResponse, AuditListResponse } from "../../accounts/audit.js";
import type { AuditParams } from "./backend.js";
import { addConnectionOptions } from "./connection.js";
import { humanTime, printJson, printTable } from "./format.js";
import { expandUserId, nonNegativeInt, parsePastTime, parseTime } from "./input.js";
import { runAdmin, type CommonFlags } from "./run.js";
import { cliIo } from "../io.js";

interface AuditFlags extends CommonFlags {
  actor?: string;
  target?: string;
  action?: string;
  since?: number;
  until?: number;
  limit?: number;
  from?: string;
  all?: boolean;
}

/** `field: before → after` for each field the write changed. */
function changes(e: AuditEntryResponse): string {
  const keys = [...new Set([...Object.keys(e.before), ...Object.keys(e.after)])];
  const show = (v: unknown) => (v === undefined ? "" : JSON.stringify(v));
  return keys
    .map((k) => {
      const from = show(e.before[k]);
      const to = show(e.after[k]);
      return from && to ? `${k}: ${from} → ${to}` : `${k}: ${from || to}`;
    })
    .join("; ");
}

export function defineAuditCommand(cmd: Command): Command {
  return addConnectionOptions(cmd)
    .description("Read the audit log of admin writes (API and CLI), newest first.")
    .option("--actor <who>", "only writes by this admin (localpart, user ID, or cli:login@host)")
    .option("--target <id>", "only writes to this user ID or registration token (exact)")
    .option("--action <action>", "only this action, e.g. user.create, user.modify, registration_token.delete")
    .option("--since <time>", "only entries at or after: a duration ago (24h, 7d) or an ISO date", parsePastTime)
    .option("--until <time>", "only entries at or before: an ISO date (or a duration from now)", parseTime)
    .option("--limit <n>", "entries per page (default 100, at most 1000)", nonNegativeInt)
    .option("--from <token>", "start at this page token (printed after a page that has more)")
    .option("--all", "fetch every page (--json prints them as one list)")
    .action((flags: AuditFlags) =>
      runAdmin(flags, async (b) => {
        const params: AuditParams = {};
        if (flags.actor !== undefined) {
          params.actor = flags.actor.includes(":") ? flags.actor : await expandUserId(b, flags.actor);
        }
        if (flags.target !== undefined) params.target = flags.target;
        if (flags.action !== undefined) params.action = flags.action;
        if (flags.since !== undefined) params.from_ts = flags.since;
        if (flags.until !== undefined) params.to_ts = flags.until;
        if (flags.limit !== undefined) params.limit = flags.limit;
        if (flags.from !== undefined) params.from = flags.from;
        let page = await b.listAudit(params);
        let result: AuditListResponse = page;
        if (flags.all) {
          const entries = [...page.entries];
          while (page.next_token !== undefined) {
            page = await b.listAudit({ ...params, from: page.next_token });
            entries.push(...page.entries);
          }
          result = { entries, total: page.total };
        }
        if (flags.json) {
          printJson(result);
          return;
        }
        printTable(
          ["TIME", "ACTOR", "ACTION", "TARGET", "IP", "CHANGES"],
          result.entries.map((e) => [humanTime(e.ts), e.actor, e.action, e.target, e.ip, changes(e)]),
          "(no entries match)",
        );
        if (result.next_token !== undefined) {
          cliIo().stderr.write(`${result.entries.length} of ${result.total}; next page: --from ${result.next_token}\n`);
        }
      }),
    );
}
