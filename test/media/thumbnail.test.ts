/**
 * Thumbnails over real HTTP on both databases: sizes chosen as Synapse chooses them (and exact ones with
 * `dynamic_thumbnails`), never enlarged, the output types, one stored thumbnail served again, the refusals (not an
 * image, SVG, corrupt bytes, a decompression bomb, bad parameters) and the authenticated-media rule of the legacy
 * paths. Images are made with sharp in the test and uploaded through the upload route; the bomb is a hand-made
 * PNG header declaring 50000×50000 pixels.
 */
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import { crc32, deflateSync } from "node:zlib";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { registerUser, NO_LIMITS, type ClientUser } from "../api/sync-support.js";
import { commitBlob } from "../../src/media/blobs.js";
import { FilesystemStorage } from "../../src/media/fs-storage.js";
import { selectSize } from "../../src/media/thumbnails.js";
import { makeThumbnail } from "../../src/media/thumbnailer.js";
import { DEFAULT_THUMBNAIL_SIZES } from "../../src/config/schema.js";
import { createTestDatabase, forEachDatabase } from "../helpers/databases.js";
import { specCall } from "../helpers/openapi.js";
import { startTestServer, type TestServer } from "../helpers/server.js";

const OPEN = {
  enable_registration: true,
  enable_registration_without_verification: true,
  allow_guest_access: true,
  ...NO_LIMITS,
};

let counter = 0;

/**
 * Uploads `bytes` as media of `type` through `POST /_matrix/media/v3/upload`. Media of the legacy era (uploaded
 * while `enable_authenticated_media` was off, `authenticated` false) is put in place through the store, as no
 * upload makes it on this server.
 */
async function putMedia(
  t: TestServer,
  user: ClientUser,
  type: string,
  bytes: Buffer,
  authenticated = true,
): Promise<string> {
  if (authenticated) {
    const res = await fetch(`${t.url}/_matrix/media/v3/upload`, {
      method: "POST",
      body: bytes,
      headers: { authorization: `Bearer ${user.token}`, "content-type": type },
    });
    const json = (await res.json()) as { content_uri: string };
    expect(res.status, JSON.stringify(json)).toBe(200);
    return json.content_uri.split("/").pop()!;
  }
  const ctx = t.server.media;
  const mediaId = `legacy${++counter}${Date.now()}`;
  const staged = await ctx.storage.stage(Readable.from([bytes]), bytes.length);
  await commitBlob(ctx, ctx.stores, staged, () =>
    ctx.stores.localMedia.insert({
      mediaId,
      userId: user.userId,
      createdTs: Date.now(),
      authenticated,
      mediaType: type,
      mediaLength: staged.size,
      uploadName: null,
      sha256: staged.sha256,
      quarantinedBy: null,
    }),
  );
  return mediaId;
}

interface Fetched {
  status: number;
  headers: Headers;
  bytes: Buffer;
  json: Record<string, unknown> | undefined;
}

async function get(base: string, path: string, token?: string): Promise<Fetched> {
  const res = await fetch(base + path, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  const bytes = Buffer.from(await res.arrayBuffer());
  let json: Record<string, unknown> | undefined;
  try {
    json = JSON.parse(bytes.toString("utf8")) as Record<string, unknown>;
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, bytes, json };
}

const v1 = (id: string, q: string) => `/_matrix/client/v1/media/thumbnail/localhost/${id}?${q}`;
const v3 = (id: string, q: string) => `/_matrix/media/v3/thumbnail/localhost/${id}?${q}`;

async function size(bytes: Buffer): Promise<{ width: number; height: number; format: string }> {
  const m = await sharp(bytes).metadata();
  return { width: m.width, height: m.height, format: m.format };
}

function image(width: number, height: number) {
  return sharp({ create: { width, height, channels: 3, background: "#3366cc" } });
}

function pngChunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, "latin1"), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

