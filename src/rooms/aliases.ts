/**
 * @module Room aliases (spec "Room aliases"; Synapse's `DirectoryHandler`): `PUT`, `GET` and `DELETE
 * /directory/room/{roomAlias}` and `GET /rooms/{roomId}/aliases`. Checks in Synapse's order, with its status codes
 * and words.
 */
import type { Requester } from "../accounts/auth.js";
import { ErrCode, MatrixError, refuseNul } from "../errors.js";
import { isValidRoomId, isValidServerName, MAX_ID_LENGTH } from "../matrix/ids.js";
import type { RoomsContext } from "./context.js";
import { sendEvent } from "./persist.js";
import { assertAliasCreationAllowed, canChangeListing } from "./publication.js";
import { assertJoinedOrWorldReadable } from "./read.js";
import { stateLookup } from "./room-summary.js";

/**
 * Synapse's `RoomAlias.is_valid`: `#`, a localpart, `:`, a valid server name. Looser than `parseRoomAlias` on
 * purpose: Synapse refuses whitespace and over-long aliases later, with other words.
 */
function aliasParts(alias: string): { localpart: string; serverName: string } {
  const colon = alias.indexOf(":");
  if (!alias.startsWith("#") || colon === -1 || !isValidServerName(alias.slice(colon + 1))) {
    throw new MatrixError(ErrCode.InvalidParam, "Room alias invalid");
  }
  refuseNul(alias, "roomAlias");
  return { localpart: alias.slice(1, colon), serverName: alias.slice(colon + 1) };
}

/** `PUT /directory/room/{roomAlias}` with `{room_id}`. */
export async function createAlias(
  ctx: RoomsContext,
  requester: Requester,
  alias: string,
  body: Record<string, unknown>,
): Promise<void> {
  const { localpart, serverName } = aliasParts(alias);
  if (typeof body.room_id !== "string") throw new MatrixError(ErrCode.BadJson, "'room_id' must be a string");
  if (body.servers !== undefined && body.servers !== null) {
    if (!Array.isArray(body.servers) || !body.servers.every((s) => typeof s === "string")) {
      throw new MatrixError(ErrCode.BadJson, "'servers' must be a list of strings");
    }
  }
  const roomId = body.room_id;
  if (!isValidRoomId(roomId) || !(await ctx.stores.rooms.get(roomId))) {
    throw new MatrixError(ErrCode.Unknown, "Room does not exist");
  }
  if ([...alias].length > MAX_ID_LENGTH) {
    throw new MatrixError(ErrCode.InvalidParam, `Can't create aliases longer than ${MAX_ID_LENGTH} characters`);
  }
  if (!requester.admin) {
    const mine = await ctx.stores.roomMemberships.get(roomId, requester.userId);
    if (mine?.membership !== "join") {
      throw new MatrixError(ErrCode.Forbidden, "You must be in the room to create an alias for it");
    }
  }
  assertAliasCreationAllowed(ctx, requester.userId, roomId, alias);
  if (/\s/.test(localpart)) throw new MatrixError(ErrCode.Unknown, "Invalid characters in room alias");
  if (serverName !== ctx.serverName) throw new MatrixError(ErrCode.Unknown, "Room alias must be local");
  const inserted = await ctx.stores.roomAliases.insert({ alias, roomId, creator: requester.userId }, ctx.now());
  if (!inserted) throw new MatrixError(ErrCode.Unknown, `Room alias ${alias} already exists`, { status: 409 });
}

/** `GET /directory/room/{roomAlias}`: this server's aliases only; there is no federation to ask about others. */
export async function getAlias(ctx: RoomsContext, alias: string): Promise<{ room_id: string; servers: string[] }> {
  aliasParts(alias);
  const found = await ctx.stores.roomAliases.get(alias);
  if (!found) throw new MatrixError(ErrCode.NotFound, `Room alias ${alias} not found`);
  return { room_id: found.roomId, servers: [ctx.serverName] };
}

/**
 * `DELETE /directory/room/{roomAlias}`: by the alias's creator, an admin, or a member who may change the room's
 * listing. Then, as Synapse does, the alias leaves the room's `m.room.canonical_alias` (`alias` and `alt_aliases`),
 * sent as the deleter; when the deleter may not send that event, the alias is gone and the event stays.
 */
export async function deleteAlias(ctx: RoomsContext, requester: Requester, alias: string): Promise<void> {
  aliasParts(alias);
  const found = await ctx.stores.roomAliases.get(alias);
  if (!found) throw new MatrixError(ErrCode.NotFound, "Unknown room alias");
  if (found.creator !== requester.userId && !(await canChangeListing(ctx.stores, requester, found.roomId))) {
    throw new MatrixError(ErrCode.Forbidden, "You don't have permission to delete the alias.");
  }
  if (!(await ctx.stores.roomAliases.delete(alias))) throw new MatrixError(ErrCode.NotFound, "Unknown room alias");
  await dropFromCanonicalAlias(ctx, requester, found.roomId, alias);
}

async function dropFromCanonicalAlias(
  ctx: RoomsContext,
  requester: Requester,
  roomId: string,
  alias: string,
): Promise<void> {
  const state = await stateLookup(ctx.stores, roomId, [["m.room.canonical_alias", ""]]);
  const current = state("m.room.canonical_alias", "");
  if (!current) return;
  const content = { ...current.content };
  let changed = false;
  if (content.alias === alias) {
    delete content.alias;
    changed = true;
  }
  if (Array.isArray(content.alt_aliases) && content.alt_aliases.includes(alias)) {
    const rest = (content.alt_aliases as unknown[]).filter((a) => a !== alias);
    if (rest.length > 0) content.alt_aliases = rest;
    else delete content.alt_aliases;
    changed = true;
  }
  if (!changed) return;
  try {
    await sendEvent(ctx, {
      roomId,
      type: "m.room.canonical_alias",
      stateKey: "",
      sender: requester.userId,
      content,
    });
  } catch (err) {
    // Synapse logs and goes on: the alias is deleted either way.
    if (err instanceof MatrixError && err.status === 403) return;
    throw err;
  }
}

/** `GET /rooms/{roomId}/aliases`: for joined members, admins, and anyone when the room is `world_readable`. */
export async function roomAliases(
  ctx: RoomsContext,
  requester: Requester,
  roomId: string,
): Promise<{ aliases: string[] }> {
  if (!isValidRoomId(roomId)) throw new MatrixError(ErrCode.InvalidParam, `${roomId} is not a legal room ID`);
  if (!requester.admin) await assertJoinedOrWorldReadable(ctx.stores, roomId, requester.userId);
  return { aliases: (await ctx.stores.roomAliases.forRoom(roomId)).map((a) => a.alias) };
}
