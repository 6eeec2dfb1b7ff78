/**
 * @module `gatehouse media …`: Synapse's media admin API from the command line: a user's media, one item's row,
 * delete (one, a user's, older than), quarantine and protection. Media is named `mxc://server/id` or by its bare
 * ID (this server's).
 */
import { Command, Option } from "commander";
import { MEDIA_ORDER_COLUMNS } from "../../db/media-order-columns.js";
import type { DeletedMedia } from "../../media/admin.js";
import { CliError, EXIT_USAGE } from "../errors.js";
import { cliIo } from "../io.js";
import type { AdminBackend } from "./backend.js";
import { addConnectionOptions } from "./connection.js";
import { humanTime, printJson, printKeyValues, printTable } from "./format.js";
import { expandUserId, nonNegativeInt, parsePastTime } from "./input.js";
import type { AdminQuery } from "./room-backend.js";
import { runAdmin, type CommonFlags } from "./run.js";

function leaf(parent: Command, name: string, description: string): Command {
  return addConnectionOptions(parent.command(name).description(description));
}

/** `mxc://server/id`, or a bare ID of this server's. */
async function mediaRef(b: AdminBackend, ref: string): Promise<{ server: string; id: string }> {
  const m = /^mxc:\/\/([^/]+)\/([^/#?]+)$/.exec(ref);
  if (m) return { server: m[1]!, id: m[2]! };
  if (!/^[A-Za-z0-9_-]+$/.test(ref)) throw new CliError(`error: not a media ID or mxc:// URI: ${ref}`, EXIT_USAGE);
  return { server: await b.serverName(), id: ref };
}

function printDeleted(r: DeletedMedia, json: boolean | undefined): void {
  if (json) printJson(r);
  else cliIo().stdout.write(`Deleted ${r.total} media item(s)${r.total ? `: ${r.deleted_media.join(" ")}` : ""}\n`);
}

interface ListFlags extends CommonFlags {
  orderBy?: string;
  dir?: string;
  limit?: number;
  from?: number;
}

function pageParams(flags: ListFlags): AdminQuery {
  const params: AdminQuery = {};
  if (flags.orderBy !== undefined) params.order_by = flags.orderBy;
  if (flags.dir !== undefined) params.dir = flags.dir;
  if (flags.limit !== undefined) params.limit = String(flags.limit);
  if (flags.from !== undefined) params.from = String(flags.from);
  return params;
}

function pageOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option("--order-by <column>", "sort by this column").choices([...MEDIA_ORDER_COLUMNS]))
    .addOption(new Option("--dir <dir>", "f ascending, b descending").choices(["f", "b"]))
    .option("--limit <n>", "items per page (default 100)", nonNegativeInt)
    .option("--from <n>", "start at this offset", nonNegativeInt);
}

export function defineMediaCommands(media: Command): Command {
  media.description("List, delete, quarantine and protect uploaded media.");

  pageOptions(leaf(media, "list", "List a user's media, newest first unless --order-by or --dir is given."))
    .argument("<user>", "localpart or user ID")
    .action((user: string, flags: ListFlags) =>
      runAdmin(flags, async (b) => {
        const r = await b.listUserMedia(await expandUserId(b, user), pageParams(flags));
        if (flags.json) {
          printJson(r);
          return;
        }
        printTable(
          ["MEDIA ID", "TYPE", "BYTES", "NAME", "CREATED", "QUARANTINED BY", "PROTECTED"],
          r.media.map((m) => [
            m.media_id,
            m.media_type,
            m.media_length,
            m.upload_name,
            humanTime(m.created_ts),
            m.quarantined_by,
            m.safe_from_quarantine,
          ]),
          "(no media)",
        );
        if (r.next_token !== undefined) {
          cliIo().stderr.write(`${r.media.length} of ${r.total}; next page: --from ${r.next_token}\n`);
        }
      }),
    );

  leaf(media, "info", "Show one media item's record.")
    .argument("<media>", "mxc:// URI or media ID")
    .action((ref: string, flags: CommonFlags) =>
      runAdmin(flags, async (b) => {
        const { server, id } = await mediaRef(b, ref);
        const r = await b.mediaInfo(server, id);
        if (flags.json) {
          printJson(r);
          return;
        }
        const m = r.media_info;
        printKeyValues([
          ["media ID", m.media_id],
          ["uploader", m.user_id],
          ["type", m.media_type],
          ["bytes", m.media_length],
          ["name", m.upload_name],
          ["created", humanTime(m.created_ts)],
          ["last access", humanTime(m.last_access_ts)],
          ["quarantined by", m.quarantined_by],
          ["protected", m.safe_from_quarantine],
          ["sha256", m.sha256],
        ]);
      }),
    );

  leaf(media, "delete", "Delete one media item (its thumbnails and, once unused, its file).")
    .argument("<media>", "mxc:// URI or media ID")
    .action((ref: string, flags: CommonFlags) =>
      runAdmin(flags, async (b) => {
        const { server, id } = await mediaRef(b, ref);
        printDeleted(await b.deleteMedia(server, id), flags.json);
      }),
    );

  pageOptions(leaf(media, "delete-user", "Delete a user's media: the page `media list` shows with the same options."))
    .argument("<user>", "localpart or user ID")
    .action((user: string, flags: ListFlags) =>
      runAdmin(flags, async (b) => {
        printDeleted(await b.deleteUserMedia(await expandUserId(b, user), pageParams(flags)), flags.json);
      }),
    );

  leaf(media, "delete-older-than", "Delete media created and last used before a time (avatars kept by default).")
    .argument("<time>", "a duration ago (30d, 12h, 2w) or an ISO date", parsePastTime)
    .option("--size-gt <bytes>", "only media larger than this", nonNegativeInt)
    .option("--include-profiles", "delete media used as an avatar too")
    .action((before: number, flags: CommonFlags & { sizeGt?: number; includeProfiles?: boolean }) =>
      runAdmin(flags, async (b) => {
        const params: AdminQuery = { before_ts: String(before) };
        if (flags.sizeGt !== undefined) params.size_gt = String(flags.sizeGt);
        if (flags.includeProfiles) params.keep_profiles = "false";
        printDeleted(await b.deleteOldMedia(params), flags.json);
      }),
    );

  for (const [name, quarantine, text] of [
    ["quarantine", true, "Quarantine a media item: downloads refuse it (protected media is never quarantined)."],
    ["unquarantine", false, "Release a quarantined media item."],
  ] as const) {
    leaf(media, name, text)
      .argument("<media>", "mxc:// URI or media ID")
      .action((ref: string, flags: CommonFlags) =>
        runAdmin(flags, async (b) => {
          const { server, id } = await mediaRef(b, ref);
          const r = await b.setQuarantined(server, id, quarantine);
          if (flags.json) printJson(r);
          else cliIo().stdout.write(`${quarantine ? "Quarantined" : "Released"} mxc://${server}/${id}\n`);
        }),
      );
  }

  for (const [name, safe, text] of [
    ["protect", true, "Protect a media item from quarantine and from deletion by age."],
    ["unprotect", false, "Remove a media item's protection."],
  ] as const) {
    leaf(media, name, text)
      .argument("<media>", "mxc:// URI or media ID (this server's)")
      .action((ref: string, flags: CommonFlags) =>
        runAdmin(flags, async (b) => {
          const { id } = await mediaRef(b, ref);
          const r = await b.setProtected(id, safe);
          if (flags.json) printJson(r);
          else cliIo().stdout.write(`${safe ? "Protected" : "Unprotected"} ${id}\n`);
        }),
      );
  }
  return media;
}