/** A valid PNG header declaring `side`×`side` grey pixels, in a few hundred bytes. */
function pngBomb(side: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(side, 0);
  ihdr.writeUInt32BE(side, 4);
  ihdr[8] = 8; // bit depth; colour type 0 (grey), no interlace
  return Buffer.concat([
    Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]),
    pngChunk("IHDR", ihdr),
    pngChunk("IDAT", deflateSync(Buffer.alloc((side + 1) * 16))),
    pngChunk("IEND", Buffer.alloc(0)),
  ]);
}

describe("selectSize (Synapse's rule over the configured sizes)", () => {
  const pick = (width: number, height: number, method: "crop" | "scale") =>
    selectSize(DEFAULT_THUMBNAIL_SIZES, { width, height, method });
  it("picks the smallest size covering the request, else the closest", () => {
    expect(pick(20, 20, "crop")).toMatchObject({ width: 32, height: 32 });
    expect(pick(64, 64, "crop")).toMatchObject({ width: 96, height: 96 });
    expect(pick(500, 500, "crop")).toMatchObject({ width: 96, height: 96 });
    expect(pick(300, 200, "scale")).toMatchObject({ width: 320, height: 240 });
    expect(pick(600, 400, "scale")).toMatchObject({ width: 640, height: 480 });
    expect(pick(5000, 5000, "scale")).toMatchObject({ width: 800, height: 600 });
    expect(selectSize([{ width: 32, height: 32, method: "crop" }], { width: 8, height: 8, method: "scale" })).toBe(
      null,
    );
  });
});

describe("animated thumbnails and max_image_pixels", () => {
  it("counts every frame: an animation over the limit is refused where its first frame alone would pass", async () => {
    const frames = await Promise.all(
      ["#ff0000", "#00ff00", "#0000ff"].map((background) =>
        sharp({ create: { width: 120, height: 80, channels: 3, background } })
          .raw()
          .toBuffer(),
      ),
    );
    const gif = await sharp(Buffer.concat(frames), { raw: { width: 120, height: 240, channels: 3, pageHeight: 80 } })
      .gif({ loop: 0 })
      .toBuffer();
    const req = { width: 32, height: 32, method: "crop" as const };
    const limit = 120 * 80 * 2;
    await expect(makeThumbnail(gif, "image/gif", { ...req, animated: true }, limit)).rejects.toThrow(/pixels/);
    expect((await makeThumbnail(gif, "image/gif", req, limit)).type).toBe("image/png");
  });
});

