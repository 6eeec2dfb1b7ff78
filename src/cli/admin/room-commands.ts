/**
 * @module `gatehouse room …`: list, show, members, state, delete, delete-status, block, unblock, make-admin, join.
 * Each is written once against `AdminBackend`, so it runs the same over HTTP and on the database (docs/cli.md).
 */
import { Command, Option } from "commander";
import { cliIo } from "../io.js";
import type { DeleteStatus } from "../../rooms/admin-room-delete.js";
import { ROOM_ORDERS, type AdminRoomList, type AdminRoomSummary } from "../../rooms/admin-rooms.js";
import { CliError, EXIT_FAILURE } from "../errors.js";
import type { AdminBackend } from "./backend.js";
import { addConnectionOptions } from "./connection.js";
import { humanTime, printJson, printKeyValues, printTable, type Cell } from "./format.js";
import { expandUserId, nonNegativeInt } from "./input.js";
import type { AdminQuery } from "./room-backend.js";
import { runAdmin, type CommonFlags } from "./run.js";

const ROOM_ARG = "room ID (!id:server) or alias (#name:server)";
const USER_ARG = "localpart or full user ID (@name:server)";

/** How often `room delete --wait` asks for the deletion's status. */
const POLL_MS = 250;

function leaf(parent: Command, name: string, description: string): Command {
  return addConnectionOptions(parent.command(name).description(description));
}

function out(flags: CommonFlags, json: unknown, human: () => void): void {
  if (flags.json) printJson(json);
  else human();
}

const list = (items: readonly string[]) => items.join(", ");

// ---------------------------------------------------------------------------------------------------------------

interface ListFlags extends CommonFlags {
  search?: string;
  orderBy?: string;
  dir?: string;
  limit?: number;
  from?: number;
  all?: boolean;
}

function listParams(flags: ListFlags, from: number | undefined, limit: number | undefined): AdminQuery {
  const p: AdminQuery = {};
  if (from !== undefined) p.from = String(from);
  if (limit !== undefined) p.limit = String(limit);
  if (flags.search !== undefined) p.search_term = flags.search;
  if (flags.orderBy !== undefined) p.order_by = flags.orderBy;
  if (flags.dir !== undefined) p.dir = flags.dir;
  return p;
}

function roomRows(rooms: AdminRoomSummary[]): Cell[][] {
  return rooms.map((r) => [
    r.room_id,
    r.name,
    r.canonical_alias,
    r.joined_members,
    r.joined_local_members,
    r.public,
    r.join_rules,
    r.version,
  ]);
}

function defineList(room: Command): void {
  leaf(room, "list", "List the server's rooms, by name by default.")
    .option("--search <term>", "name or alias contains TERM (any case), or the room ID does (exact case)")
    .addOption(new Option("--order-by <column>", "sort column (default name)").choices([...ROOM_ORDERS]))
    .addOption(new Option("--dir <dir>", "f forwards (default), b backwards").choices(["f", "b"]))
    .option("--limit <n>", "rooms per page (default 100)", nonNegativeInt)
    .option("--from <n>", "start at this offset (printed after a page that has more)", nonNegativeInt)
    .option("--all", "fetch every page (--json prints them as one list)")
    .action((flags: ListFlags) =>
      runAdmin(flags, async (b) => {
        // With --all, a page of 0 would never advance: 0 then means the default page.
        const limit = flags.all && flags.limit === 0 ? undefined : flags.limit;
        let page = await b.listRooms(listParams(flags, flags.from, limit));
        let result: AdminRoomList = page;
        if (flags.all) {
          const rooms = [...page.rooms];
          while (page.next_batch !== undefined) {
            page = await b.listRooms(listParams(flags, page.next_batch, limit));
            rooms.push(...page.rooms);
          }
          result = { rooms, offset: result.offset, total_rooms: page.total_rooms };
        }
        out(flags, result, () => {
          printTable(
            ["ROOM ID", "NAME", "ALIAS", "MEMBERS", "LOCAL", "PUBLIC", "JOIN RULE", "VERSION"],
            roomRows(result.rooms),
            "(no rooms match)",
          );
          if (result.next_batch !== undefined) {
            cliIo().stderr.write(
              `${result.rooms.length} of ${result.total_rooms}; next page: --from ${result.next_batch}\n`,
            );
          }
        });
      }),
    );
}

