/**
 * @module The room and report half of `AdminBackend`: one method per admin API call, answering exactly its JSON,
 * implemented over HTTP (`http-room-backend.ts`) and on the database (`database-room-backend.ts`).
 */
import type { DeleteStatus } from "../../rooms/admin-room-delete.js";
import type { AdminRoomDetails, AdminRoomList } from "../../rooms/admin-rooms.js";
import type { ClientEvent } from "../../rooms/client-events.js";
import type { EventReportSummary } from "../../rooms/reports.js";

/** Query parameters exactly as `GET /_synapse/admin/v1/rooms` and `GET /_synapse/admin/v1/event_reports` read them. */
export type AdminQuery = Record<string, string>;

export interface EventReportList {
  event_reports: EventReportSummary[];
  total: number;
  next_token?: number;
}

export type EventReportDetails = EventReportSummary & { event_json: ClientEvent | null };

export type BlockStatus = { block: true; user_id: string } | { block: false };

export interface RoomAdminBackend {
  /** A room ID as given, or the room an alias (`#name:server`) points to. */
  resolveRoom(roomIdOrAlias: string): Promise<string>;
  listRooms(params: AdminQuery): Promise<AdminRoomList>;
  getRoom(roomId: string): Promise<AdminRoomDetails>;
  roomMembers(roomId: string): Promise<{ members: string[]; total: number }>;
  roomState(roomId: string, type: string | null): Promise<{ state: ClientEvent[] }>;
  /**
   * `DELETE /v2/rooms/{roomId}`: over HTTP it answers at once and the server does the work; on the database the
   * work is done in this process, so it answers once the deletion has finished (or failed: see its status).
   */
  deleteRoom(roomId: string, body: Record<string, unknown>): Promise<{ delete_id: string }>;
  deleteStatus(deleteId: string): Promise<DeleteStatus>;
  roomDeleteStatuses(roomId: string): Promise<{ results: DeleteStatus[] }>;
  blockStatus(roomId: string): Promise<BlockStatus>;
  setBlocked(roomId: string, block: boolean): Promise<{ block: boolean }>;
  /** `POST /v1/rooms/{room}/make_room_admin`; `userId` null means the calling admin (HTTP mode only). */
  makeRoomAdmin(roomIdOrAlias: string, userId: string | null): Promise<Record<string, never>>;
  joinUser(roomIdOrAlias: string, userId: string): Promise<{ room_id: string }>;
  userJoinedRooms(userId: string): Promise<{ joined_rooms: string[]; total: number }>;
  listReports(params: AdminQuery): Promise<EventReportList>;
  getReport(id: string): Promise<EventReportDetails>;
  deleteReport(id: string): Promise<Record<string, never>>;
}
