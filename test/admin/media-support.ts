/**
 * What the media admin tests share: media put in place the way an upload does (a file staged and committed in the
 * server's storage, then its row), and looks at the rows and files.
 */
import { Readable } from "node:stream";
import type { RunningServer } from "../../src/server.js";
import { commitBlob } from "../../src/media/blobs.js";

export interface PutMedia {
  mediaId: string;
  userId: string;
  bytes: string;
  createdTs?: number;
  mediaType?: string;
  uploadName?: string | null;
}

/** Stores `bytes` and a row naming them; returns the file's SHA-256. */
export async function putMedia(server: RunningServer, m: PutMedia): Promise<string> {
  const ctx = server.media;
  const staged = await ctx.storage.stage(Readable.from([Buffer.from(m.bytes)]), 1_000_000);
  await commitBlob(ctx, ctx.stores, staged, () =>
    ctx.stores.localMedia.insert({
      mediaId: m.mediaId,
      userId: m.userId,
      createdTs: m.createdTs ?? Date.now(),
      authenticated: true,
      mediaType: m.mediaType ?? "image/png",
      mediaLength: staged.size,
      uploadName: m.uploadName === undefined ? `${m.mediaId}.png` : m.uploadName,
      sha256: staged.sha256,
      quarantinedBy: null,
    }),
  );
  return staged.sha256;
}

/** Adds a thumbnail of `mediaId` with its own file; returns the file's SHA-256. */
export async function putThumbnail(server: RunningServer, mediaId: string, bytes: string): Promise<string> {
  const ctx = server.media;
  const staged = await ctx.storage.stage(Readable.from([Buffer.from(bytes)]), 1_000_000);
  await commitBlob(ctx, ctx.stores, staged, () =>
    ctx.stores.mediaThumbnails.insert({
      mediaId,
      width: 32,
      height: 32,
      type: "image/png",
      method: "scale",
      length: staged.size,
      sha256: staged.sha256,
    }),
  );
  return staged.sha256;
}
