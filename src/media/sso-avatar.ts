/**
 * @module An identity provider's picture as an account's avatar (`picture_template`, Synapse's `SsoHandler.set_avatar`):
 * the URL the provider gave is fetched as URL previews fetch (addresses checked and pinned, redirects re-checked,
 * time bounded), must be an image of at most `max_upload_size` bytes, and becomes a local media item of the user's
 * and their `avatar_url`. The same picture again (by content) changes nothing, so a refresh on every login does not
 * pile up copies.
 */
import { ErrCode, MatrixError } from "../errors.js";
import type { MediaContext } from "./context.js";
import { keepFetched } from "./fetched-media.js";
import { normaliseContentType } from "./headers.js";
import { safeFetch } from "./preview-fetch.js";
import { previewPolicy } from "./preview-policy.js";
import { newMediaId } from "./upload.js";

const MXC_LOCAL = /^mxc:\/\/([^/]+)\/([^/]+)$/;

/** Sets the picture at `url` as `userId`'s avatar; the new `mxc://` URI, or the current one when it is the same. */
export async function importSsoAvatar(ctx: MediaContext, userId: string, url: string): Promise<string> {
  const policy = { ...previewPolicy(ctx.media, ctx.previewTimeoutMs), maxBytes: ctx.media.max_upload_size };
  const fetched = await safeFetch(policy, ctx.storage, url);
  const { staged } = fetched;
  try {
    const mediaType = normaliseContentType(fetched.mediaType);
    if (!mediaType.toLowerCase().startsWith("image/")) {
      throw new MatrixError(ErrCode.Unknown, `the picture is not an image (${mediaType})`);
    }
    const current = (await ctx.stores.users.get(userId))?.avatarUrl ?? null;
    const local = current === null ? null : MXC_LOCAL.exec(current);
    if (local && local[1] === ctx.serverName) {
      const media = await ctx.stores.localMedia.get(local[2]!);
      if (media?.sha256 === staged.sha256) return current!;
    }
    const mediaId = newMediaId();
    await keepFetched(ctx, userId, fetched, { mediaId, mediaType, urlCache: null });
    const mxc = `mxc://${ctx.serverName}/${mediaId}`;
    await ctx.stores.users.setProfile(userId, { avatarUrl: mxc });
    await ctx.userHooks.userChanged(userId);
    return mxc;
  } finally {
    await staged.discard();
  }
}
