/**
 * @module `gatehouse notice send`: a server notice to one local user (Synapse's Server Notices admin API), over HTTP
 * or on the database with the server's config (which names the notices user and holds the signing key).
 */
import { readFileSync } from "node:fs";
import { Command } from "commander";
import { cliIo } from "../io.js";
import { errorMessage } from "../../config/validate.js";
import { CliError, EXIT_USAGE } from "../errors.js";
import { readAllStdin } from "../prompts.js";
import { addConnectionOptions } from "./connection.js";
import { printJson } from "./format.js";
import { expandUserId } from "./input.js";
import { runAdmin, type CommonFlags } from "./run.js";

interface SendFlags extends CommonFlags {
  body?: string;
  contentFile?: string;
  type?: string;
  stateKey?: string;
  txnId?: string;
}

/** The event content: `--body` as an `m.text` message, or the JSON object in `--content-file` (- : standard input). */
async function contentOf(flags: SendFlags): Promise<Record<string, unknown>> {
  if ((flags.body === undefined) === (flags.contentFile === undefined)) {
    throw new CliError("error: give exactly one of --body and --content-file", EXIT_USAGE);
  }
  if (flags.body !== undefined) return { msgtype: "m.text", body: flags.body };
  const path = flags.contentFile!;
  let parsed: unknown;
  try {
    parsed = JSON.parse(path === "-" ? await readAllStdin() : readFileSync(path, "utf8"));
  } catch (err) {
    throw new CliError(`error: --content-file ${path}: ${errorMessage(err).split("\n")[0]}`, EXIT_USAGE);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new CliError(`error: --content-file ${path} must hold a JSON object (the event's content)`, EXIT_USAGE);
  }
  return parsed as Record<string, unknown>;
}

export function defineNoticeCommands(notice: Command): Command {
  notice.description("Send server notices (needs server_notices in the server's config).");
  addConnectionOptions(notice.command("send").description("Send a server notice to a local user."))
    .argument("<user>", "localpart or user ID of the recipient")
    .option("--body <text>", "the notice as plain text (an m.text message)")
    .option("--content-file <file>", "the event's content as a JSON object from FILE; - reads standard input")
    .option("--type <type>", "the event type (default m.room.message)")
    .option("--state-key <key>", "send a state event with this state key")
    .option("--txn-id <id>", "a transaction ID: sending again with the same one sends nothing new")
    .action((user: string, flags: SendFlags) =>
      runAdmin(flags, async (b) => {
        const body: Record<string, unknown> = { user_id: await expandUserId(b, user), content: await contentOf(flags) };
        if (flags.type !== undefined) body.type = flags.type;
        if (flags.stateKey !== undefined) body.state_key = flags.stateKey;
        const sent = await b.sendServerNotice(body, flags.txnId);
        if (flags.json) printJson(sent);
        else cliIo().stdout.write(`sent ${sent.event_id} to ${body.user_id as string}\n`);
      }),
    );
  return notice;
}
