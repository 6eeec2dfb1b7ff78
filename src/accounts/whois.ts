/**
 * @module Whois: where a user's devices were last used, for admins and for the user themself.
 */
import { ErrCode, MatrixError } from "../errors.js";
import { parseUserId } from "./admin-user-ids.js";
import { assertAdmin, type Requester } from "./auth.js";
import type { AccountsContext } from "./context.js";

export interface WhoisConnection {
  ip: string;
  /** Milliseconds. */
  last_seen: number;
  /** "" when the client sent none (the spec's schema wants a string). */
  user_agent: string;
}

/** https://spec.matrix.org/v1.16/client-server-api/#get_matrixclientv3adminwhoisuserid */
export interface WhoisResponse {
  user_id: string;
  devices: Record<string, { sessions: { connections: WhoisConnection[] }[] }>;
}

/**
 * `GET /_synapse/admin/v1/whois/{userId}` and `/_matrix/client/v3/admin/whois/{userId}`: an admin, or the user
 * asking about themself. As in Synapse, every connection is listed under the device key `""` in one session
 * (synapse-admin reads `devices[""]`); a connection is a device's last use (IP, user agent, time), newest first.
 */
export async function whois(ctx: AccountsContext, requester: Requester, userId: string): Promise<WhoisResponse> {
  parseUserId(userId);
  if (userId !== requester.userId) await assertAdmin(ctx, requester);
  return whoisUser(ctx, userId);
}

/** Whois with the asker already known to be allowed (the admin CLI's database mode, which has no requester). */
export async function whoisUser(ctx: AccountsContext, userId: string): Promise<WhoisResponse> {
  const { domain } = parseUserId(userId);
  if (domain !== ctx.serverName) throw new MatrixError(ErrCode.Unknown, "Can only whois a local user");
  if (!(await ctx.stores.users.get(userId))) throw new MatrixError(ErrCode.NotFound, "User not found");
  const connections: WhoisConnection[] = [];
  for (const d of await ctx.stores.devices.listForUser(userId)) {
    if (d.lastSeenTs === null || d.lastSeenIp === null) continue;
    connections.push({ ip: d.lastSeenIp, last_seen: d.lastSeenTs, user_agent: d.lastSeenUserAgent ?? "" });
  }
  connections.sort((a, b) => b.last_seen - a.last_seen);
  return { user_id: userId, devices: { "": { sessions: [{ connections }] } } };
}
