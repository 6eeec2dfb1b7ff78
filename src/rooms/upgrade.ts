/**
 * @module `POST /rooms/{roomId}/upgrade` (spec "Room Upgrades"; Synapse's `RoomCreationHandler.upgrade_room`): a new
 * room in the asked version that carries on the old one, and a tombstone in the old room pointing at it.
 *
 * In one transaction: the new room's create event names its predecessor; the upgrader joins; the old room's state
 * that defines it (power levels, join rules, history visibility, guest access, name, topic, avatar, encryption,
 * server ACL, space parents and children, canonical alias) is copied; then the old room gets its tombstone and power
 * levels that keep ordinary members from talking there. The old room's aliases point at the new room afterwards,
 * and its directory listing moves with it, as in Synapse.
 */
import type { Requester } from "../accounts/auth.js";
import { ErrCode, MatrixError } from "../errors.js";
import { newRoomId } from "../matrix/ids.js";
import { CREATABLE_ROOM_VERSIONS, roomVersion } from "../matrix/room-versions.js";
import type { RoomsContext } from "./context.js";
import { contentOf } from "./event-content.js";
import { memberContent, resolveRoom } from "./membership.js";
import { inRoomTransaction } from "./persist.js";

/** The state copied into the new room, as Synapse's `copy_over_state`, plus space relations. */
const COPIED = new Set([
  "m.room.join_rules",
  "m.room.history_visibility",
  "m.room.guest_access",
  "m.room.name",
  "m.room.topic",
  "m.room.avatar",
  "m.room.encryption",
  "m.room.server_acl",
  "m.room.canonical_alias",
  "m.space.parent",
  "m.space.child",
  "m.room.power_levels",
]);

function numberOr(v: unknown, fallback: number): number {
  return typeof v === "number" && Number.isInteger(v) ? v : fallback;
}

export async function upgradeRoom(
  ctx: RoomsContext,
  requester: Requester,
  roomIdOrAlias: string,
  body: Record<string, unknown>,
): Promise<{ replacement_room: string }> {
  const oldRoomId = await resolveRoom(ctx, roomIdOrAlias);
  const newVersion = body.new_version;
  if (typeof newVersion !== "string") throw new MatrixError(ErrCode.MissingParam, "Missing 'new_version'");
  if (!roomVersion(newVersion) || !CREATABLE_ROOM_VERSIONS.includes(newVersion)) {
    throw new MatrixError(ErrCode.UnsupportedRoomVersion, "Your homeserver does not support this room version");
  }
  const old = await ctx.stores.rooms.get(oldRoomId);
  if (!old) throw new MatrixError(ErrCode.NotFound, "Unknown room");
  const user = requester.userId;
  const newRoomIdValue = newRoomId(ctx.serverName, ctx.randomBytes);
  // Read before the transaction: on SQLite a read through `ctx.stores` inside it would wait for it forever.
  const joinContent = await memberContent(ctx, user, "join");

  await inRoomTransaction(ctx, async (append, tables) => {
    const mine = await tables.roomMemberships.get(oldRoomId, user);
    if (mine?.membership !== "join") throw new MatrixError(ErrCode.Forbidden, "You are not in this room");
    const stateEntries = (await tables.currentState.all(oldRoomId)).filter((e) => COPIED.has(e.type));
    const stateEvents = await tables.events.getMany(stateEntries.map((e) => e.eventId));
    const latest = await tables.events.latest(oldRoomId);

    // The tombstone first in the old room: if the upgrader may not send it, nothing is created.
    const tombstone = await append({
      roomId: oldRoomId,
      type: "m.room.tombstone",
      stateKey: "",
      sender: user,
      content: { body: "This room has been replaced", replacement_room: newRoomIdValue },
    });

    await tables.rooms.insert({
      roomId: newRoomIdValue,
      roomVersion: newVersion,
      creator: user,
      createdTs: ctx.now(),
      isPublic: old.isPublic,
    });
    // Before the canonical alias is copied, which must name aliases of the new room.
    for (const alias of await tables.roomAliases.forRoom(oldRoomId)) {
      await tables.roomAliases.delete(alias.alias);
      await tables.roomAliases.insert({ ...alias, roomId: newRoomIdValue }, ctx.now());
    }
    const v = roomVersion(newVersion)!;
    const oldCreate = (await tables.currentState.get(oldRoomId, [["m.room.create", ""]]))[0];
    const oldCreateEvent = oldCreate ? await tables.events.get(oldCreate.eventId) : null;
    const creation: Record<string, unknown> = {
      ...(oldCreateEvent ? contentOf(oldCreateEvent) : {}),
      room_version: newVersion,
      predecessor: { room_id: oldRoomId, event_id: latest?.eventId ?? tombstone.eventId },
    };
    if (v.v11Redactions) delete creation.creator;
    else creation.creator = user;
    await append({ roomId: newRoomIdValue, type: "m.room.create", stateKey: "", sender: user, content: creation });
    await append({
      roomId: newRoomIdValue,
      type: "m.room.member",
      stateKey: user,
      sender: user,
      content: joinContent,
    });
    // Power levels first, with the upgrader able to send the rest; then the copied state.
    const pl = stateEvents.find((e) => e.type === "m.room.power_levels");
    const plContent = pl ? contentOf(pl) : {};
    const users = { ...((plContent.users ?? {}) as Record<string, unknown>), [user]: 100 };
    await append({
      roomId: newRoomIdValue,
      type: "m.room.power_levels",
      stateKey: "",
      sender: user,
      content: { ...plContent, users },
    });
    for (const e of stateEvents) {
      if (e.type === "m.room.power_levels") continue;
      await append({
        roomId: newRoomIdValue,
        type: e.type,
        stateKey: e.stateKey ?? "",
        sender: user,
        content: contentOf(e),
      });
    }

    // Ordinary members can no longer talk or invite in the old room (Synapse: at least 50, above users_default).
    const restricted = Math.max(50, numberOr(plContent.users_default, 0) + 1);
    const oldPl = { ...plContent };
    if (numberOr(oldPl.events_default, 0) < restricted) oldPl.events_default = restricted;
    if (numberOr(oldPl.invite, 0) < restricted) oldPl.invite = restricted;
    if (pl) {
      await append({ roomId: oldRoomId, type: "m.room.power_levels", stateKey: "", sender: user, content: oldPl });
    }
    if (old.isPublic) await tables.rooms.setPublic(oldRoomId, false);
  });
  return { replacement_room: newRoomIdValue };
}