function defineShow(room: Command): void {
  leaf(room, "show", "Show one room: name, topic, alias, members, rules, and whether it is blocked.")
    .argument("<room>", ROOM_ARG)
    .action((name: string, flags: CommonFlags) =>
      runAdmin(flags, async (b) => {
        const r = await b.getRoom(await b.resolveRoom(name));
        if (flags.json) {
          printJson(r);
          return;
        }
        const block = await b.blockStatus(r.room_id);
        printKeyValues([
          ["room ID", r.room_id],
          ["name", r.name],
          ["topic", r.topic],
          ["canonical alias", r.canonical_alias],
          ["avatar", r.avatar],
          ["version", r.version],
          ["creator", r.creator],
          ["room type", r.room_type],
          ["joined members", r.joined_members],
          ["local members", r.joined_local_members],
          ["local devices", r.joined_local_devices],
          ["in the directory", r.public],
          ["join rule", r.join_rules],
          ["guest access", r.guest_access],
          ["history visibility", r.history_visibility],
          ["encryption", r.encryption],
          ["federatable", r.federatable],
          ["state events", r.state_events],
          ["forgotten", r.forgotten],
          ["blocked", block.block ? `yes (by ${block.user_id})` : "no"],
        ]);
      }),
    );
}

function defineMembers(room: Command): void {
  leaf(room, "members", "List the room's joined members.")
    .argument("<room>", ROOM_ARG)
    .action((name: string, flags: CommonFlags) =>
      runAdmin(flags, async (b) => {
        const answer = await b.roomMembers(await b.resolveRoom(name));
        out(flags, answer, () =>
          printTable(
            ["USER ID"],
            answer.members.map((m) => [m]),
            "(no joined members)",
          ),
        );
      }),
    );
}

function defineState(room: Command): void {
  leaf(room, "state", "Show the room's current state events, whatever the history visibility.")
    .argument("<room>", ROOM_ARG)
    .option("--type <type>", "only events of this type, e.g. m.room.power_levels")
    .action((name: string, flags: CommonFlags & { type?: string }) =>
      runAdmin(flags, async (b) => {
        const answer = await b.roomState(await b.resolveRoom(name), flags.type ?? null);
        out(flags, answer, () => {
          const events = [...answer.state].sort(
            (x, y) => x.type.localeCompare(y.type) || (x.state_key ?? "").localeCompare(y.state_key ?? ""),
          );
          printTable(
            ["TYPE", "STATE KEY", "SENDER", "SENT", "CONTENT"],
            events.map((e) => [
              e.type,
              e.state_key,
              e.sender,
              humanTime(e.origin_server_ts),
              JSON.stringify(e.content),
            ]),
            "(no state events)",
          );
        });
      }),
    );
}

// ---------------------------------------------------------------------------------------------------------------

interface DeleteFlags extends CommonFlags {
  purge?: boolean;
  forcePurge?: boolean;
  block?: boolean;
  message?: string;
  roomName?: string;
  newRoomUser?: string;
  wait?: boolean;
}

const finished = (s: DeleteStatus) => s.status === "complete" || s.status === "failed";

