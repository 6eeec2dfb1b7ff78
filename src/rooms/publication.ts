/**
 * @module Who may list a room in the public room directory: the one rule `createRoom`'s `visibility: public` and
 * `PUT /directory/list/room/{roomId}` both ask (Synapse's `is_publishing_room_allowed` and
 * `check_can_change_room_list`).
 *
 * Two questions, both of which must say yes:
 * - may this user change this room's listing at all: a server admin, or a joined member whose power level reaches
 *   the level for sending `m.room.canonical_alias`;
 * - do `room_list_publication_rules` let this user publish this room: the first rule whose globs match the user, the
 *   room and (unless its alias glob is `*`) one of the room's aliases decides; no matching rule denies. The rules
 *   bind admins too, as in Synapse's code (its documentation says otherwise; Synapse issue 19192).
 */
import type { Requester } from "../accounts/auth.js";
import type { RoomDirectoryRule } from "../config/schema.js";
import type { Tables } from "../db/stores.js";
import { ErrCode, MatrixError } from "../errors.js";
import { PowerLevels } from "../matrix/auth-rules.js";
import type { RoomsContext } from "./context.js";
import { versionOfRoom } from "./persist.js";
import { stateLookup } from "./room-summary.js";

/** Synapse's `glob_to_regex`: `*` any run, `?` one character, the rest literal; whole string, any case. */
export function globToRegExp(glob: string): RegExp {
  const body = [...glob]
    .map((c) => (c === "*" ? ".*" : c === "?" ? "." : c.replace(/[.+^${}()|[\]\\]/g, "\\$&")))
    .join("");
  return new RegExp(`^${body}$`, "isu");
}

function ruleMatches(rule: RoomDirectoryRule, userId: string, roomId: string, aliases: readonly string[]): boolean {
  if (!globToRegExp(rule.user_id).test(userId)) return false;
  if (!globToRegExp(rule.room_id).test(roomId)) return false;
  if (rule.alias === "*") return true;
  const alias = globToRegExp(rule.alias);
  return aliases.some((a) => alias.test(a));
}

/** Whether `room_list_publication_rules` let `userId` publish `roomId`, known by `aliases`. */
export function publishingAllowed(
  rules: readonly RoomDirectoryRule[],
  userId: string,
  roomId: string,
  aliases: readonly string[],
): boolean {
  const rule = rules.find((r) => ruleMatches(r, userId, roomId, aliases));
  return rule?.action === "allow";
}

/**
 * Synapse's `is_alias_creation_allowed`, the one check of every way an alias is created (`PUT /directory/room`,
 * `createRoom`'s `room_alias_name`): `alias_creation_rules` read as the publication rules are, the alias being the
 * one alias matched. Server admins are bound too, as in Synapse. 403 with Synapse's words and errcode.
 */
export function assertAliasCreationAllowed(ctx: RoomsContext, userId: string, roomId: string, alias: string): void {
  if (!publishingAllowed(ctx.directory.aliasCreationRules, userId, roomId, [alias])) {
    throw new MatrixError(ErrCode.Unknown, "Not allowed to create alias", { status: 403 });
  }
}

/**
 * Synapse's `check_can_change_room_list`: admins, and joined members with the power to send
 * `m.room.canonical_alias`. Someone not joined gets 403 here; a member without the power gets false.
 */
export async function canChangeListing(tables: Tables, requester: Requester, roomId: string): Promise<boolean> {
  if (requester.admin) return true;
  const mine = await tables.roomMemberships.get(roomId, requester.userId);
  if (mine?.membership !== "join") {
    throw new MatrixError(ErrCode.Forbidden, `User ${requester.userId} not in room ${roomId}`);
  }
  return hasPowerFor(tables, requester.userId, roomId, "m.room.canonical_alias");
}

/** Whether `userId`'s power level in the room reaches what sending the state event `type` needs. */
export async function hasPowerFor(tables: Tables, userId: string, roomId: string, type: string): Promise<boolean> {
  const v = await versionOfRoom(tables, roomId);
  const state = await stateLookup(tables, roomId, [
    ["m.room.power_levels", ""],
    ["m.room.create", ""],
  ]);
  const pl = PowerLevels.from(state, v);
  return pl.user(userId) >= pl.event(type, true);
}

/** `PUT /directory/list/room/{roomId}`. */
export async function setRoomListing(
  ctx: RoomsContext,
  requester: Requester,
  roomId: string,
  visibility: "public" | "private",
): Promise<void> {
  if (requester.isGuest) throw new MatrixError(ErrCode.Forbidden, "Guests cannot edit the published room list");
  if (!(await ctx.stores.rooms.get(roomId))) throw new MatrixError(ErrCode.Unknown, "Unknown room");
  if (!(await canChangeListing(ctx.stores, requester, roomId))) {
    throw new MatrixError(
      ErrCode.Forbidden,
      "This server requires you to be a moderator in the room to edit its room list entry",
    );
  }
  if (visibility === "public") {
    const aliases = (await ctx.stores.roomAliases.forRoom(roomId)).map((a) => a.alias);
    const canonical = await canonicalAliasOf(ctx.stores, roomId);
    if (canonical !== null) aliases.push(canonical);
    if (!publishingAllowed(ctx.directory.publicationRules, requester.userId, roomId, aliases)) {
      // Synapse's words and errcode: the rule that said no is not named.
      throw new MatrixError(ErrCode.Unknown, "Not allowed to publish room", { status: 403 });
    }
  }
  await ctx.stores.rooms.setPublic(roomId, visibility === "public");
}

async function canonicalAliasOf(tables: Tables, roomId: string): Promise<string | null> {
  const state = await stateLookup(tables, roomId, [["m.room.canonical_alias", ""]]);
  const alias = state("m.room.canonical_alias", "")?.content.alias;
  return typeof alias === "string" ? alias : null;
}
