/**
 * `npm run bench -- media`: uploads/s and download throughput of a real `gatehouse serve` (SQLite), each against
 * the disk's own rate for the same bytes measured in the same run, in the same directory.
 *
 * - Uploads: `POST /_matrix/media/v3/upload` of BENCH_MEDIA_UPLOAD_KB (1,024) KiB of random bytes, each upload
 *   different (so no content-hash de-duplication), BENCH_MEDIA_CONCURRENCY (4) in flight. Ceiling: the same bytes
 *   written by this process as the server stores them (a temporary file, fsync, rename into place), at the same
 *   concurrency.
 * - Downloads: `GET /_matrix/client/v1/media/download/…` of BENCH_MEDIA_DOWNLOAD_MB (64) MiB files, the body read
 *   whole by the client, same concurrency. Ceiling: the same files read whole through `fs.createReadStream`. Both
 *   read from the page cache (the files were just written): the figure is the server's cost per byte, not the disk's.
 *
 * Both ceilings are taken before and after their figure and averaged, so a change in the machine's load shifts both.
 */
import { randomBytes } from "node:crypto";
import { createReadStream, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { open, rename } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { post, startGatehouse } from "./server.js";
import { fmt, type Row } from "./table.js";

const UPLOAD_KB = Number(process.env.BENCH_MEDIA_UPLOAD_KB ?? 1024);
const DOWNLOAD_MB = Number(process.env.BENCH_MEDIA_DOWNLOAD_MB ?? 64);
const CONCURRENCY = Number(process.env.BENCH_MEDIA_CONCURRENCY ?? 4);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);

/** Operations per second and bytes per second of `op` run `CONCURRENCY` at a time for `SECONDS`. */
async function rate(op: (i: number) => Promise<number>): Promise<{ perSecond: number; bytesPerSecond: number }> {
  const start = performance.now();
  const end = start + SECONDS * 1000;
  let done = 0;
  let bytes = 0;
  let i = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < end) {
        bytes += await op(i++);
        done++;
      }
    }),
  );
  const s = (performance.now() - start) / 1000;
  return { perSecond: done / s, bytesPerSecond: bytes / s };
}

/** What the server's storage does for one upload, without HTTP or the database: temp file, fsync, rename. */
async function writeLikeStorage(dir: string, name: string, bytes: Buffer): Promise<number> {
  const tmp = join(dir, `${name}.tmp`);
  const fh = await open(tmp, "wx", 0o600);
  try {
    await fh.writeFile(bytes);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, join(dir, name));
  return bytes.length;
}

function readWhole(path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    let n = 0;
    createReadStream(path)
      .on("data", (chunk) => (n += chunk.length))
      .on("end", () => resolve(n))
      .on("error", reject);
  });
}

const mb = (bytesPerSecond: number) => bytesPerSecond / (1024 * 1024);

export async function mediaTransferFigures(): Promise<Row[]> {
  const dir = mkdtempSync(join(tmpdir(), "gatehouse-bench-media-"));
  const diskDir = join(dir, "disk");
  mkdirSync(diskDir);
  const { url, proc } = await startGatehouse(dir, { max_upload_size: "1G" });
  try {
    const reg = await post(`${url}/_matrix/client/v3/register`, {
      username: "media",
      password: "bench password",
      auth: { type: "m.login.dummy" },
    });
    const auth = { authorization: `Bearer ${reg.access_token as string}` };
    // One buffer per slot, its first bytes changed per upload: every upload is new content, none is generated late.
    const buffers = Array.from({ length: CONCURRENCY }, () => randomBytes(UPLOAD_KB * 1024));
    const fresh = (i: number) => {
      const b = buffers[i % CONCURRENCY] as Buffer;
      b.writeUInt32BE(i, 0);
      b.writeUInt32BE(process.pid, 4);
      return b;
    };
    const upload = async (bytes: Buffer, type = "application/octet-stream") => {
      const res = await fetch(`${url}/_matrix/media/v3/upload?filename=bench.bin`, {
        method: "POST",
        body: bytes,
        headers: { ...auth, "content-type": type },
      });
      if (res.status !== 200) throw new Error(`upload: ${res.status} ${await res.text()}`);
      return ((await res.json()) as { content_uri: string }).content_uri;
    };

    const diskWrite1 = await rate((i) => writeLikeStorage(diskDir, `a${i}`, fresh(i)));
    const uploads = await rate(async (i) => {
      await upload(fresh(1_000_000 + i));
      return UPLOAD_KB * 1024;
    });
    const diskWrite2 = await rate((i) => writeLikeStorage(diskDir, `b${i}`, fresh(2_000_000 + i)));
    const diskWrite = (diskWrite1.perSecond + diskWrite2.perSecond) / 2;

    const files = Array.from({ length: CONCURRENCY }, (_, i) => randomBytes(DOWNLOAD_MB * 1024 * 1024 + i));
    const uris: string[] = [];
    for (const [i, bytes] of files.entries()) {
      uris.push(await upload(bytes));
      await writeLikeStorage(diskDir, `big${i}`, bytes);
    }
    const diskRead1 = await rate((i) => readWhole(join(diskDir, `big${i % CONCURRENCY}`)));
    const downloads = await rate(async (i) => {
      const path = (uris[i % CONCURRENCY] as string).slice("mxc://".length);
      const res = await fetch(`${url}/_matrix/client/v1/media/download/${path}`, { headers: auth });
      if (res.status !== 200) throw new Error(`download: ${res.status}`);
      let n = 0;
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) n += chunk.length;
      return n;
    });
    const diskRead2 = await rate((i) => readWhole(join(diskDir, `big${i % CONCURRENCY}`)));
    const diskRead = (mb(diskRead1.bytesPerSecond) + mb(diskRead2.bytesPerSecond)) / 2;

    return [
      {
        figure: `uploads/s, ${UPLOAD_KB} KiB each, ${CONCURRENCY} in flight (SQLite)`,
        value: fmt(uploads.perSecond),
        ceiling: `${fmt(diskWrite)}/s the same bytes written, fsynced and renamed (${fmt(diskWrite1.perSecond)}, ${fmt(diskWrite2.perSecond)})`,
        ratio: fmt(uploads.perSecond / diskWrite, 2),
        target: "",
      },
      {
        figure: `download MiB/s, ${DOWNLOAD_MB} MiB files, ${CONCURRENCY} in flight, v1 authenticated (SQLite)`,
        value: fmt(mb(downloads.bytesPerSecond)),
        ceiling: `${fmt(diskRead)} MiB/s the same files read (${fmt(mb(diskRead1.bytesPerSecond))}, ${fmt(mb(diskRead2.bytesPerSecond))})`,
        ratio: fmt(mb(downloads.bytesPerSecond) / diskRead, 2),
        target: "",
      },
    ];
  } finally {
    proc.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}
