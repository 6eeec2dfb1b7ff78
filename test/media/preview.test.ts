/**
 * URL previews over real HTTP on both databases, against a real HTTP server started by the test on 127.0.0.1:
 * Open Graph from a page and its fallbacks, `og:image` fetched and answered as an mxc URI that downloads, an image
 * URL previewed as itself, the cache (one fetch for two previews, `ts`, the purge), and every refusal: loopback
 * targets unless whitelisted (even with an empty blacklist, an IPv4-mapped address, a name resolving to loopback),
 * a redirect to a blocked address, the URL pattern blacklist, an oversized body (declared and streamed), a slow
 * body, an error status, a type not previewed, a redirect loop, previews switched off.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { registerUser, NO_LIMITS, type ClientUser } from "../api/sync-support.js";
import { purgeUrlCache } from "../../src/media/preview.js";
import { createTestDatabase, forEachDatabase } from "../helpers/databases.js";
import { startTestServer, testClock, type TestClock, type TestServer } from "../helpers/server.js";

const OPEN = {
  enable_registration: true,
  enable_registration_without_verification: true,
  ...NO_LIMITS,
};
const SPIDER_MAX = 64 * 1024;

interface Target {
  server: Server;
  /** The same pages on 127.0.0.2, reachable but not whitelisted: a refusal there is the policy's, not the OS's. */
  other: Server;
  base: string;
  otherBase: string;
  port: number;
  hits: Map<string, number>;
}

async function startTarget(png: Buffer): Promise<Target> {
  const hits = new Map<string, number>();
  let otherBase = "";
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? "/").split("?")[0]!;
    hits.set(path, (hits.get(path) ?? 0) + 1);
    const html = (body: string) => res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(body);
    switch (path) {
      case "/page.html":
        return html(
          `<html><head><title>Ignored title</title><meta property="og:title" content="The &amp; page">` +
            `<meta property="og:description" content="What it says"><meta property="og:image" content="/img.png">` +
            `<meta property="og:x" content="${"y".repeat(1500)}"></head><body><p>text</p></body></html>`,
        );
      case "/plain.html":
        return html(
          `<html><head><title> Plain  page </title><script>var x = "not text";</script></head><body>` +
            `<nav>Menu</nav><p>First paragraph of the page.</p><img src="tiny.gif"></body></html>`,
        );
      case "/bad-image.html":
        return html(
          `<html><head><meta property="og:title" content="T"><meta property="og:image" ` +
            `content="${otherBase}/img.png"></head></html>`,
        );
      case "/img.png":
        return res.writeHead(200, { "content-type": "image/png", "content-length": png.length }).end(png);
      case "/named.png":
        return res
          .writeHead(200, { "content-type": "image/png", "content-disposition": 'attachment; filename="cat.png"' })
          .end(png);
      case "/redirect-page":
        return res.writeHead(302, { location: "/page.html" }).end();
      case "/redirect-blocked":
        return res.writeHead(302, { location: `${otherBase}/` }).end();
      case "/loop":
        return res.writeHead(302, { location: "/loop" }).end();
      case "/big-declared":
        return res
          .writeHead(200, { "content-type": "text/html", "content-length": SPIDER_MAX + 1 })
          .end("x".repeat(SPIDER_MAX + 1));
      case "/big-streamed": {
        res.writeHead(200, { "content-type": "text/html" });
        for (let i = 0; i < 20; i++) res.write("x".repeat(8192));
        return res.end();
      }
      case "/slow":
        res.writeHead(200, { "content-type": "text/html" });
        res.write("<html>");
        // Never ends: the preview's time bound has to.
        return;
      case "/text":
        return res.writeHead(200, { "content-type": "text/plain" }).end("hello");
      case "/secret/page":
        return html("<title>secret</title>");
      default:
        return res.writeHead(404, { "content-type": "text/html" }).end("no");
    }
  };
  const server = createServer(handler);
  const other = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  await new Promise<void>((resolve) => other.listen(0, "127.0.0.2", resolve));
  const port = (server.address() as AddressInfo).port;
  otherBase = `http://127.0.0.2:${(other.address() as AddressInfo).port}`;
  return { server, other, base: `http://127.0.0.1:${port}`, otherBase, port, hits };
}

