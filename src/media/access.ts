/**
 * @module `last_access_ts`: when a media item was last downloaded or thumbnailed, which media retention by age and
 * the admin's `media/delete?before_ts` read. As Synapse (`recently_accessed_locals`), a read only notes the ID in
 * memory; the noted IDs are written in one UPDATE a minute (and when the server stops), never a write per request.
 * A process that dies loses at most a minute of access times, which only makes media look a little older.
 */
import type { MediaContext } from "./context.js";

/** How often the noted accesses are written (Synapse's `UPDATE_RECENTLY_ACCESSED_TS`). */
export const ACCESS_FLUSH_MS = 60_000;

/** The IDs read since the last flush; bounded, so a flood of distinct IDs cannot grow it without limit. */
const MAX_PENDING = 100_000;

export function noteAccess(ctx: MediaContext, mediaId: string): void {
  if (ctx.accessed.size < MAX_PENDING) ctx.accessed.add(mediaId);
}

/** Writes the noted accesses at the current time; returns how many IDs were written. */
export async function flushAccess(ctx: MediaContext): Promise<number> {
  if (ctx.accessed.size === 0) return 0;
  const ids = [...ctx.accessed];
  ctx.accessed.clear();
  // In chunks: one statement's parameters stay well under SQLite's and PostgreSQL's limits.
  for (let i = 0; i < ids.length; i += 500) {
    await ctx.stores.localMedia.markAccessed(ids.slice(i, i + 500), ctx.now());
  }
  return ids.length;
}

/** Flushes every `ACCESS_FLUSH_MS` until the returned `stop` (which flushes once more); failures are logged. */
export function startAccessFlush(ctx: MediaContext, log: (message: string) => void): { stop(): Promise<void> } {
  const flush = () =>
    flushAccess(ctx).catch((err: unknown) => {
      log(`writing media access times failed: ${err instanceof Error ? err.message : String(err)}`);
    });
  const timer = setInterval(() => void flush(), ACCESS_FLUSH_MS);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await flush();
    },
  };
}
