/**
 * @module The filesystem backend of `MediaStorage`, under `media_store_path`:
 *
 * - `content/ab/cd/abcd…` holds the file whose SHA-256 is `abcd…` (two levels of fan-out, 65,536 directories, so
 *   no directory grows huge).
 * - `tmp/` holds uploads in progress. A file is written there, flushed to disk (fsync) and only then renamed into
 *   `content/`, so a crash never leaves a half-written file under a real name. What a crash leaves in `tmp/` is
 *   removed when a process opens the store, once it has not been written to for an hour (other `--workers`
 *   processes may be writing the younger ones).
 *
 * Files are 0600 and directories 0700: media of private rooms is readable by the server's user only.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, readdirSync, rmSync, statSync } from "node:fs";
import { mkdir, open, rename, stat, unlink } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { ErrCode, MatrixError } from "../errors.js";
import { SHA256_HEX, type ByteRange, type MediaStorage, type OpenedBlob, type StagedBlob } from "./storage.js";

const FILE_MODE = 0o600;
const DIR_MODE = 0o700;
/** An upload in `tmp/` not written to for this long was left by a process that died. */
const STALE_TMP_MS = 3_600_000;

export class FilesystemStorage implements MediaStorage {
  private readonly tmp: string;
  private readonly content: string;

  /** Creates the directories and removes a crashed run's leftovers from `tmp/`. */
  constructor(readonly root: string) {
    this.tmp = join(root, "tmp");
    this.content = join(root, "content");
    mkdirSync(this.tmp, { recursive: true, mode: DIR_MODE });
    mkdirSync(this.content, { recursive: true, mode: DIR_MODE });
    const stale = Date.now() - STALE_TMP_MS;
    for (const name of readdirSync(this.tmp)) {
      const path = join(this.tmp, name);
      if ((statSync(path, { throwIfNoEntry: false })?.mtimeMs ?? Infinity) < stale) rmSync(path, { force: true });
    }
  }

  pathOf(sha256: string): string {
    if (!SHA256_HEX.test(sha256)) throw new Error("not a SHA-256 in hex");
    return join(this.content, sha256.slice(0, 2), sha256.slice(2, 4), sha256);
  }

  async stage(source: Readable, maxBytes: number): Promise<StagedBlob> {
    // Until the loop below reads it, an error of the source (a client gone) must not go unheard and crash the
    // process; the loop sees it anyway, as the stream's stored error.
    const ignore = () => {};
    source.on("error", ignore);
    try {
      return await this.stageFrom(source, maxBytes);
    } finally {
      source.off("error", ignore);
    }
  }

  private async stageFrom(source: Readable, maxBytes: number): Promise<StagedBlob> {
    const tmpPath = join(this.tmp, randomBytes(12).toString("hex"));
    const file = await open(tmpPath, "wx", FILE_MODE);
    const hash = createHash("sha256");
    let size = 0;
    try {
      // The source is not destroyed when the limit is passed: the caller still answers on its connection.
      for await (const chunk of source.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer | string>) {
        const bytes = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
        size += bytes.length;
        if (size > maxBytes) {
          throw new MatrixError(ErrCode.TooLarge, `Upload is larger than the limit of ${maxBytes} bytes`);
        }
        hash.update(bytes);
        await file.write(bytes);
      }
      await file.sync();
    } catch (err) {
      await file.close().catch(() => {});
      await unlink(tmpPath).catch(() => {});
      throw err;
    }
    await file.close();
    const sha256 = hash.digest("hex");
    let settled = false;
    return {
      sha256,
      size,
      commit: async () => {
        if (settled) return;
        settled = true;
        const final = this.pathOf(sha256);
        try {
          await mkdir(join(final, ".."), { recursive: true, mode: DIR_MODE });
          // Over an existing file of the same name: the same bytes, replaced atomically.
          await rename(tmpPath, final);
        } catch (err) {
          await unlink(tmpPath).catch(() => {});
          throw err;
        }
      },
      discard: async () => {
        if (settled) return;
        settled = true;
        await unlink(tmpPath).catch(() => {});
      },
    };
  }

  async open(sha256: string, range?: ByteRange): Promise<OpenedBlob | null> {
    let file;
    try {
      file = await open(this.pathOf(sha256), "r");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw err;
    }
    try {
      const { size } = await file.stat();
      const stream = file.createReadStream(range ? { start: range.start, end: range.end } : {});
      return { size, stream };
    } catch (err) {
      await file.close();
      throw err;
    }
  }

  async exists(sha256: string): Promise<boolean> {
    try {
      await stat(this.pathOf(sha256));
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return false;
      throw err;
    }
  }

  async delete(sha256: string): Promise<void> {
    try {
      await unlink(this.pathOf(sha256));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
  }
}
