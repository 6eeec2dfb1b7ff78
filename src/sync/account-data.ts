/**
 * @module Global account data (spec "Client Config"): a user's own JSON objects by type, which reach all their
 * devices through `/sync`.
 */
import type { AccountsContext } from "../accounts/context.js";
import { ErrCode, MatrixError, refuseNul } from "../errors.js";
import { PUSH_RULES_TYPE, pushRulesContent } from "../push/rules.js";
import { withNewPosition } from "./stream.js";

export { PUSH_RULES_TYPE };
const FULLY_READ_TYPE = "m.fully_read";

/** Only the user may read or write their account data; Synapse's wording for the refusal. */
export function checkOwnAccountData(requesterId: string, pathUserId: string, verb: "add" | "get"): void {
  if (requesterId !== pathUserId) {
    throw new MatrixError(ErrCode.Forbidden, `Cannot ${verb} account data for other users.`);
  }
}

/** `GET /user/{userId}/account_data/{type}`: the content, or 404 `M_NOT_FOUND`; `m.push_rules` is the rule set. */
export async function getAccountData(
  ctx: AccountsContext,
  userId: string,
  type: string,
): Promise<Record<string, unknown>> {
  refuseNul(type, "type");
  if (type === PUSH_RULES_TYPE) return { ...(await pushRulesContent(ctx.stores, userId)) };
  const content = await ctx.stores.accountData.get(userId, type);
  if (content === null) throw new MatrixError(ErrCode.NotFound, "Account data not found");
  return content;
}

/**
 * `PUT /user/{userId}/account_data/{type}`: stores the content at a new stream position and wakes the user's
 * syncs. `m.push_rules` and `m.fully_read` have their own APIs and are refused with Synapse's 405 `M_BAD_JSON`.
 */
export async function setAccountData(
  ctx: AccountsContext,
  userId: string,
  type: string,
  content: Record<string, unknown>,
): Promise<void> {
  refuseReservedType(type);
  await withNewPosition(ctx.stores, userId, (tables, position) =>
    tables.accountData.put(userId, type, content, position),
  );
}

/**
 * The account-data types with APIs of their own, refused by the account-data PUTs (global and per room) with
 * Synapse's 405 `M_BAD_JSON`; also NUL in the type.
 */
export function refuseReservedType(type: string): void {
  refuseNul(type, "type");
  if (type === FULLY_READ_TYPE) {
    throw new MatrixError(
      ErrCode.BadJson,
      "Cannot set m.fully_read through this API. Use /rooms/!roomId:server.name/read_markers",
      { status: 405 },
    );
  }
  if (type === PUSH_RULES_TYPE) {
    throw new MatrixError(ErrCode.BadJson, "Cannot set m.push_rules through this API. Use /pushrules", { status: 405 });
  }
}
