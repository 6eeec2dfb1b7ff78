/**
 * @module Per-room account data and tags (spec "Client Config", "Room Tagging"): a user's own JSON objects about
 * one room, which reach all their devices in that room's `account_data` in `/sync`. Tags are the `m.tag` entry,
 * `{"tags": {name: {order?}}}`, read and changed one tag at a time by their own endpoints.
 */
import type { AccountsContext } from "../accounts/context.js";
import { ErrCode, MatrixError, refuseNul } from "../errors.js";
import { isValidRoomId } from "../matrix/ids.js";
import { refuseReservedType } from "./account-data.js";
import { withNewPosition } from "./stream.js";

export const TAG_TYPE = "m.tag";

function checkRoomId(roomId: string): void {
  refuseNul(roomId, "roomId");
  if (!isValidRoomId(roomId)) throw new MatrixError(ErrCode.InvalidParam, `${roomId} is not a valid room ID`);
}

/** `GET /user/{userId}/rooms/{roomId}/account_data/{type}`: the content, or 404 `M_NOT_FOUND`. */
export async function getRoomAccountData(
  ctx: AccountsContext,
  userId: string,
  roomId: string,
  type: string,
): Promise<Record<string, unknown>> {
  checkRoomId(roomId);
  refuseNul(type, "type");
  const content = await ctx.stores.roomAccountData.get(userId, roomId, type);
  if (content === null) throw new MatrixError(ErrCode.NotFound, "Room account data not found");
  return content;
}

/**
 * `PUT /user/{userId}/rooms/{roomId}/account_data/{type}`. `m.fully_read` (set through `read_markers`) and
 * `m.push_rules` are refused with Synapse's 405 `M_BAD_JSON`.
 */
export async function setRoomAccountData(
  ctx: AccountsContext,
  userId: string,
  roomId: string,
  type: string,
  content: Record<string, unknown>,
): Promise<void> {
  checkRoomId(roomId);
  refuseReservedType(type);
  await writeRoomAccountData(ctx, userId, roomId, type, content);
}

async function writeRoomAccountData(
  ctx: AccountsContext,
  userId: string,
  roomId: string,
  type: string,
  content: Record<string, unknown>,
): Promise<void> {
  await withNewPosition(ctx.stores, userId, (tables, position) =>
    tables.roomAccountData.put(userId, roomId, type, content, position),
  );
}

function tagsOf(content: Record<string, unknown> | null): Record<string, unknown> {
  const tags = content?.tags;
  return typeof tags === "object" && tags !== null && !Array.isArray(tags) ? (tags as Record<string, unknown>) : {};
}

/** `GET /user/{userId}/rooms/{roomId}/tags`. */
export async function getTags(
  ctx: AccountsContext,
  userId: string,
  roomId: string,
): Promise<{ tags: Record<string, unknown> }> {
  checkRoomId(roomId);
  return { tags: tagsOf(await ctx.stores.roomAccountData.get(userId, roomId, TAG_TYPE)) };
}

/** `PUT /user/{userId}/rooms/{roomId}/tags/{tag}`: the body (`{order?}`, a number from 0 to 1) is the tag's value. */
export async function putTag(
  ctx: AccountsContext,
  userId: string,
  roomId: string,
  tag: string,
  body: Record<string, unknown>,
): Promise<void> {
  checkRoomId(roomId);
  refuseNul(tag, "tag");
  if (body.order !== undefined && typeof body.order !== "number") {
    throw new MatrixError(ErrCode.BadJson, "'order' must be a number");
  }
  const tags = tagsOf(await ctx.stores.roomAccountData.get(userId, roomId, TAG_TYPE));
  await writeRoomAccountData(ctx, userId, roomId, TAG_TYPE, { tags: { ...tags, [tag]: body } });
}

/** `DELETE /user/{userId}/rooms/{roomId}/tags/{tag}`: removing a tag the room does not have succeeds. */
export async function deleteTag(ctx: AccountsContext, userId: string, roomId: string, tag: string): Promise<void> {
  checkRoomId(roomId);
  const tags = tagsOf(await ctx.stores.roomAccountData.get(userId, roomId, TAG_TYPE));
  if (!(tag in tags)) return;
  const { [tag]: _removed, ...rest } = tags;
  await writeRoomAccountData(ctx, userId, roomId, TAG_TYPE, { tags: rest });
}