async function preview(
  t: TestServer,
  user: ClientUser,
  url: string,
  extra = "",
  path = "/_matrix/client/v1/media/preview_url",
): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${t.url}${path}?url=${encodeURIComponent(url)}${extra}`, {
    headers: { authorization: `Bearer ${user.token}` },
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

forEachDatabase((kind) => {
  let target: Target;
  let png: Buffer;
  let clock: TestClock;
  let t: TestServer;
  let strict: TestServer;
  let off: TestServer;
  let alice: ClientUser;
  let bob: ClientUser;
  let carol: ClientUser;

  beforeAll(async () => {
    png = await sharp({ create: { width: 40, height: 30, channels: 3, background: "#aa3300" } })
      .png()
      .toBuffer();
    target = await startTarget(png);
    clock = testClock();
    t = await startTestServer(
      await createTestDatabase(kind),
      {
        ...OPEN,
        url_preview_enabled: true,
        url_preview_ip_range_blacklist: ["127.0.0.0/8"],
        url_preview_ip_range_whitelist: ["127.0.0.1/32"],
        url_preview_url_blacklist: [{ path: "/secret/*" }],
        max_spider_size: SPIDER_MAX,
      },
      { clock },
    );
    t.server.media.previewTimeoutMs = 1500;
    // An empty blacklist still refuses loopback: the always-refused ranges do not depend on the operator's list.
    strict = await startTestServer(await createTestDatabase(kind), {
      ...OPEN,
      url_preview_enabled: true,
      url_preview_ip_range_blacklist: [],
    });
    off = await startTestServer(await createTestDatabase(kind), OPEN);
    alice = await registerUser(t.url, "alice");
    bob = await registerUser(strict.url, "bob");
    carol = await registerUser(off.url, "carol");
  }, 120_000);
  afterAll(async () => {
    await Promise.all([t.close(), strict.close(), off.close()]);
    for (const server of [target.server, target.other]) {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it("previews a page from its og: tags, its image fetched and answered as a downloadable mxc URI", async () => {
    const r = await preview(t, alice, `${target.base}/page.html`);
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    expect(r.json).toMatchObject({
      "og:title": "The & page",
      "og:description": "What it says",
      "og:image:type": "image/png",
      "og:image:width": 40,
      "og:image:height": 30,
      "matrix:image:size": png.length,
    });
    // Synapse drops overlong values.
    expect(r.json["og:x"]).toBeUndefined();
    const mxc = r.json["og:image"] as string;
    expect(mxc).toMatch(/^mxc:\/\/localhost\/\d{4}-\d{2}-\d{2}_[A-Za-z]{16}$/);
    const dl = await fetch(`${t.url}/_matrix/client/v1/media/download/localhost/${mxc.split("/").pop()}`, {
      headers: { authorization: `Bearer ${alice.token}` },
    });
    expect(dl.status).toBe(200);
    expect(Buffer.from(await dl.arrayBuffer()).equals(png)).toBe(true);
  });

  it("falls back to the title, the page's text and its first image; an unfetchable image is left out", async () => {
    const r = await preview(t, alice, `${target.base}/plain.html`);
    expect(r.status).toBe(200);
    expect(r.json["og:title"]).toBe("Plain page");
    expect(r.json["og:description"]).toBe("First paragraph of the page.");
    // tiny.gif is a 404 on the target: the preview stands without an image.
    expect(r.json["og:image"]).toBeUndefined();
    expect(target.hits.get("/tiny.gif")).toBe(1);
    const bad = await preview(t, alice, `${target.base}/bad-image.html`);
    expect(bad.status).toBe(200);
    expect(bad.json).toEqual({ "og:title": "T" });
  });

  it("previews an image URL as the image, through redirects, and on the legacy paths", async () => {
    const r = await preview(t, alice, `${target.base}/named.png`);
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({
      "og:description": "cat.png",
      "og:image:width": 40,
      "og:image:height": 30,
      "matrix:image:size": png.length,
    });
    const redirected = await preview(t, alice, `${target.base}/redirect-page`, "", "/_matrix/media/v3/preview_url");
    expect(redirected.status).toBe(200);
    expect(redirected.json["og:title"]).toBe("The & page");
  });

  it("answers again from the cache until it expires, honours ts, and the purge deletes rows and media", async () => {
    const url = `${target.base}/page.html?cache`;
    const first = await preview(t, alice, url);
    const hitsAfterFirst = target.hits.get("/page.html")!;
    const again = await preview(t, alice, url);
    expect(again.json).toEqual(first.json);
    expect(target.hits.get("/page.html")).toBe(hitsAfterFirst);
    // Asked as of two hours on, the preview made now has expired: fetched again.
    const later = await preview(t, alice, url, `&ts=${clock.now() + 2 * 3_600_000}`);
    expect(later.status).toBe(200);
    expect(target.hits.get("/page.html")).toBe(hitsAfterFirst + 1);
    const ctx = t.server.media;
    const mediaId = (first.json["og:image"] as string).split("/").pop()!;
    expect(await ctx.stores.localMedia.get(mediaId)).not.toBeNull();
    clock.advance(49 * 3_600_000);
    expect(await purgeUrlCache(ctx, 1000)).toBeGreaterThan(0);
    expect(await ctx.stores.urlCache.get(url, clock.now())).toBeNull();
    expect(await ctx.stores.localMedia.get(mediaId)).toBeNull();
    const bad = await preview(t, alice, url, "&ts=soon");
    expect(bad).toMatchObject({ status: 400, json: { errcode: "M_INVALID_PARAM" } });
  });

  it("refuses loopback targets unless whitelisted, whatever the operator's blacklist says", async () => {
    const port = target.port;
    const before = target.hits.get("/page.html") ?? 0;
    for (const url of [`http://127.0.0.1:${port}/page.html`, `http://[::ffff:127.0.0.1]:${port}/page.html`]) {
      const r = await preview(strict, bob, url);
      expect(r, url).toMatchObject({
        status: 403,
        json: { errcode: "M_UNKNOWN", error: "IP address blocked by IP blacklist entry" },
      });
    }
    // A name is refused when it resolves to a blocked address.
    const named = await preview(strict, bob, `http://localhost:${port}/page.html`);
    expect(named).toMatchObject({ status: 502, json: { errcode: "M_UNKNOWN" } });
    expect(target.hits.get("/page.html") ?? 0).toBe(before);
    // On the whitelisting server, another loopback address is still refused, before any connection.
    const other = await preview(t, alice, `${target.otherBase}/page.html`);
    expect(other.status).toBe(403);
    expect(target.hits.get("/page.html") ?? 0).toBe(before);
  });

  it("re-checks every redirect and refuses the URL blacklist, large and slow bodies, errors and other types", async () => {
    const hitsBefore = target.hits.get("/") ?? 0;
    const redirect = await preview(t, alice, `${target.base}/redirect-blocked`);
    expect(redirect).toMatchObject({ status: 403, json: { error: "IP address blocked by IP blacklist entry" } });
    expect(target.hits.get("/") ?? 0).toBe(hitsBefore);
    expect(await preview(t, alice, `${target.base}/secret/page`)).toMatchObject({
      status: 403,
      json: { errcode: "M_UNKNOWN", error: "URL blocked by url pattern blacklist entry" },
    });
    expect(target.hits.get("/secret/page")).toBeUndefined();
    for (const path of ["/big-declared", "/big-streamed"]) {
      expect(await preview(t, alice, `${target.base}${path}`), path).toMatchObject({
        status: 502,
        json: { errcode: "M_TOO_LARGE" },
      });
    }
    const started = performance.now();
    expect(await preview(t, alice, `${target.base}/slow`)).toMatchObject({
      status: 504,
      json: { errcode: "M_UNKNOWN" },
    });
    expect(performance.now() - started).toBeLessThan(15_000);
    expect(await preview(t, alice, `${target.base}/missing`)).toMatchObject({
      status: 502,
      json: { error: "Got error 404" },
    });
    expect((await preview(t, alice, `${target.base}/text`)).status).toBe(502);
    expect(await preview(t, alice, `${target.base}/loop`)).toMatchObject({
      status: 500,
      json: { errcode: "M_UNKNOWN" },
    });
    expect(await preview(t, alice, "file:///etc/passwd")).toMatchObject({
      status: 400,
      json: { errcode: "M_INVALID_PARAM" },
    });
    const missing = await fetch(`${t.url}/_matrix/client/v1/media/preview_url`, {
      headers: { authorization: `Bearer ${alice.token}` },
    });
    expect(missing.status).toBe(400);
    expect(((await missing.json()) as { errcode: string }).errcode).toBe("M_MISSING_PARAM");
    // Nothing half-written: the refused bodies left no media rows behind.
    const rows = await t.server.media.stores.mediaAdmin.idsForUser(alice.userId, 1000);
    for (const id of rows) expect((await t.server.media.stores.localMedia.get(id))?.mediaLength).not.toBeNull();
  }, 60_000);

  it("requires an access token, and is not served with url_preview_enabled off", async () => {
    const anon = await fetch(`${t.url}/_matrix/client/v1/media/preview_url?url=${encodeURIComponent(target.base)}`);
    expect(anon.status).toBe(401);
    const r = await preview(off, carol, `${target.base}/page.html`);
    expect(r).toMatchObject({ status: 404, json: { errcode: "M_UNRECOGNIZED" } });
  });
});

describe("url_preview_* configuration", () => {
  it("requires the IP blacklist when previews are on and refuses a range that does not parse", async () => {
    const { configFrom, rawConfigFor } = await import("../helpers/server.js");
    const db = await createTestDatabase("sqlite");
    expect(() => configFrom(rawConfigFor(db, { url_preview_enabled: true }))).toThrow(/url_preview_ip_range_blacklist/);
    expect(() =>
      configFrom(rawConfigFor(db, { url_preview_enabled: true, url_preview_ip_range_blacklist: ["10.0.0.0/33"] })),
    ).toThrow(/url_preview_ip_range_blacklist\[0\]/);
    expect(() =>
      configFrom(rawConfigFor(db, { url_preview_enabled: true, url_preview_ip_range_blacklist: ["10.0.0.0/8"] })),
    ).not.toThrow();
  });
});
