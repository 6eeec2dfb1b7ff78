/**
 * @module Which spent tokens may go: the rules live with the stores' reads (each purge deletes by the very
 * comparison its read refuses with), and these are the service calls the background jobs make, on the context's
 * clock.
 */
import type { AccountsContext } from "./context.js";

/** Login tokens past their expiry, which `m.login.token` refuses. */
export function purgeExpiredLoginTokens(ctx: AccountsContext, limit: number): Promise<number> {
  return ctx.stores.loginTokens.purgeExpired(ctx.now(), limit);
}

/** Refresh tokens `/refresh` refuses as "isn't valid anymore": their successor is in use. */
export function purgeSpentRefreshTokens(ctx: AccountsContext, limit: number): Promise<number> {
  return ctx.stores.refreshTokens.purgeSpent(limit);
}

/**
 * Expired access tokens nobody will present again (device-less, or refreshed past). Run after
 * `purgeSpentRefreshTokens`, whose deletions make the tokens issued with those refresh tokens unresumable.
 */
export function purgeExpiredAccessTokens(ctx: AccountsContext, limit: number): Promise<number> {
  return ctx.stores.accessTokens.purgeUnresumable(ctx.now(), limit);
}
