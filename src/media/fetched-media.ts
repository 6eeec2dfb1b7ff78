/**
 * @module A fetched body (src/media/preview-fetch.ts) kept as a local media item of a user's: the one place a URL
 * preview's page or image and an identity provider's picture become media, quarantined when their content is.
 */
import { commitBlob } from "./blobs.js";
import type { MediaContext } from "./context.js";
import type { Fetched } from "./preview-fetch.js";

/**
 * Commits the staged body and inserts its row as `mediaId`; `urlCache` names the page it was fetched for (URL
 * previews' cached media, purged with the cache), null for media that stays. The caller discards the staged file.
 */
export async function keepFetched(
  ctx: MediaContext,
  userId: string,
  fetched: Fetched,
  item: { mediaId: string; mediaType: string; urlCache: string | null },
): Promise<void> {
  const { staged } = fetched;
  const quarantined = await ctx.stores.localMedia.isHashQuarantined(staged.sha256);
  await commitBlob(ctx, ctx.stores, staged, () =>
    ctx.stores.localMedia.insert({
      mediaId: item.mediaId,
      userId,
      createdTs: ctx.now(),
      authenticated: ctx.media.enable_authenticated_media,
      mediaType: item.mediaType,
      mediaLength: staged.size,
      uploadName: fetched.downloadName,
      sha256: staged.sha256,
      quarantinedBy: quarantined ? "system" : null,
      ...(item.urlCache === null ? {} : { urlCache: item.urlCache }),
    }),
  );
}
