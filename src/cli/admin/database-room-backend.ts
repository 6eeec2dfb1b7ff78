/**
 * @module The room and report commands straight on the database: the services (and the query readers) the room and
 * event-report admin routes call, with the CLI as the actor. The writes that sign events (a deletion's leave events
 * and notice room, make-admin, join) need the server's signing key, read from `-c`'s `signing_key_path`.
 */
import type { AdminActor } from "../../accounts/audit.js";
import { parseUserId } from "../../accounts/admin-user-ids.js";
import { reportId, reportListQuery } from "../../api/admin/event-reports.js";
import { roomListQuery } from "../../api/admin/rooms.js";
import { blockStatus, legalRoomId, setBlocked } from "../../rooms/admin-room-block.js";
import {
  deleteStatusById,
  deleteStatusByRoom,
  parseDeleteRoom,
  startRoomDeletion,
} from "../../rooms/admin-room-delete.js";
import { adminJoin, makeRoomAdmin } from "../../rooms/admin-room-power.js";
import { listRooms, roomDetails, roomMembers, roomState, userJoinedRooms } from "../../rooms/admin-rooms.js";
import type { RoomsContext } from "../../rooms/context.js";
import { resolveRoom } from "../../rooms/membership.js";
import { deleteReport, getReport, listReports } from "../../rooms/reports.js";
import { CliError, EXIT_USAGE } from "../errors.js";
import type { RoomAdminBackend } from "./room-backend.js";

export function databaseRoomMethods(
  ctx: RoomsContext,
  actor: AdminActor,
  noSigningKey: string | null,
  run: <T>(work: () => Promise<T>) => Promise<T>,
): RoomAdminBackend {
  /** Refuses before anything is written: an event signed with another key would not be the server's. */
  const signs = () => {
    if (noSigningKey !== null) throw new CliError(`error: ${noSigningKey}`, EXIT_USAGE);
  };
  return {
    // Only an alias is looked up: a room ID goes to the service as given, as the HTTP mode sends it to the route.
    resolveRoom: (room) => run(async () => (room.startsWith("#") ? resolveRoom(ctx, room) : room)),
    listRooms: (params) => run(() => listRooms(ctx, roomListQuery(params))),
    getRoom: (roomId) => run(() => roomDetails(ctx, roomId)),
    roomMembers: (roomId) => run(() => roomMembers(ctx, roomId)),
    roomState: (roomId, type) => run(() => roomState(ctx, actor.userId, roomId, type)),
    deleteRoom: (roomId, body) =>
      run(async () => {
        const cmd = parseDeleteRoom(body, ctx.serverName);
        // Blocking an unknown room sends no event; anything else may (leaves, the notice room).
        if ((await ctx.stores.rooms.get(roomId)) !== null) signs();
        const { deleteId, done } = await startRoomDeletion(ctx, actor, roomId, cmd);
        // The work runs in this process, which ends with the command: it is waited for. A failure is in the
        // deletion's status, as the HTTP mode reports it.
        await done.catch(() => {});
        return { delete_id: deleteId };
      }),
    deleteStatus: (deleteId) => run(() => deleteStatusById(ctx, deleteId)),
    roomDeleteStatuses: (roomId) => run(() => deleteStatusByRoom(ctx, roomId)),
    blockStatus: (roomId) => run(() => blockStatus(ctx, roomId)),
    setBlocked: (roomId, block) => run(() => setBlocked(ctx, actor, legalRoomId(roomId), block)),
    makeRoomAdmin: (room, userId) =>
      run(() => {
        if (userId === null) {
          throw new CliError("error: give the user: in database mode there is no calling admin to promote", EXIT_USAGE);
        }
        signs();
        return makeRoomAdmin(ctx, actor, room, { user_id: userId });
      }),
    joinUser: (room, userId) =>
      run(() => {
        signs();
        return adminJoin(ctx, actor, room, { user_id: userId });
      }),
    userJoinedRooms: (userId) =>
      run(() => {
        parseUserId(userId);
        return userJoinedRooms(ctx, userId);
      }),
    listReports: (params) => run(() => listReports(ctx, reportListQuery(params))),
    getReport: (id) => run(() => getReport(ctx, reportId(id))),
    deleteReport: (id) =>
      run(async () => {
        await deleteReport(ctx, actor, reportId(id));
        return {};
      }),
  };
}
