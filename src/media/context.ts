/**
 * @module What every media service needs: the stores, the clock and server name (from the accounts context), the
 * file storage and the media keys of the configuration.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AccountsContext } from "../accounts/context.js";
import type { MediaConfig } from "../config/schema.js";
import { FilesystemStorage } from "./fs-storage.js";
import { BlobLocks } from "./blobs.js";
import type { MediaStorage } from "./storage.js";

export interface MediaContext extends AccountsContext {
  storage: MediaStorage;
  media: MediaConfig;
  /** Serialises, per file, making a file visible with naming it in a row and deleting it once no row names it. */
  blobLocks: BlobLocks;
  /** Waits `ms` (injectable so tests of `timeout_ms` need not wait in real time). */
  sleep: (ms: number) => Promise<void>;
  /** The bound on one URL preview fetch, redirects and body included (a field so tests can shorten it). */
  previewTimeoutMs: number;
  /** Media IDs downloaded or thumbnailed since `last_access_ts` was last written (src/media/access.ts). */
  accessed: Set<string>;
}

export function createMediaContext(
  accounts: AccountsContext,
  config: MediaConfig,
  storage?: MediaStorage,
): MediaContext {
  const root = config.media_store_path ?? mkdtempSync(join(tmpdir(), "gatehouse-media-"));
  return {
    ...accounts,
    storage: storage ?? new FilesystemStorage(root),
    media: config,
    blobLocks: new BlobLocks(),
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    previewTimeoutMs: 30_000,
    accessed: new Set(),
  };
}
