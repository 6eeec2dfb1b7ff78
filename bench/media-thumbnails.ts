/**
 * `npm run bench -- thumbnails`: thumbnail generations/s through HTTP against sharp called directly on the same
 * images in the same run.
 *
 * A real `gatehouse serve` (SQLite, `dynamic_thumbnails: true`) holds BENCH_THUMB_IMAGES (8) different 1600×1200
 * JPEGs, uploaded through `POST /_matrix/media/v3/upload`. Each request asks a size not asked before (a crop a pixel
 * wider than the last), so every request makes, stores and serves a new thumbnail. The ceiling is the same
 * decode-resize-encode done by sharp in this process, at the same concurrency (BENCH_THUMB_CONCURRENCY, 4).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { post, startGatehouse } from "./server.js";
import { fmt, type Row } from "./table.js";

const IMAGES = Number(process.env.BENCH_THUMB_IMAGES ?? 8);
const CONCURRENCY = Number(process.env.BENCH_THUMB_CONCURRENCY ?? 4);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);

async function rate(op: (i: number) => Promise<unknown>): Promise<number> {
  const end = performance.now() + SECONDS * 1000;
  let done = 0;
  let i = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < end) {
        await op(i++);
        done++;
      }
    }),
  );
  return done / ((performance.now() - start) / 1000);
}

/** A photo-like JPEG: noise over a colour, so each image differs and compresses as a photo does. */
async function photo(seed: number): Promise<Buffer> {
  const noise = await sharp({
    create: {
      width: 1600,
      height: 1200,
      channels: 3,
      background: "#000",
      noise: { type: "gaussian", mean: 128, sigma: 40 },
    },
  })
    .png()
    .toBuffer();
  return sharp(noise)
    .tint({ r: (seed * 53) % 256, g: (seed * 97) % 256, b: (seed * 151) % 256 })
    .jpeg({ quality: 85 })
    .toBuffer();
}

/** The size of the i-th request: a crop box never asked before, so each request makes a thumbnail. */
const box = (i: number) => ({ width: 64 + Math.floor(i / IMAGES), height: 64 + Math.floor(i / IMAGES) });

export async function thumbnailFigures(): Promise<Row[]> {
  const images = await Promise.all(Array.from({ length: IMAGES }, (_, i) => photo(i)));
  const dir = mkdtempSync(join(tmpdir(), "gatehouse-bench-thumbs-"));
  const { url, proc } = await startGatehouse(dir, { dynamic_thumbnails: true });
  try {
    const reg = await post(`${url}/_matrix/client/v3/register`, {
      username: "thumbs",
      password: "bench password",
      auth: { type: "m.login.dummy" },
    });
    const auth = { authorization: `Bearer ${reg.access_token as string}` };
    const ids: string[] = [];
    for (const bytes of images) {
      const res = await fetch(`${url}/_matrix/media/v3/upload`, {
        method: "POST",
        body: bytes,
        headers: { ...auth, "content-type": "image/jpeg" },
      });
      const json = (await res.json()) as { content_uri: string };
      ids.push(json.content_uri.split("/").pop()!);
    }
    const viaHttp = await rate(async (i) => {
      const { width, height } = box(i);
      const res = await fetch(
        `${url}/_matrix/client/v1/media/thumbnail/bench.local/${ids[i % IMAGES]}?width=${width}&height=${height}&method=crop`,
        { headers: auth },
      );
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`thumbnail: ${res.status}`);
    });
    const direct = await rate(async (i) => {
      const { width, height } = box(i);
      await sharp(images[i % IMAGES])
        .rotate()
        .resize(width, height, { fit: "cover" })
        .flatten({ background: "#ffffff" })
        .jpeg({ quality: 80 })
        .toBuffer();
    });
    return [
      {
        figure: `thumbnail generations/s, HTTP (1600×1200 JPEG → new crop, ${CONCURRENCY} in flight)`,
        value: fmt(viaHttp),
        ceiling: `${fmt(direct)} (sharp directly)`,
        ratio: fmt(viaHttp / direct, 2),
        target: "",
      },
    ];
  } finally {
    proc.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}
