/**
 * The media foundation without HTTP: the filesystem store (content-addressed, temp file then rename, nothing left by
 * a failed or over-long write, modes), files shared by rows and deleted with the last, the response headers, the
 * media keys of the configuration, and the serving rule of src/media/read.ts on both databases.
 */
import { createHash } from "node:crypto";
import { readdirSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { PassThrough, Readable } from "node:stream";
import { text } from "node:stream/consumers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { validateConfig } from "../../src/config/validate.js";
import { createAccountsContext } from "../../src/accounts/context.js";
import type { Db } from "../../src/db/database.js";
import type { Stores } from "../../src/db/stores.js";
import { commitBlob, releaseBlobs } from "../../src/media/blobs.js";
import { createMediaContext, type MediaContext } from "../../src/media/context.js";
import { FilesystemStorage } from "../../src/media/fs-storage.js";
import { contentDisposition, mediaHeaders, normaliseContentType } from "../../src/media/headers.js";
import { findServable, openServable, parseTimeoutMs } from "../../src/media/read.js";
import { openAndMigrate } from "../../src/server.js";
import { createTestDatabase, forEachDatabase, tempDir } from "../helpers/databases.js";

const sha = (s: string) => createHash("sha256").update(s).digest("hex");

/** Every file under `dir`, as paths relative to it. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" }).filter((p) => statSync(join(dir, p)).isFile());
}

describe("filesystem storage", () => {
  it("stores by content hash with two levels of fan-out, private modes, and reads ranges", async () => {
    const root = tempDir();
    const fs = new FilesystemStorage(root);
    const staged = await fs.stage(Readable.from([Buffer.from("hello "), Buffer.from("world")]), 100);
    expect(staged).toMatchObject({ sha256: sha("hello world"), size: 11 });
    expect(await fs.exists(staged.sha256)).toBe(false);
    await staged.commit();
    const h = staged.sha256;
    expect(filesUnder(root)).toEqual([join("content", h.slice(0, 2), h.slice(2, 4), h)]);
    expect(statSync(join(root, "content", h.slice(0, 2), h.slice(2, 4), h)).mode & 0o777).toBe(0o600);
    expect(statSync(join(root, "content", h.slice(0, 2))).mode & 0o777).toBe(0o700);
    const whole = await fs.open(h);
    expect(whole?.size).toBe(11);
    expect(await text(whole!.stream)).toBe("hello world");
    const part = await fs.open(h, { start: 6, end: 8 });
    expect(await text(part!.stream)).toBe("wor");
    // The same bytes again: one file.
    const again = await fs.stage(Readable.from(["hello world"]), 100);
    await again.commit();
    expect(filesUnder(root)).toHaveLength(1);
    await fs.delete(h);
    await fs.delete(h);
    expect(await fs.open(h)).toBeNull();
    expect(await fs.exists(h)).toBe(false);
    expect(() => fs.pathOf("../../etc/passwd")).toThrow();
  });

  it("leaves nothing behind when a write is too large, cut off, or discarded", async () => {
    const root = tempDir();
    const fs = new FilesystemStorage(root);
    await expect(fs.stage(Readable.from([Buffer.alloc(60), Buffer.alloc(60)]), 100)).rejects.toMatchObject({
      errcode: "M_TOO_LARGE",
      status: 413,
    });
    const cut = new PassThrough();
    const staging = fs.stage(cut, 1000);
    cut.write("partial");
    cut.destroy(new Error("client went away"));
    await expect(staging).rejects.toThrow("client went away");
    const discarded = await fs.stage(Readable.from(["x"]), 10);
    await discarded.discard();
    await discarded.commit();
    expect(filesUnder(root)).toEqual([]);
    // Exactly the limit is allowed, and so is nothing at all.
    expect((await fs.stage(Readable.from([Buffer.alloc(100)]), 100)).size).toBe(100);
    expect(await fs.stage(Readable.from([]), 100)).toMatchObject({ size: 0, sha256: sha("") });
  });

  it("removes a dead run's stale temporary files on open, not a live upload's", () => {
    const root = tempDir();
    new FilesystemStorage(root);
    const old = join(root, "tmp", "old");
    const fresh = join(root, "tmp", "fresh");
    writeFileSync(old, "x");
    writeFileSync(fresh, "y");
    const twoHoursAgo = (Date.now() - 2 * 3_600_000) / 1000;
    utimesSync(old, twoHoursAgo, twoHoursAgo);
    new FilesystemStorage(root);
    expect(readdirSync(join(root, "tmp"))).toEqual(["fresh"]);
  });
});

describe("headers", () => {
  it("inline only for the safe types, never HTML or SVG; names as tokens or RFC 5987", () => {
    expect(contentDisposition("image/png", "cat.png")).toBe("inline; filename=cat.png");
    expect(contentDisposition("IMAGE/PNG; x=y", null)).toBe("inline");
    expect(contentDisposition("text/html", "a.html")).toBe("attachment; filename=a.html");
    expect(contentDisposition("image/svg+xml", "a.svg")).toBe("attachment; filename=a.svg");
    expect(contentDisposition("application/octet-stream", "my file (1).txt")).toBe(
      "attachment; filename*=utf-8''my%20file%20%281%29.txt",
    );
    expect(contentDisposition("text/plain", "ünï\"'*;.txt")).toBe(
      "inline; filename*=utf-8''%C3%BCn%C3%AF%22%27%2A%3B.txt",
    );
    expect(contentDisposition("text/plain", "../../etc/passwd")).toBe(
      "inline; filename*=utf-8''..%2F..%2Fetc%2Fpasswd",
    );
  });

  it("a malformed Content-Type is stored as octet-stream; text gets a UTF-8 charset; the sandbox is always sent", () => {
    expect(normaliseContentType(undefined)).toBe("application/octet-stream");
    expect(normaliseContentType("text/html\r\nX-Evil: 1")).toBe("application/octet-stream");
    expect(normaliseContentType("nonsense")).toBe("application/octet-stream");
    expect(normaliseContentType("image/png")).toBe("image/png");
    const h = mediaHeaders({ contentType: "text/html", fileName: null, sha256: "ab", authenticated: true });
    expect(h).toMatchObject({
      "content-type": "text/html; charset=UTF-8",
      "content-disposition": "attachment",
      "x-content-type-options": "nosniff",
      "cross-origin-resource-policy": "cross-origin",
      "cache-control": "private, max-age=86400",
      etag: '"ab"',
    });
    expect(h["content-security-policy"]).toMatch(/^sandbox; default-src 'none'; script-src 'none';/);
    expect(
      mediaHeaders({ contentType: "image/png", fileName: null, sha256: "ab", authenticated: false }),
    ).toMatchObject({ "content-type": "image/png", "cache-control": "public, max-age=86400, s-maxage=86400" });
  });
});

describe("configuration", () => {
  const read = (raw: Record<string, unknown>, files?: string[]) =>
    validateConfig(
      { server_name: "hs", database: { name: "sqlite3", args: { database: "/data/gh/homeserver.db" } }, ...raw },
      new Map(),
      { readSecretFile: () => "", files },
    );

  it("Synapse's defaults and size syntax; media_store beside the SQLite database", () => {
    const { config, warnings } = read({});
    expect(warnings).toEqual([]);
    expect(config).toMatchObject({
      media_store_path: "/data/gh/media_store",
      max_upload_size: 50 * 1024 * 1024,
      enable_authenticated_media: true,
      max_pending_media_uploads: 5,
      unused_expiration_time: 86_400_000,
      media_upload_limits: [],
      rc_media_create: { per_second: 10, burst_count: 50 },
      dynamic_thumbnails: false,
      max_image_pixels: 32 * 1024 * 1024,
      url_preview_enabled: false,
    });
    expect(config.thumbnail_sizes).toHaveLength(5);
    const set = read({
      max_upload_size: "2G",
      media_store_path: "/srv/media",
      media_upload_limits: [
        { time_period: "1h", max_size: "100M" },
        { time_period: "1d", max_size: "500M" },
      ],
      unused_expiration_time: "1h",
    }).config;
    expect(set.max_upload_size).toBe(2 * 1024 ** 3);
    expect(set.media_store_path).toBe("/srv/media");
    expect(set.unused_expiration_time).toBe(3_600_000);
    // Longest period first.
    expect(set.media_upload_limits).toEqual([
      { time_period_ms: 86_400_000, max_bytes: 500 * 1024 ** 2 },
      { time_period_ms: 3_600_000, max_bytes: 100 * 1024 ** 2 },
    ]);
  });

  it("PostgreSQL: beside the last config file, or none without one", () => {
    const pg = { database: { name: "psycopg2", args: { database: "gh" } } };
    expect(read(pg, ["/etc/a.yaml", "/etc/gh/b.yaml"]).config.media_store_path).toBe("/etc/gh/media_store");
    expect(read(pg).config.media_store_path).toBeNull();
  });

  it("refuses bad values, each named", () => {
    expect(() => read({ max_upload_size: "50X" })).toThrow(/max_upload_size: must be a size/);
    expect(() => read({ media_upload_limits: [{ time_period: "1h" }] })).toThrow(/needs both time_period and max_size/);
    expect(() => read({ thumbnail_sizes: [{ width: 1, height: 1, method: "stretch" }] })).toThrow(/crop or scale/);
    expect(() => read({ url_preview_enabled: true })).toThrow(/url_preview_ip_range_blacklist: must be set/);
  });
});

forEachDatabase((kind) => {
  let db: Db;
  let stores: Stores;
  let ctx: MediaContext;
  let clock = 1_000_000;
  beforeAll(async () => {
    ({ db, stores } = await openAndMigrate({ database: (await createTestDatabase(kind)).config }));
    const { config } = validateConfig(
      { server_name: "hs", database: { name: "sqlite3", args: { database: join(tempDir(), "x.db") } } },
      new Map(),
      { readSecretFile: () => "" },
    );
    ctx = createMediaContext(
      createAccountsContext(config, stores, () => clock),
      config,
    );
  });
  afterAll(() => db.close());

  const upload = async (mediaId: string, body: string, authenticated = true) => {
    const staged = await ctx.storage.stage(Readable.from([body]), 1000);
    await commitBlob(ctx, stores, staged, () =>
      stores.localMedia.insert({
        mediaId,
        userId: "@a:hs",
        createdTs: clock,
        authenticated,
        mediaType: "text/plain",
        mediaLength: staged.size,
        uploadName: null,
        sha256: staged.sha256,
        quarantinedBy: null,
      }),
    );
    return staged.sha256;
  };

  it("serves local media with content; refuses others' servers, unknown, quarantined, legacy-authenticated", async () => {
    await upload("AAAA", "one");
    await upload("BBBB", "old", false);
    const found = await findServable(ctx, { serverName: "hs", mediaId: "AAAA", legacy: false });
    expect(await text((await openServable(ctx, found)).stream)).toBe("one");
    const notFound = { errcode: "M_NOT_FOUND", status: 404 };
    await expect(findServable(ctx, { serverName: "other", mediaId: "AAAA", legacy: false })).rejects.toMatchObject(
      notFound,
    );
    await expect(findServable(ctx, { serverName: "hs", mediaId: "nope", legacy: false })).rejects.toMatchObject(
      notFound,
    );
    await expect(findServable(ctx, { serverName: "hs", mediaId: "../x", legacy: false })).rejects.toMatchObject(
      notFound,
    );
    await expect(findServable(ctx, { serverName: "hs", mediaId: "AAAA", legacy: true })).rejects.toMatchObject(
      notFound,
    );
    expect((await findServable(ctx, { serverName: "hs", mediaId: "BBBB", legacy: true })).mediaLength).toBe(3);
    await stores.localMedia.setQuarantined("AAAA", "@admin:hs");
    await expect(findServable(ctx, { serverName: "hs", mediaId: "AAAA", legacy: false })).rejects.toMatchObject(
      notFound,
    );
  });

  it("a pending upload: 504 after timeout_ms, served once filled during the wait, 404 once expired", async () => {
    await stores.localMedia.insertPending({ mediaId: "PEND", userId: "@a:hs", createdTs: clock, authenticated: true });
    const started = performance.now();
    await expect(
      findServable(ctx, { serverName: "hs", mediaId: "PEND", legacy: false, timeoutMs: 300 }),
    ).rejects.toMatchObject({ errcode: "M_NOT_YET_UPLOADED", status: 504 });
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
    const waiting = findServable(ctx, { serverName: "hs", mediaId: "PEND", legacy: false, timeoutMs: 10_000 });
    const staged = await ctx.storage.stage(Readable.from(["late"]), 100);
    await commitBlob(ctx, stores, staged, () =>
      stores.localMedia.fill("PEND", {
        mediaType: "text/plain",
        mediaLength: 4,
        uploadName: null,
        sha256: staged.sha256,
        quarantinedBy: null,
      }),
    );
    expect((await waiting).mediaLength).toBe(4);
    await stores.localMedia.insertPending({ mediaId: "GONE", userId: "@a:hs", createdTs: clock, authenticated: true });
    clock += 86_400_001;
    await expect(
      findServable(ctx, { serverName: "hs", mediaId: "GONE", legacy: false, timeoutMs: 10_000 }),
    ).rejects.toMatchObject({ errcode: "M_NOT_FOUND" });
    expect(parseTimeoutMs(undefined)).toBe(20_000);
    expect(parseTimeoutMs("999999")).toBe(60_000);
    expect(() => parseTimeoutMs("-1")).toThrow(/timeout_ms/);
  });

  it("a shared file is deleted with the last row that names it", async () => {
    const h = await upload("S1", "shared");
    await upload("S2", "shared");
    await stores.localMedia.delete("S1");
    await releaseBlobs(ctx, stores, [h]);
    expect(await ctx.storage.exists(h)).toBe(true);
    await stores.localMedia.delete("S2");
    await releaseBlobs(ctx, stores, [h, null]);
    expect(await ctx.storage.exists(h)).toBe(false);
    // A row that cannot be written takes its new file with it.
    const staged = await ctx.storage.stage(Readable.from(["orphan"]), 100);
    await expect(
      commitBlob(ctx, stores, staged, async () => {
        throw new Error("insert failed");
      }),
    ).rejects.toThrow("insert failed");
    expect(await ctx.storage.exists(staged.sha256)).toBe(false);
  });
});
