/**
 * What the room tests share: a server with open registration, users, and the client calls of a room's life, each
 * response checked against the spec's OpenAPI schema.
 */
import { expect } from "vitest";
import { call, type HttpResult } from "../helpers/http.js";
import { expectSpecResponse } from "../helpers/openapi.js";
import type { ClientUser } from "../api/sync-support.js";

export { registerUser, startOpenServer, type ClientUser } from "../api/sync-support.js";

const C = "/_matrix/client/v3";

/** A client call whose response is checked against the spec, whatever its status. */
export async function api<T = Record<string, unknown>>(
  base: string,
  user: ClientUser | null,
  method: string,
  path: string,
  json?: unknown,
): Promise<HttpResult<T>> {
  const r = await call<T>(base, method, C + path, { token: user?.token, json });
  await expectSpecResponse(method, C + path, r.status, r.body);
  return r;
}

export async function ok<T = Record<string, unknown>>(
  base: string,
  user: ClientUser | null,
  method: string,
  path: string,
  json?: unknown,
): Promise<T> {
  const r = await api<T>(base, user, method, path, json);
  expect(r.status, `${method} ${path}: ${r.text}`).toBe(200);
  return r.body;
}

export async function createRoom(base: string, user: ClientUser, body: Record<string, unknown> = {}): Promise<string> {
  const r = await ok<{ room_id: string }>(base, user, "POST", "/createRoom", body);
  return r.room_id;
}

let txn = 0;

export async function send(
  base: string,
  user: ClientUser,
  roomId: string,
  content: Record<string, unknown>,
  type = "m.room.message",
): Promise<string> {
  const path = `/rooms/${encodeURIComponent(roomId)}/send/${type}/t${++txn}`;
  return (await ok<{ event_id: string }>(base, user, "PUT", path, content)).event_id;
}

export function text(body: string): Record<string, unknown> {
  return { msgtype: "m.text", body };
}

export const room = (roomId: string) => `/rooms/${encodeURIComponent(roomId)}`;

export interface SyncRoomEvent {
  type: string;
  event_id: string;
  sender: string;
  state_key?: string;
  content: Record<string, unknown>;
  unsigned?: Record<string, unknown>;
}

export interface SyncResult {
  next_batch: string;
  rooms: {
    join: Record<
      string,
      {
        timeline: { events: SyncRoomEvent[]; limited: boolean; prev_batch: string };
        state: { events: SyncRoomEvent[] };
        summary: Record<string, unknown>;
      }
    >;
    invite: Record<string, { invite_state: { events: SyncRoomEvent[] } }>;
    leave: Record<string, { timeline: { events: SyncRoomEvent[] }; state: { events: SyncRoomEvent[] } }>;
  };
}

export async function sync(base: string, user: ClientUser, query = ""): Promise<SyncResult> {
  return ok<SyncResult>(base, user, "GET", `/sync${query ? `?${query}` : ""}`);
}
