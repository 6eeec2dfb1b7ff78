/**
 * @module The admin API's ways into a room: `make_room_admin` (Synapse's Make Room Admin API: the room's most
 * powerful joined local user gives a user the same power level, and invites them into a room not open to all) and
 * the force-join (`POST /_synapse/admin/v1/join/{roomIdOrAlias}`: the admin invites a local user into a room that
 * is not public, then the user joins). Every event goes through `sendEvent`/`inRoomTransaction`, so the
 * authorization rules still decide, and each change lands with its audit entry.
 */
import { existingUser, parseUserId } from "../accounts/admin-user-ids.js";
import { recordAudit, type AdminActor } from "../accounts/audit.js";
import type { Requester } from "../accounts/auth.js";
import { ErrCode, MatrixError } from "../errors.js";
import type { RoomsContext } from "./context.js";
import { changeMembership, joinRoom, resolveRoom } from "./membership.js";
import { inRoomTransaction } from "./persist.js";
import { currentStateContent } from "./read.js";

const isLocal = (ctx: RoomsContext, userId: string) => userId.endsWith(`:${ctx.serverName}`);

/** `POST /_synapse/admin/v1/rooms/{roomIdOrAlias}/make_room_admin` `{user_id?}` (default: the calling admin). */
export async function makeRoomAdmin(
  ctx: RoomsContext,
  actor: AdminActor,
  roomIdOrAlias: string,
  body: Record<string, unknown>,
): Promise<Record<string, never>> {
  const roomId = await resolveRoom(ctx, roomIdOrAlias);
  const target = body.user_id === undefined ? actor.userId : body.user_id;
  if (typeof target !== "string") throw new MatrixError(ErrCode.BadJson, "'user_id' must be a string");
  parseUserId(target);
  const create = await currentStateContent(ctx, roomId, "m.room.create", "");
  if (!create) throw new MatrixError(ErrCode.Unknown, "Server not in room");
  const pl = await currentStateContent(ctx, roomId, "m.room.power_levels", "");
  const users = (pl?.users ?? {}) as Record<string, unknown>;
  const level = (u: string) => (typeof users[u] === "number" ? users[u] : 0);
  let granter: string | null = null;
  if (pl) {
    // The most powerful local user who is still joined.
    const candidates = Object.keys(users)
      .filter((u) => isLocal(ctx, u))
      .sort((a, b) => level(b) - level(a));
    for (const u of candidates) {
      if ((await ctx.stores.roomMemberships.get(roomId, u))?.membership === "join") {
        granter = u;
        break;
      }
    }
  } else {
    const room = await ctx.stores.rooms.get(roomId);
    granter = room && isLocal(ctx, room.creator) ? room.creator : null;
  }
  if (granter === null) throw new MatrixError(ErrCode.Unknown, "No local admin user in room");
  const newLevel = typeof users[granter] === "number" ? users[granter] : 100;
  const content = { ...(pl ?? {}), users: { ...users, [target]: newLevel } };

  const membership = (await ctx.stores.roomMemberships.get(roomId, target))?.membership;
  const joinRule = (await currentStateContent(ctx, roomId, "m.room.join_rules", ""))?.join_rule;
  const invite = membership !== "join" && membership !== "invite" && joinRule !== "public";
  const sender = granter;
  try {
    await inRoomTransaction(ctx, async (append, tables) => {
      await append({ roomId, type: "m.room.power_levels", stateKey: "", sender, content });
      if (invite) {
        await append({ roomId, type: "m.room.member", stateKey: target, sender, content: { membership: "invite" } });
      }
      await recordAudit(
        tables,
        ctx,
        actor,
        "room.make_room_admin",
        roomId,
        { user_id: target, power_level: level(target) },
        { user_id: target, power_level: newLevel, granted_by: sender, invited: invite },
      );
    });
  } catch (err) {
    if (err instanceof MatrixError && err.errcode === ErrCode.Forbidden) {
      throw new MatrixError(ErrCode.Unknown, "No local admin user in room with power to update power levels.");
    }
    throw err;
  }
  return {};
}

function adminRequester(actor: AdminActor): Requester {
  return {
    userId: actor.userId,
    deviceId: actor.deviceId,
    isGuest: false,
    admin: true,
    tokenHash: actor.tokenHash,
    impersonator: actor.impersonator ?? null,
  };
}

/** `POST /_synapse/admin/v1/join/{roomIdOrAlias}` `{user_id}`: `{room_id}`. */
export async function adminJoin(
  ctx: RoomsContext,
  actor: AdminActor,
  roomIdOrAlias: string,
  body: Record<string, unknown>,
): Promise<{ room_id: string }> {
  if (body.user_id === undefined) throw new MatrixError(ErrCode.MissingParam, "Missing params: ['user_id']");
  if (typeof body.user_id !== "string") throw new MatrixError(ErrCode.BadJson, "'user_id' must be a string");
  const userId = body.user_id;
  await existingUser(ctx, userId, "This endpoint can only be used with local users");
  const roomId = await resolveRoom(ctx, roomIdOrAlias);
  if (!(await ctx.stores.rooms.get(roomId))) throw new MatrixError(ErrCode.NotFound, "No known servers");
  const joinRule = (await currentStateContent(ctx, roomId, "m.room.join_rules", ""))?.join_rule;
  const membership = (await ctx.stores.roomMemberships.get(roomId, userId))?.membership;
  // As Synapse: a room not open to all needs the admin's invite first, so the admin must be in it with invite power.
  if (joinRule !== "public" && membership !== "join" && membership !== "invite") {
    await changeMembership(ctx, adminRequester(actor), roomId, "invite", { user_id: userId });
  }
  const user: Requester = { userId, deviceId: null, isGuest: false, admin: false, tokenHash: "", impersonator: null };
  return joinRoom(ctx, user, roomId, {}, (tables) =>
    recordAudit(
      tables,
      ctx,
      actor,
      "room.join",
      userId,
      { membership: membership ?? null },
      { room_id: roomId, membership: "join" },
    ),
  );
}