/** The deletion's status once it has finished. */
async function waitFor(b: AdminBackend, deleteId: string): Promise<DeleteStatus> {
  for (;;) {
    const status = await b.deleteStatus(deleteId);
    if (finished(status)) return status;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

function printDeletion(s: DeleteStatus): void {
  const r = s.shutdown_room;
  printKeyValues([
    ["room ID", s.room_id],
    ["delete ID", s.delete_id],
    ["status", s.status],
    ["users removed", list(r.kicked_users)],
    ["users not removed", list(r.failed_to_kick_users)],
    ["aliases", list(r.local_aliases)],
    ["notice room", r.new_room_id],
  ]);
}

function failedDeletion(s: DeleteStatus): CliError {
  return new CliError(`error: the deletion of ${s.room_id} failed: ${s.error ?? "no reason recorded"}`, EXIT_FAILURE);
}

function defineDelete(room: Command): void {
  leaf(
    room,
    "delete",
    "Delete a room: its local members leave, it leaves the directory, and its history is purged (Synapse's v2 delete).",
  )
    .argument("<room>", ROOM_ARG)
    .addOption(new Option("--purge", "remove the room's events and state from the database (the default)"))
    .addOption(new Option("--no-purge", "keep the room's history in the database"))
    .option("--force-purge", "purge even if local users could not be made to leave")
    .option("--block", "block the room: nobody but server admins may join it again (works on unknown rooms too)")
    .option("--new-room-user <user>", "create a notice room as this local user and move the members there")
    .option("--room-name <name>", "the notice room's name")
    .option("--message <text>", "the notice room's first message")
    .option("--wait", "wait until the deletion has finished and print its result (database mode always does)")
    .action((name: string, flags: DeleteFlags) =>
      runAdmin(flags, async (b) => {
        const roomId = await b.resolveRoom(name);
        const body: Record<string, unknown> = {};
        if (flags.purge !== undefined) body.purge = flags.purge;
        if (flags.forcePurge) body.force_purge = true;
        if (flags.block) body.block = true;
        if (flags.newRoomUser !== undefined) body.new_room_user_id = await expandUserId(b, flags.newRoomUser);
        if (flags.roomName !== undefined) body.room_name = flags.roomName;
        if (flags.message !== undefined) body.message = flags.message;
        const { delete_id } = await b.deleteRoom(roomId, body);
        if (!flags.wait) {
          if (flags.json) {
            printJson({ delete_id });
            return;
          }
          const status = await b.deleteStatus(delete_id);
          if (!finished(status)) {
            cliIo().stdout.write(
              `Deleting ${roomId}: delete ID ${delete_id} (see: gatehouse room delete-status ${delete_id})\n`,
            );
            return;
          }
          printDeletion(status);
          if (status.status === "failed") throw failedDeletion(status);
          return;
        }
        const status = await waitFor(b, delete_id);
        out(flags, status, () => printDeletion(status));
        if (status.status === "failed") throw failedDeletion(status);
      }),
    );
}

function defineDeleteStatus(room: Command): void {
  leaf(room, "delete-status", "Show a room deletion's status: by delete ID, or every deletion of a room.")
    .argument("<id>", "a delete ID, or a room ID or alias")
    .action((id: string, flags: CommonFlags) =>
      runAdmin(flags, async (b) => {
        if (id.startsWith("!") || id.startsWith("#")) {
          const answer = await b.roomDeleteStatuses(await b.resolveRoom(id));
          out(flags, answer, () =>
            printTable(
              ["DELETE ID", "STATUS", "USERS REMOVED", "NOTICE ROOM", "ERROR"],
              answer.results.map((s) => [
                s.delete_id,
                s.status,
                s.shutdown_room.kicked_users.length,
                s.shutdown_room.new_room_id,
                s.error,
              ]),
            ),
          );
          return;
        }
        const status = await b.deleteStatus(id);
        out(flags, status, () => printDeletion(status));
      }),
    );
}

function defineBlock(room: Command, block: boolean): void {
  leaf(
    room,
    block ? "block" : "unblock",
    block
      ? "Block a room (known here or not): nobody but server admins may join it or be invited."
      : "Unblock a blocked room.",
  )
    .argument("<room>", ROOM_ARG)
    .action((name: string, flags: CommonFlags) =>
      runAdmin(flags, async (b) => {
        const roomId = await b.resolveRoom(name);
        const answer = await b.setBlocked(roomId, block);
        out(flags, answer, () => cliIo().stdout.write(`${block ? "Blocked" : "Unblocked"} ${roomId}\n`));
      }),
    );
}

function defineMakeAdmin(room: Command): void {
  leaf(
    room,
    "make-admin",
    "Give a local user the power level of the room's most powerful local member (inviting them if needed).",
  )
    .argument("<room>", ROOM_ARG)
    .argument("[user]", `${USER_ARG}; default (HTTP mode only): the admin whose token is used`)
    .action((name: string, user: string | undefined, flags: CommonFlags) =>
      runAdmin(flags, async (b) => {
        const userId = user === undefined ? null : await expandUserId(b, user);
        const answer = await b.makeRoomAdmin(name, userId);
        out(flags, answer, () => cliIo().stdout.write(`${userId ?? "The token's user"} is now an admin of ${name}\n`));
      }),
    );
}

function defineJoin(room: Command): void {
  leaf(room, "join", "Join a local user to a room (a room that is not public needs the admin in it, to invite).")
    .argument("<room>", ROOM_ARG)
    .argument("<user>", USER_ARG)
    .action((name: string, user: string, flags: CommonFlags) =>
      runAdmin(flags, async (b) => {
        const userId = await expandUserId(b, user);
        const answer = await b.joinUser(name, userId);
        out(flags, answer, () => cliIo().stdout.write(`${userId} joined ${answer.room_id}\n`));
      }),
    );
}

export function defineRoomCommands(room: Command): Command {
  room.description("Manage rooms, on a running server or straight on the database.");
  defineList(room);
  defineShow(room);
  defineMembers(room);
  defineState(room);
  defineDelete(room);
  defineDeleteStatus(room);
  defineBlock(room, true);
  defineBlock(room, false);
  defineMakeAdmin(room);
  defineJoin(room);
  return room;
}
