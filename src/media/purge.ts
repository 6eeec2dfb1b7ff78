/**
 * @module What the media jobs delete, and erasure: async uploads whose content never came before
 * `unused_expiration_time`, and the media of users whose account was erased.
 *
 * Erasure is a consequence of a committed deactivation, not part of it: the account is deactivated and marked
 * erased in one transaction (src/accounts/account.ts), then `eraseUserMedia` deletes the media at once. If that
 * fails or the process stops half-way, the account is still wholly deactivated and the job
 * `purge_erased_users_media` finishes the deletion on its next run, since it works from the `erased` flag.
 */
import { describeError } from "../jobs/runner.js";
import { deleteMediaIds, DELETE_BATCH } from "./admin.js";
import type { MediaContext } from "./context.js";

/** Deletes up to `limit` expired pending uploads; returns how many. An upload that filled one meanwhile keeps it. */
export async function purgeExpiredUploads(ctx: MediaContext, limit: number): Promise<number> {
  const ids = await ctx.stores.localMedia.expiredPending(ctx.now() - ctx.media.unused_expiration_time, limit);
  return ctx.stores.mediaAdmin.deleteIfPending(ids);
}

/** Deletes up to `limit` media items of erased users (their files once unused); returns how many. */
export async function purgeErasedUsersMedia(ctx: MediaContext, limit: number): Promise<number> {
  const ids = await ctx.stores.mediaAdmin.ofErasedUsers(limit);
  return (await deleteMediaIds(ctx, null, ids)).total;
}

/** Deletes every media item of `userId` if the account is erased (called after a deactivation commits). */
export async function eraseUserMedia(ctx: MediaContext, userId: string): Promise<number> {
  const user = await ctx.stores.users.get(userId);
  if (!user?.erased) return 0;
  let total = 0;
  for (;;) {
    const ids = await ctx.stores.mediaAdmin.idsForUser(userId, DELETE_BATCH);
    const n = (await deleteMediaIds(ctx, null, ids)).total;
    total += n;
    if (ids.length < DELETE_BATCH || n === 0) return total;
  }
}

/**
 * Chains `eraseUserMedia` after the user hooks already set (the rooms service's), so every deactivation path runs
 * it once its transaction has committed. A failure is logged (without data) and left to the job: the deactivation
 * itself has succeeded and stays answered as such.
 */
export function eraseMediaOnDeactivation(ctx: MediaContext, log: (message: string) => void): void {
  const hooks = ctx.userHooks;
  const before = hooks.userChanged.bind(hooks);
  hooks.userChanged = async (userId) => {
    await before(userId);
    await eraseUserMedia(ctx, userId).catch((err: unknown) => {
      log(`erasing a user's media failed, left to the job purge_erased_users_media: ${describeError(err)}`);
    });
  };
}
