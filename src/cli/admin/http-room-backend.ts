/**
 * @module The room and report commands over HTTP: Synapse's room and event-report admin API, and the client API's
 * alias lookup for a room named by alias.
 */
import type { AdminQuery, RoomAdminBackend } from "./room-backend.js";

const ADMIN = "/_synapse/admin";
const DIRECTORY = "/_matrix/client/v3/directory/room";

const enc = (s: string) => encodeURIComponent(s);

type Call = <T>(method: string, path: string, body?: unknown) => Promise<T>;

export function queryString(params: Record<string, string | number | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined) q.append(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : "";
}

export function httpRoomMethods(call: Call): RoomAdminBackend {
  const room = (roomId: string) => `${ADMIN}/v1/rooms/${enc(roomId)}`;
  return {
    async resolveRoom(roomIdOrAlias) {
      if (!roomIdOrAlias.startsWith("#")) return roomIdOrAlias;
      return (await call<{ room_id: string }>("GET", `${DIRECTORY}/${enc(roomIdOrAlias)}`)).room_id;
    },
    listRooms: (params: AdminQuery) => call("GET", `${ADMIN}/v1/rooms${queryString(params)}`),
    getRoom: (roomId) => call("GET", room(roomId)),
    roomMembers: (roomId) => call("GET", `${room(roomId)}/members`),
    roomState: (roomId, type) => call("GET", `${room(roomId)}/state${queryString({ type: type ?? undefined })}`),
    deleteRoom: (roomId, body) => call("DELETE", `${ADMIN}/v2/rooms/${enc(roomId)}`, body),
    deleteStatus: (deleteId) => call("GET", `${ADMIN}/v2/rooms/delete_status/${enc(deleteId)}`),
    roomDeleteStatuses: (roomId) => call("GET", `${ADMIN}/v2/rooms/${enc(roomId)}/delete_status`),
    blockStatus: (roomId) => call("GET", `${room(roomId)}/block`),
    setBlocked: (roomId, block) => call("PUT", `${room(roomId)}/block`, { block }),
    makeRoomAdmin: (roomIdOrAlias, userId) =>
      call("POST", `${room(roomIdOrAlias)}/make_room_admin`, userId === null ? {} : { user_id: userId }),
    joinUser: (roomIdOrAlias, userId) => call("POST", `${ADMIN}/v1/join/${enc(roomIdOrAlias)}`, { user_id: userId }),
    userJoinedRooms: (userId) => call("GET", `${ADMIN}/v1/users/${enc(userId)}/joined_rooms`),
    listReports: (params: AdminQuery) => call("GET", `${ADMIN}/v1/event_reports${queryString(params)}`),
    getReport: (id) => call("GET", `${ADMIN}/v1/event_reports/${enc(id)}`),
    deleteReport: (id) => call("DELETE", `${ADMIN}/v1/event_reports/${enc(id)}`),
  };
}
