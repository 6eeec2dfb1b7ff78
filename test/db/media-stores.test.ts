/**
 * The stores of migrations 0021 and 0025 on SQLite and PostgreSQL: media rows (uploaded and pending), the one-time
 * fill of a pending row, the pending count and upload sums behind the limits, quarantine, which rows still name a
 * file, and URL previews' cache.
 */
import { afterEach, beforeEach, expect, it } from "vitest";
import type { Db } from "../../src/db/database.js";
import type { Stores } from "../../src/db/stores.js";
import { openAndMigrate } from "../../src/server.js";
import { createTestDatabase, forEachDatabase } from "../helpers/databases.js";

const HASH_A = "a".repeat(64);
const HASH_B = "b".repeat(64);

forEachDatabase((kind) => {
  let db: Db;
  let stores: Stores;
  beforeEach(async () => {
    ({ db, stores } = await openAndMigrate({ database: (await createTestDatabase(kind)).config }));
  });
  afterEach(() => db.close());

  const content = (sha256: string, mediaLength: number) => ({
    mediaType: "image/png",
    mediaLength,
    uploadName: "cat.png",
    sha256,
    quarantinedBy: null,
  });

  it("stores an upload and reads it back; an unknown ID is null", async () => {
    const m = stores.localMedia;
    await m.insert({ mediaId: "m1", userId: "@a:hs", createdTs: 1000, authenticated: true, ...content(HASH_A, 12) });
    expect(await m.get("m1")).toEqual({
      mediaId: "m1",
      mediaType: "image/png",
      mediaLength: 12,
      createdTs: 1000,
      uploadName: "cat.png",
      userId: "@a:hs",
      quarantinedBy: null,
      lastAccessTs: null,
      safeFromQuarantine: false,
      authenticated: true,
      sha256: HASH_A,
    });
    expect(await m.get("nope")).toBeNull();
    await expect(
      m.insert({ mediaId: "m1", userId: "@b:hs", createdTs: 2, authenticated: false, ...content(HASH_B, 1) }),
    ).rejects.toThrow();
  });

  it("a pending media ID is filled once only, and counts as pending until then", async () => {
    const m = stores.localMedia;
    await m.insertPending({ mediaId: "p1", userId: "@a:hs", createdTs: 100, authenticated: true });
    await m.insertPending({ mediaId: "p2", userId: "@a:hs", createdTs: 200, authenticated: true });
    await m.insertPending({ mediaId: "p3", userId: "@b:hs", createdTs: 300, authenticated: false });
    const pending = await m.get("p1");
    expect(pending).toMatchObject({ mediaLength: null, mediaType: null, sha256: null, authenticated: true });
    expect(await m.countPending("@a:hs", 0)).toEqual({ count: 2, oldestCreatedTs: 100 });
    expect(await m.countPending("@a:hs", 150)).toEqual({ count: 1, oldestCreatedTs: 200 });
    expect(await m.countPending("@c:hs", 0)).toEqual({ count: 0, oldestCreatedTs: null });
    expect(await m.fill("p1", content(HASH_A, 5))).toBe(true);
    expect(await m.fill("p1", content(HASH_B, 6))).toBe(false);
    expect(await m.fill("nope", content(HASH_B, 6))).toBe(false);
    expect(await m.get("p1")).toMatchObject({ mediaLength: 5, sha256: HASH_A, mediaType: "image/png" });
    expect(await m.countPending("@a:hs", 0)).toEqual({ count: 1, oldestCreatedTs: 200 });
    expect(await m.expiredPending(250, 10)).toEqual(["p2"]);
    expect(await m.expiredPending(1000, 1)).toEqual(["p2"]);
    expect(await m.expiredPending(1000, 10)).toEqual(["p2", "p3"]);
  });

  it("sums a user's uploaded bytes after a time, pending ones counting nothing", async () => {
    const m = stores.localMedia;
    await m.insert({ mediaId: "a", userId: "@a:hs", createdTs: 10, authenticated: true, ...content(HASH_A, 100) });
    await m.insert({ mediaId: "b", userId: "@a:hs", createdTs: 20, authenticated: true, ...content(HASH_B, 50) });
    await m.insert({ mediaId: "c", userId: "@b:hs", createdTs: 20, authenticated: true, ...content(HASH_B, 7) });
    await m.insertPending({ mediaId: "d", userId: "@a:hs", createdTs: 30, authenticated: true });
    expect(await m.uploadedBytesSince("@a:hs", 0)).toBe(150);
    expect(await m.uploadedBytesSince("@a:hs", 10)).toBe(50);
    expect(await m.uploadedBytesSince("@a:hs", 20)).toBe(0);
    expect(await m.uploadedBytesSince("@z:hs", 0)).toBe(0);
  });

  it("knows whether a file is still named by a media or thumbnail row, and quarantine by hash", async () => {
    const m = stores.localMedia;
    const t = stores.mediaThumbnails;
    await m.insert({ mediaId: "a", userId: "@a:hs", createdTs: 1, authenticated: true, ...content(HASH_A, 1) });
    await m.insert({ mediaId: "b", userId: "@a:hs", createdTs: 2, authenticated: true, ...content(HASH_A, 1) });
    await t.insert({
      mediaId: "a",
      width: 32,
      height: 32,
      type: "image/png",
      method: "crop",
      length: 9,
      sha256: HASH_B,
    });
    // Made twice (two processes): the first is kept.
    await t.insert({
      mediaId: "a",
      width: 32,
      height: 32,
      type: "image/png",
      method: "crop",
      length: 1,
      sha256: HASH_A,
    });
    await t.insert({
      mediaId: "a",
      width: 96,
      height: 96,
      type: "image/png",
      method: "crop",
      length: 3,
      sha256: HASH_B,
    });
    expect((await t.forMedia("a")).map((x) => [x.width, x.length])).toEqual([
      [32, 9],
      [96, 3],
    ]);
    expect(await m.blobInUse(HASH_A)).toBe(true);
    expect(await m.delete("a")).toEqual({ sha256: HASH_A });
    expect(await m.delete("a")).toBeUndefined();
    expect(await m.blobInUse(HASH_A)).toBe(true);
    expect(await m.delete("b")).toEqual({ sha256: HASH_A });
    expect(await m.blobInUse(HASH_A)).toBe(false);
    expect(await m.blobInUse(HASH_B)).toBe(true);
    expect(await t.deleteForMedia("a")).toEqual([HASH_B, HASH_B]);
    expect(await m.blobInUse(HASH_B)).toBe(false);

    await m.insert({ mediaId: "q", userId: "@a:hs", createdTs: 3, authenticated: false, ...content(HASH_B, 1) });
    expect(await m.isHashQuarantined(HASH_B)).toBe(false);
    expect(await m.setQuarantined("q", "@admin:hs")).toBe(true);
    expect(await m.isHashQuarantined(HASH_B)).toBe(true);
    expect(await m.setQuarantined("nope", "@admin:hs")).toBe(false);
    expect(await m.setSafeFromQuarantine("q", true)).toBe(true);
    await m.markAccessed(["q"], 77);
    expect(await m.get("q")).toMatchObject({ quarantinedBy: "@admin:hs", safeFromQuarantine: true, lastAccessTs: 77 });
    await m.setQuarantined("q", null);
    expect(await m.isHashQuarantined(HASH_B)).toBe(false);
  });

  it("url cache (migration 0026): the preview as of a time, expiry in batches, and fetched media by age", async () => {
    const c = stores.urlCache;
    const row = (downloadTs: number, og: string) => ({
      url: "https://example.org/",
      responseCode: 200,
      etag: null,
      expiresTs: downloadTs + 100,
      og,
      mediaId: `f${downloadTs}`,
      downloadTs,
    });
    expect(await c.get("https://example.org/", 1000)).toBeNull();
    await c.insert(row(1000, '{"a":1}'));
    await c.insert(row(2000, '{"a":2}'));
    // The newest made at or before ts; before every preview, the first one.
    expect((await c.get("https://example.org/", 1500))?.og).toBe('{"a":1}');
    expect((await c.get("https://example.org/", 2500))?.og).toBe('{"a":2}');
    expect((await c.get("https://example.org/", 10))?.og).toBe('{"a":1}');
    expect(await c.get("https://example.org/other", 2500)).toBeNull();
    expect(await c.deleteExpired(1200, 10)).toBe(1);
    expect((await c.get("https://example.org/", 1500))?.og).toBe('{"a":2}');
    expect(await c.deleteExpired(5000, 10)).toBe(1);

    const m = stores.localMedia;
    await m.insert({ mediaId: "up", userId: "@a:hs", createdTs: 10, authenticated: true, ...content(HASH_A, 1) });
    await m.insert({
      mediaId: "fetched",
      userId: "@a:hs",
      createdTs: 10,
      authenticated: true,
      urlCache: "https://example.org/",
      ...content(HASH_B, 1),
    });
    expect(await c.fetchedMediaBefore(11, 10)).toEqual(["fetched"]);
    expect(await c.fetchedMediaBefore(10, 10)).toEqual([]);
  });
});
