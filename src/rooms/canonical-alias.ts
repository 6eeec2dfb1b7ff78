/**
 * @module The check on `m.room.canonical_alias` events (Synapse's `_validate_canonical_alias`), run by the one
 * write path (src/rooms/persist.ts) after the authorization rules, so `PUT /state`, `createRoom`'s own event and its
 * `initial_state` entries are all held to it.
 *
 * Each alias the event adds (an `alias` other than the one it replaces, `alt_aliases` entries not in the event it
 * replaces) must, when it is an alias of this server, name this room: else 400 `M_BAD_ALIAS`. Aliases kept from the
 * previous event are not checked again, so deleting an alias never makes the room's state unchangeable. Aliases of
 * other servers are not checked: Synapse asks their server, and this one does not federate yet.
 */
import type { Tables } from "../db/stores.js";
import { ErrCode, MatrixError } from "../errors.js";
import { parseRoomAlias } from "../matrix/ids.js";

async function checkOne(tables: Tables, serverName: string, roomId: string, alias: unknown): Promise<void> {
  const parsed = typeof alias === "string" ? parseRoomAlias(alias) : null;
  if (!parsed) throw new MatrixError(ErrCode.InvalidParam, `Invalid room alias: ${JSON.stringify(alias)}`);
  if (parsed.serverName !== serverName) return;
  const found = await tables.roomAliases.get(alias as string);
  if (found?.roomId !== roomId) {
    throw new MatrixError(ErrCode.BadAlias, `Room alias ${alias as string} does not point to the room`);
  }
}

export async function checkCanonicalAlias(
  tables: Tables,
  serverName: string,
  roomId: string,
  content: Record<string, unknown>,
  previous: Record<string, unknown> | undefined,
): Promise<void> {
  const alias = content.alias;
  // Synapse treats an empty or absent `alias` as "no canonical alias".
  if (alias !== undefined && alias !== null && alias !== "" && alias !== previous?.alias) {
    await checkOne(tables, serverName, roomId, alias);
  }
  const alt = content.alt_aliases;
  if (alt === undefined) return;
  if (!Array.isArray(alt)) {
    throw new MatrixError(ErrCode.InvalidParam, "The alt_aliases property must be a list.");
  }
  const before = Array.isArray(previous?.alt_aliases) ? (previous.alt_aliases as unknown[]) : [];
  for (const a of new Set(alt)) {
    if (!before.includes(a)) await checkOne(tables, serverName, roomId, a);
  }
}
