/**
 * @module Where media bytes live: one interface, so a backend other than the filesystem (S3-compatible, say) can
 * be added behind it. Files are content-addressed: a file is named by the SHA-256 of its bytes, so identical
 * uploads share one file, and which rows still name a file is the database's business (src/media/blobs.ts).
 */
import type { Readable } from "node:stream";

/** A SHA-256 in lowercase hex: the only file names a backend accepts, so no caller can name a path. */
export const SHA256_HEX = /^[0-9a-f]{64}$/;

/**
 * Bytes written and hashed but not yet visible under their name. `commit` makes them visible (a file with the same
 * name already there is kept: it holds the same bytes); `discard` drops them. Exactly one of the two must be called.
 */
export interface StagedBlob {
  sha256: string;
  size: number;
  commit(): Promise<void>;
  discard(): Promise<void>;
}

/** Inclusive byte offsets, as in an HTTP `Range`. */
export interface ByteRange {
  start: number;
  end: number;
}

export interface OpenedBlob {
  /** The whole file's size. */
  size: number;
  /** The bytes (of `range` when one was given); destroy it if not read to the end. */
  stream: Readable;
}

export interface MediaStorage {
  /**
   * Reads `source` to its end into a temporary place, hashing it. More than `maxBytes` bytes, or an error or early
   * end of `source` (a client that went away), rejects and leaves nothing behind; a larger-than-allowed source is
   * rejected with 413 `M_TOO_LARGE` as soon as the limit is passed, without reading the rest.
   */
  stage(source: Readable, maxBytes: number): Promise<StagedBlob>;
  /** The file named `sha256`, or null when there is none. */
  open(sha256: string, range?: ByteRange): Promise<OpenedBlob | null>;
  exists(sha256: string): Promise<boolean>;
  /** Removes the file; one already gone is not an error. */
  delete(sha256: string): Promise<void>;
}
