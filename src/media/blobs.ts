/**
 * @module Files shared by rows: a file is deleted only once no media or thumbnail row names it.
 *
 * Two races are closed here, per file name, within a process: an upload that makes a file visible and then inserts
 * its row, against a delete that removes the last row naming the same file and then the file. Each holds the
 * file's lock for both of its steps, so the delete either sees the new row or runs before the file reappears.
 * (Between `--workers` processes the window remains, a few milliseconds wide; a file lost there is answered as
 * missing media, never as another's.)
 */
import type { Tables } from "../db/stores.js";
import type { MediaStorage, StagedBlob } from "./storage.js";

/** One promise chain per file name, dropped once idle. */
export class BlobLocks {
  private readonly tails = new Map<string, Promise<unknown>>();

  async with<T>(sha256: string, fn: () => Promise<T>): Promise<T> {
    const before = this.tails.get(sha256) ?? Promise.resolve();
    const run = before.then(fn, fn);
    const tail = run.catch(() => {});
    this.tails.set(sha256, tail);
    try {
      return await run;
    } finally {
      if (this.tails.get(sha256) === tail) this.tails.delete(sha256);
    }
  }
}

export interface BlobDeps {
  storage: MediaStorage;
  blobLocks: BlobLocks;
}

/**
 * Makes `staged` visible and runs `record` (which writes the row naming it) under the file's lock; if `record`
 * throws, the file is dropped again unless another row names it.
 */
export async function commitBlob<T>(
  deps: BlobDeps,
  tables: Pick<Tables, "localMedia">,
  staged: StagedBlob,
  record: () => Promise<T>,
): Promise<T> {
  return deps.blobLocks.with(staged.sha256, async () => {
    await staged.commit();
    try {
      return await record();
    } catch (err) {
      if (!(await tables.localMedia.blobInUse(staged.sha256))) await deps.storage.delete(staged.sha256);
      throw err;
    }
  });
}

/**
 * Deletes each of `files` (named by rows just deleted) that no row names any more. Call it after the deletion has
 * committed, with `ctx.stores`: never inside a transaction, whose check could not see other rows.
 */
export async function releaseBlobs(
  deps: BlobDeps,
  tables: Pick<Tables, "localMedia">,
  files: readonly (string | null)[],
): Promise<void> {
  for (const sha256 of new Set(files)) {
    if (sha256 === null) continue;
    await deps.blobLocks.with(sha256, async () => {
      if (!(await tables.localMedia.blobInUse(sha256))) await deps.storage.delete(sha256);
    });
  }
}