forEachDatabase((kind) => {
  let t: TestServer;
  let dyn: TestServer;
  let alice: ClientUser;
  let dynUser: ClientUser;
  let png: Buffer;
  let jpeg: Buffer;

  beforeAll(async () => {
    t = await startTestServer(await createTestDatabase(kind), OPEN);
    dyn = await startTestServer(await createTestDatabase(kind), { ...OPEN, dynamic_thumbnails: true });
    alice = await registerUser(t.url, "alice");
    dynUser = await registerUser(dyn.url, "dora");
    png = await image(1000, 500).png().toBuffer();
    jpeg = await image(640, 640).jpeg().toBuffer();
  }, 120_000);
  afterAll(async () => {
    await t.close();
    await dyn.close();
  });

  it("crops and scales to the chosen configured size, in Synapse's output types, with media headers", async () => {
    const id = await putMedia(t, alice, "image/png", png);
    const crop = await get(t.url, v1(id, "width=20&height=20&method=crop"), alice.token);
    expect(crop.status, crop.bytes.toString()).toBe(200);
    expect(crop.headers.get("content-type")).toBe("image/png");
    expect(crop.headers.get("content-disposition")).toBe("inline; filename=thumbnail.png");
    expect(crop.headers.get("content-security-policy")).toContain("sandbox");
    expect(crop.headers.get("x-content-type-options")).toBe("nosniff");
    expect(Number(crop.headers.get("content-length"))).toBe(crop.bytes.length);
    expect(await size(crop.bytes)).toEqual({ width: 32, height: 32, format: "png" });
    // 300x200 is answered by the 320x240 box; a 2:1 image fits it as 320x160. `method` defaults to scale.
    const scale = await get(t.url, v1(id, "width=300&height=200"), alice.token);
    expect(await size(scale.bytes)).toEqual({ width: 320, height: 160, format: "png" });

    const jid = await putMedia(t, alice, "image/jpeg", jpeg);
    const j = await get(t.url, v1(jid, "width=64&height=64&method=crop"), alice.token);
    expect(j.headers.get("content-type")).toBe("image/jpeg");
    expect(await size(j.bytes)).toEqual({ width: 96, height: 96, format: "jpeg" });

    const gif = await putMedia(t, alice, "image/gif", await image(200, 100).gif().toBuffer());
    const g = await get(t.url, v1(gif, "width=32&height=32&method=crop"), alice.token);
    expect(await size(g.bytes)).toEqual({ width: 32, height: 32, format: "png" });
    const webp = await putMedia(t, alice, "image/webp", await image(200, 100).webp().toBuffer());
    const w = await get(t.url, v1(webp, "width=32&height=32&method=crop&animated=true"), alice.token);
    expect(await size(w.bytes)).toEqual({ width: 32, height: 32, format: "jpeg" });
  });

  it("never enlarges a small image", async () => {
    const id = await putMedia(t, alice, "image/png", await image(50, 40).png().toBuffer());
    const scale = await get(t.url, v1(id, "width=640&height=480&method=scale"), alice.token);
    expect(await size(scale.bytes)).toEqual({ width: 50, height: 40, format: "png" });
    const crop = await get(t.url, v1(id, "width=96&height=96&method=crop"), alice.token);
    expect(await size(crop.bytes)).toEqual({ width: 40, height: 40, format: "png" });
  });

  it("animated=true keeps an animated GIF's and WebP's frames; a still source and animated=false stay still", async () => {
    const frames = await Promise.all(
      ["#ff0000", "#00ff00", "#0000ff"].map((background) =>
        sharp({ create: { width: 120, height: 80, channels: 3, background } })
          .raw()
          .toBuffer(),
      ),
    );
    const strip = () => sharp(Buffer.concat(frames), { raw: { width: 120, height: 240, channels: 3, pageHeight: 80 } });
    const animatedGif = await strip()
      .gif({ loop: 0, delay: [100, 100, 100] })
      .toBuffer();
    const animatedWebp = await strip()
      .webp({ loop: 0, delay: [100, 100, 100] })
      .toBuffer();
    const frameCount = async (bytes: Buffer) => {
      const m = await sharp(bytes, { animated: true }).metadata();
      return { format: m.format, pages: m.pages ?? 1, width: m.width, height: m.pageHeight ?? m.height };
    };
    const gif = await putMedia(t, alice, "image/gif", animatedGif);
    const moving = await get(t.url, v1(gif, "width=32&height=32&method=crop&animated=true"), alice.token);
    expect(moving.status, moving.bytes.toString()).toBe(200);
    expect(moving.headers.get("content-type")).toBe("image/gif");
    expect(moving.headers.get("content-disposition")).toBe("inline; filename=thumbnail.gif");
    expect(await frameCount(moving.bytes)).toEqual({ format: "gif", pages: 3, width: 32, height: 32 });
    const still = await get(t.url, v1(gif, "width=32&height=32&method=crop&animated=false"), alice.token);
    expect(await frameCount(still.bytes)).toEqual({ format: "png", pages: 1, width: 32, height: 32 });
    // Both are stored, each under its own type.
    const types = (await t.server.media.stores.mediaThumbnails.forMedia(gif)).map((r) => r.type).sort();
    expect(types).toEqual(["image/gif", "image/png"]);

    const webp = await putMedia(t, alice, "image/webp", animatedWebp);
    const w = await get(t.url, v1(webp, "width=320&height=240&animated=true"), alice.token);
    expect(w.headers.get("content-type")).toBe("image/webp");
    expect(await frameCount(w.bytes)).toEqual({ format: "webp", pages: 3, width: 120, height: 80 });

    // A one-frame GIF asked for animated: the still thumbnail, stored once for both kinds of request.
    const stillGif = await putMedia(t, alice, "image/gif", await image(60, 60).gif().toBuffer());
    const a = await get(t.url, v1(stillGif, "width=32&height=32&method=crop&animated=true"), alice.token);
    const b = await get(t.url, v1(stillGif, "width=32&height=32&method=crop"), alice.token);
    expect(a.headers.get("content-type")).toBe("image/png");
    expect(b.bytes.equals(a.bytes)).toBe(true);
    expect(await t.server.media.stores.mediaThumbnails.forMedia(stillGif)).toHaveLength(1);

    // With dynamic_thumbnails, every frame at exactly the size asked for.
    const dynGif = await putMedia(dyn, dynUser, "image/gif", animatedGif);
    const d = await get(dyn.url, v1(dynGif, "width=60&height=40&method=scale&animated=true"), dynUser.token);
    expect(await frameCount(d.bytes)).toEqual({ format: "gif", pages: 3, width: 60, height: 40 });
  });

  it("stores a thumbnail once and serves it again, also to concurrent first requests", async () => {
    const id = await putMedia(t, alice, "image/png", await image(400, 300).png().toBuffer());
    const storage = t.server.media.storage;
    if (!(storage instanceof FilesystemStorage)) throw new Error("the test server stores media on the filesystem");
    const files = () =>
      readdirSync(join(storage.root, "content"), { recursive: true, encoding: "utf8" }).filter((p) =>
        statSync(join(storage.root, "content", p)).isFile(),
      ).length;
    const before = files();
    const first = await Promise.all(
      Array.from({ length: 5 }, () => get(t.url, v1(id, "width=96&height=96&method=crop"), alice.token)),
    );
    expect(first.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    const rows = await t.server.media.stores.mediaThumbnails.forMedia(id);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ width: 96, height: 96, method: "crop", type: "image/png" });
    expect(files()).toBe(before + 1);
    const stored = statSync(storage.pathOf(rows[0]!.sha256)).mtimeMs;
    // A request the same configured size answers (64x64 → 96x96) is served from the store, not made again.
    const again = await get(t.url, v1(id, "width=64&height=64&method=crop"), alice.token);
    expect(again.headers.get("etag")).toBe(`"${rows[0]!.sha256}"`);
    expect(again.bytes.equals(first[0]!.bytes)).toBe(true);
    expect(await t.server.media.stores.mediaThumbnails.forMedia(id)).toHaveLength(1);
    expect(statSync(storage.pathOf(rows[0]!.sha256)).mtimeMs).toBe(stored);
    expect(files()).toBe(before + 1);
  });

  it("refuses what is not a thumbnailable image with 400 M_UNKNOWN, and bad parameters", async () => {
    const cases: [string, Buffer][] = [
      ["text/plain", Buffer.from("hello")],
      ["image/svg+xml", Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>')],
      ["image/png", Buffer.from("not a png at all")],
      ["image/png", png.subarray(0, 100)],
      ["image/jpeg", png],
    ];
    for (const [type, bytes] of cases) {
      const id = await putMedia(t, alice, type, bytes);
      const r = await specCall(t.url, "GET", v1(id, "width=32&height=32&method=crop"), { token: alice.token });
      expect(r.status, `${type}: ${r.text}`).toBe(400);
      expect(r.body.errcode).toBe("M_UNKNOWN");
      expect(r.body.error).toContain("Cannot find any thumbnails");
      expect(await t.server.media.stores.mediaThumbnails.forMedia(id)).toEqual([]);
    }
    const id = await putMedia(t, alice, "image/png", png);
    const bad: [string, string][] = [
      ["height=32", "M_MISSING_PARAM"],
      ["width=32", "M_MISSING_PARAM"],
      ["width=0&height=32", "M_INVALID_PARAM"],
      ["width=-5&height=32", "M_INVALID_PARAM"],
      ["width=abc&height=32", "M_INVALID_PARAM"],
      ["width=32&height=32&method=stretch", "M_INVALID_PARAM"],
      ["width=32&height=32&animated=maybe", "M_INVALID_PARAM"],
      ["width=32&height=32&timeout_ms=soon", "M_INVALID_PARAM"],
    ];
    for (const [q, errcode] of bad) {
      const r = await specCall(t.url, "GET", v1(id, q), { token: alice.token });
      expect(r.status, q).toBe(400);
      expect(r.body.errcode, q).toBe(errcode);
    }
    const missing = await specCall(t.url, "GET", v1("nosuchmedia", "width=32&height=32"), { token: alice.token });
    expect(missing.status).toBe(404);
    expect(missing.body.errcode).toBe("M_NOT_FOUND");
    const remote = await specCall(
      t.url,
      "GET",
      "/_matrix/client/v1/media/thumbnail/elsewhere.example/x?width=1&height=1",
      {
        token: alice.token,
      },
    );
    expect(remote.status).toBe(404);
  });

  it("refuses a decompression bomb before decoding it, with bounded memory", async () => {
    const bomb = pngBomb(50_000);
    expect(bomb.length).toBeLessThan(4096);
    const id = await putMedia(t, alice, "image/png", bomb);
    const rss = process.memoryUsage().rss;
    const r = await specCall(t.url, "GET", v1(id, "width=32&height=32&method=crop"), { token: alice.token });
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ errcode: "M_UNKNOWN" });
    expect(r.body.error).toContain(`more than ${t.server.media.media.max_image_pixels} pixels`);
    expect(t.server.media.media.max_image_pixels).toBe(32 * 1024 * 1024);
    // Decoding 2.5 billion pixels would take gigabytes; refusing at the header takes next to nothing.
    expect(process.memoryUsage().rss - rss).toBeLessThan(200 * 1024 * 1024);
    const dynR = await get(
      dyn.url,
      v1(await putMedia(dyn, dynUser, "image/png", bomb), "width=8&height=8"),
      dynUser.token,
    );
    expect(dynR.status).toBe(400);
  });

  it("requires a token on v1 and keeps authenticated media off the legacy paths", async () => {
    const authed = await putMedia(t, alice, "image/png", png, true);
    const legacy = await putMedia(t, alice, "image/png", png, false);
    const noToken = await specCall(t.url, "GET", v1(authed, "width=32&height=32"));
    expect(noToken.status).toBe(401);
    expect(noToken.body.errcode).toBe("M_MISSING_TOKEN");
    const hidden = await specCall(t.url, "GET", v3(authed, "width=32&height=32"));
    expect(hidden.status).toBe(404);
    expect(hidden.body.errcode).toBe("M_NOT_FOUND");
    for (const version of ["v3", "r0"]) {
      const r = await get(
        t.url,
        `/_matrix/media/${version}/thumbnail/localhost/${legacy}?width=32&height=32&method=crop`,
      );
      expect(r.status, version).toBe(200);
      expect(r.headers.get("cache-control")).toContain("public");
      expect(await size(r.bytes)).toMatchObject({ width: 32, height: 32 });
    }
    const ok = await get(t.url, v1(legacy, "width=32&height=32&method=crop"), alice.token);
    expect(ok.headers.get("cache-control")).toContain("private");
  });

  it("with dynamic_thumbnails, makes exactly the size asked for (never larger than the image)", async () => {
    const id = await putMedia(dyn, dynUser, "image/png", png);
    const crop = await get(dyn.url, v1(id, "width=50&height=70&method=crop"), dynUser.token);
    expect(await size(crop.bytes)).toEqual({ width: 50, height: 70, format: "png" });
    const scale = await get(dyn.url, v1(id, "width=100&height=100&method=scale"), dynUser.token);
    expect(await size(scale.bytes)).toEqual({ width: 100, height: 50, format: "png" });
    const huge = await get(dyn.url, v1(id, "width=5000&height=5000&method=scale"), dynUser.token);
    expect(await size(huge.bytes)).toEqual({ width: 1000, height: 500, format: "png" });
    // Stored under the size made: asking for ever larger sizes adds no rows past the image's own size.
    const huger = await get(dyn.url, v1(id, "width=7000&height=9000&method=scale"), dynUser.token);
    expect(huger.bytes.equals(huge.bytes)).toBe(true);
    const rows = await dyn.server.media.stores.mediaThumbnails.forMedia(id);
    expect(rows.map((r) => `${r.width}x${r.height}/${r.method}`).sort()).toEqual([
      "1000x500/scale",
      "100x50/scale",
      "50x70/crop",
    ]);
  });
});
