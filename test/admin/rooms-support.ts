/**
 * What the room admin tests share: rooms made the way clients make them, over the client API.
 */
import { expect } from "vitest";
import { call } from "../helpers/http.js";

const C = "/_matrix/client/v3";

export interface Member {
  userId: string;
  token: string;
}

export async function clientCall(
  base: string,
  user: Member,
  method: string,
  path: string,
  json?: unknown,
): Promise<Record<string, unknown>> {
  const r = await call(base, method, C + path, { token: user.token, json });
  expect(r.status, `${method} ${path}: ${r.text}`).toBe(200);
  return r.body;
}

export async function makeRoom(base: string, user: Member, body: Record<string, unknown> = {}): Promise<string> {
  return (await clientCall(base, user, "POST", "/createRoom", body)).room_id as string;
}

export async function joinRoom(base: string, user: Member, roomIdOrAlias: string): Promise<void> {
  await clientCall(base, user, "POST", `/join/${encodeURIComponent(roomIdOrAlias)}`, {});
}

export const encRoom = (roomId: string) => encodeURIComponent(roomId);

/**
 * The room admin tests' server: rooms made with `visibility: public` are listed (Synapse's default publication
 * rules let no one publish), and the message and join limits are out of the way.
 */
export const ROOM_ADMIN_CONFIG = {
  room_list_publication_rules: [{ action: "allow" }],
  rc_message: { per_second: 1000, burst_count: 1000 },
  rc_joins: { local: { per_second: 1000, burst_count: 1000 } },
};
