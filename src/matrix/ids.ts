/**
 * @module Identifier grammar (spec "Appendices → Identifier Grammar"): server names, user IDs, room IDs, room
 * aliases and event IDs. Pure checks, so that every path that accepts an ID from a client (filters, membership,
 * aliases, the admin API) refuses the same malformed ones.
 */

/** The spec's limit on user IDs, room IDs, aliases and event IDs, in bytes of UTF-8 (Synapse counts characters). */
export const MAX_ID_LENGTH = 255;

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
const IPV6_LITERAL = /^\[[0-9A-Fa-f:.]{2,45}\]$/;
const DNS_NAME = /^[A-Za-z0-9.-]{1,255}$/;

/** `server_name = hostname [ ":" port ]`, hostname an IPv4 address, a bracketed IPv6 literal or a DNS name. */
export function isValidServerName(name: string): boolean {
  let host = name;
  const colon = name.lastIndexOf(":");
  if (colon !== -1 && !name.endsWith("]")) {
    const port = name.slice(colon + 1);
    if (!/^\d{1,5}$/.test(port)) return false;
    host = name.slice(0, colon);
  }
  if (host.startsWith("[")) return IPV6_LITERAL.test(host);
  const v4 = IPV4.exec(host);
  if (v4) return v4.slice(1).every((octet) => Number(octet) <= 255);
  return DNS_NAME.test(host);
}

/** Splits `sigil + opaque + ":" + server_name` at the first colon, as the spec's grammar does. */
function splitId(id: string, sigil: string): { localpart: string; serverName: string } | null {
  if (!id.startsWith(sigil) || Buffer.byteLength(id, "utf8") > MAX_ID_LENGTH) return null;
  const colon = id.indexOf(":");
  if (colon === -1) return null;
  const serverName = id.slice(colon + 1);
  if (!isValidServerName(serverName)) return null;
  return { localpart: id.slice(1, colon), serverName };
}

/** Historical user IDs: any printable ASCII but `:` (new ones are narrower; see `checkLocalpartSyntax`). */
const HISTORICAL_LOCALPART = /^[\x21-\x39\x3B-\x7E]+$/;

export interface UserId {
  localpart: string;
  serverName: string;
}

/** Parses a user ID as other servers may have minted it (the historical grammar); null when malformed. */
export function parseUserId(id: string): UserId | null {
  const parts = splitId(id, "@");
  if (!parts || !HISTORICAL_LOCALPART.test(parts.localpart)) return null;
  return parts;
}

export function isValidUserId(id: string): boolean {
  return parseUserId(id) !== null;
}

/** Room IDs of versions 1–11: `!opaque:server_name`, the opaque part non-empty printable ASCII. */
export function isValidRoomId(id: string): boolean {
  const parts = splitId(id, "!");
  return parts !== null && /^[\x21-\x7E]+$/.test(parts.localpart);
}

/** `#alias:server_name`: the alias part may be any non-empty text without a colon (Synapse adds no more). */
export function parseRoomAlias(id: string): { alias: string; serverName: string } | null {
  const parts = splitId(id, "#");
  if (!parts || parts.localpart === "" || /[\s:]/.test(parts.localpart)) return null;
  return { alias: parts.localpart, serverName: parts.serverName };
}

export function isValidRoomAlias(id: string): boolean {
  return parseRoomAlias(id) !== null;
}

/**
 * Event IDs: `$opaque:server_name` in room versions 1 and 2, `$` + unpadded Base64 of a SHA-256 hash (43
 * characters, standard alphabet in v3, URL-safe from v4 on) after that. Either form is accepted, since a client
 * naming an event does not say which room version it comes from.
 */
export function isValidEventId(id: string): boolean {
  if (!id.startsWith("$") || Buffer.byteLength(id, "utf8") > MAX_ID_LENGTH) return false;
  if (/^\$[A-Za-z0-9+/_-]{43}$/.test(id)) return true;
  const parts = splitId(id, "$");
  return parts !== null && /^[\x21-\x7E]+$/.test(parts.localpart);
}

const ROOM_ID_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** A new room ID as Synapse makes them: `!` + 18 random letters + `:server_name`. */
export function newRoomId(serverName: string, randomBytes: (n: number) => Uint8Array): string {
  const bytes = randomBytes(18);
  let opaque = "";
  for (const b of bytes) opaque += ROOM_ID_LETTERS.charAt(b % ROOM_ID_LETTERS.length);
  return `!${opaque}:${serverName}`;
}
