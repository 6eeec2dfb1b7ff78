/**
 * @module Reading who holds an e-mail address, phone number or identity-provider ID: the account's own list
 * (`GET /account/3pid`) and the admin lookups Synapse serves (`threepid/{medium}/users/{address}`,
 * `auth_providers/{provider}/users/{externalId}`). E-mail addresses are matched as they are stored: canonical
 * (`canonicaliseEmail`), so a lookup in another case finds the account.
 */
import { ErrCode, MatrixError } from "../errors.js";
import { canonicaliseEmail } from "./admin-user-commands.js";
import type { AccountsContext } from "./context.js";

/** https://spec.matrix.org/v1.16/client-server-api/#get_matrixclientv3account3pid */
export interface ThreepidsResponse {
  threepids: { medium: string; address: string; validated_at: number; added_at: number }[];
}

export async function ownThreepids(ctx: AccountsContext, userId: string): Promise<ThreepidsResponse> {
  const list = await ctx.stores.threepids.listForUser(userId);
  return {
    threepids: list.map((t) => ({
      medium: t.medium,
      address: t.address,
      validated_at: t.validatedAt,
      added_at: t.addedAt,
    })),
  };
}

const notFound = () => new MatrixError(ErrCode.NotFound, "User not found");

/** `{user_id}` of the account holding the address, or 404 "User not found", as Synapse. */
export async function userByThreepid(
  ctx: AccountsContext,
  medium: string,
  address: string,
): Promise<{ user_id: string }> {
  const canonical = medium === "email" ? canonicaliseEmail(address) : address;
  const owner = (await ctx.stores.threepids.owners(medium, [canonical])).get(canonical);
  if (owner === undefined) throw notFound();
  return { user_id: owner };
}

/** `{user_id}` of the account an identity provider's ID belongs to, or 404 "User not found". */
export async function userByExternalId(
  ctx: AccountsContext,
  authProvider: string,
  externalId: string,
): Promise<{ user_id: string }> {
  const owner = await ctx.stores.externalIds.owner(authProvider, externalId);
  if (owner === null) throw notFound();
  return { user_id: owner };
}
