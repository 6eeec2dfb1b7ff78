/**
 * Uploads and downloads over real HTTP on both databases: the round trip on v1 and the legacy paths, the headers
 * that keep HTML and SVG from running, names with path tricks, ranges and ETags, over-limit uploads (declared and
 * streamed), an upload cut off mid-body, async uploads with their limits and expiry, and the per-user quota. Every
 * JSON answer is checked against the spec's OpenAPI.
 */
import { readdirSync, statSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { flushAccess } from "../../src/media/access.js";
import { FilesystemStorage } from "../../src/media/fs-storage.js";
import { forEachDatabase } from "../helpers/databases.js";
import { expectSpecResponse } from "../helpers/openapi.js";
import { startTestServer, testClock, type TestServer } from "../helpers/server.js";
import { createTestDatabase } from "../helpers/databases.js";
import { NO_LIMITS, registerUser, type ClientUser } from "../api/sync-support.js";

const LIMIT = 1024 * 1024;

interface Answer {
  status: number;
  headers: Headers;
  bytes: Buffer;
  json: Record<string, unknown>;
}

forEachDatabase((kind) => {
  let server: TestServer;
  let alice: ClientUser;
  let bob: ClientUser;
  let root: string;
  const clock = testClock();

  beforeAll(async () => {
    server = await startTestServer(
      await createTestDatabase(kind),
      {
        enable_registration: true,
        enable_registration_without_verification: true,
        ...NO_LIMITS,
        max_upload_size: "1M",
        rc_media_create: { per_second: 1000, burst_count: 1000 },
        media_upload_limits: [{ time_period: "1h", max_size: "1500K" }],
      },
      { clock },
    );
    alice = await registerUser(server.url, "alice");
    bob = await registerUser(server.url, "bob");
    const storage = server.server.media.storage;
    if (!(storage instanceof FilesystemStorage)) throw new Error("the test server stores media on the filesystem");
    root = storage.root;
  }, 60_000);
  afterAll(() => server.close());

  async function http(
    method: string,
    path: string,
    options: { token?: string; body?: Buffer | string; headers?: Record<string, string> } = {},
  ): Promise<Answer> {
    const headers: Record<string, string> = { ...options.headers };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    const r = await fetch(server.url + path, { method, headers, body: options.body });
    const bytes = Buffer.from(await r.arrayBuffer());
    let json: Record<string, unknown> = {};
    if (r.headers.get("content-type")?.startsWith("application/json")) {
      json = JSON.parse(bytes.toString()) as Record<string, unknown>;
      // The spec's OpenAPI describes v3 only; r0 is the same operation.
      await expectSpecResponse(method, path.replace("/_matrix/media/r0/", "/_matrix/media/v3/"), r.status, json);
    }
    return { status: r.status, headers: r.headers, bytes, json };
  }

  async function upload(user: ClientUser, body: Buffer | string, type?: string, filename?: string): Promise<string> {
    const q = filename === undefined ? "" : `?filename=${encodeURIComponent(filename)}`;
    const r = await http("POST", `/_matrix/media/v3/upload${q}`, {
      token: user.token,
      body,
      headers: type ? { "content-type": type } : {},
    });
    expect(r.status, r.bytes.toString()).toBe(200);
    return r.json.content_uri as string;
  }

  const idOf = (mxc: string) => mxc.replace(/^mxc:\/\/[^/]+\//, "");
  const v1 = (mxc: string, suffix = "") => `/_matrix/client/v1/media/download/${mxc.slice(6)}${suffix}`;
  const v3 = (mxc: string, suffix = "") => `/_matrix/media/v3/download/${mxc.slice(6)}${suffix}`;

  /** Every stored file (content/ and tmp/). */
  function storedFiles(): string[] {
    return readdirSync(root, { recursive: true, encoding: "utf8" }).filter((p) => statSync(join(root, p)).isFile());
  }

  async function mediaRows(): Promise<number> {
    const rows = await server.server.db.kysely.selectFrom("local_media_repository").select("media_id").execute();
    return rows.length;
  }

  it("uploads and downloads on v1; the legacy path refuses media uploaded under authenticated media", async () => {
    const png = Buffer.from("\x89PNG\r\n\x1a\nnot really a png");
    const mxc = await upload(alice, png, "image/png", "cat.png");
    expect(mxc).toMatch(new RegExp(`^mxc://${server.server.config.server_name}/[A-Za-z]{24}$`));
    const r = await http("GET", v1(mxc), { token: bob.token });
    expect(r.status).toBe(200);
    expect(r.bytes.equals(png)).toBe(true);
    expect(r.headers.get("content-type")).toBe("image/png");
    expect(r.headers.get("content-disposition")).toBe("inline; filename=cat.png");
    expect(r.headers.get("content-security-policy")).toMatch(/^sandbox;/);
    expect(r.headers.get("x-content-type-options")).toBe("nosniff");
    expect(r.headers.get("cross-origin-resource-policy")).toBe("cross-origin");
    expect(r.headers.get("access-control-allow-origin")).toBe("*");
    expect(r.headers.get("content-length")).toBe(String(png.length));
    expect((await http("GET", v1(mxc))).json.errcode).toBe("M_MISSING_TOKEN");
    expect((await http("GET", v3(mxc))).json.errcode).toBe("M_NOT_FOUND");
    const renamed = await http("GET", v1(mxc, "/other.png"), { token: bob.token });
    expect(renamed.headers.get("content-disposition")).toBe("inline; filename=other.png");
    // r0 upload, the same content: one file.
    const before = storedFiles().length;
    const r0 = await http("POST", "/_matrix/media/r0/upload", { token: bob.token, body: png });
    expect(r0.status).toBe(200);
    expect(storedFiles().length).toBe(before);
    expect(
      (await http("GET", v1(r0.json.content_uri as string), { token: alice.token })).headers.get("content-type"),
    ).toBe("application/octet-stream");
    const unknown = await http("GET", `/_matrix/client/v1/media/download/${server.server.config.server_name}/nope`, {
      token: bob.token,
    });
    expect(unknown.status).toBe(404);
    const remote = await http("GET", "/_matrix/client/v1/media/download/elsewhere.example/abc", { token: bob.token });
    expect(remote.json.errcode).toBe("M_NOT_FOUND");
  });

  it("HTML and SVG are attachments; a file name with path tricks is only a name", async () => {
    const html = await upload(alice, "<script>alert(1)</script>", "text/html", "x.html");
    const r = await http("GET", v1(html), { token: bob.token });
    expect(r.headers.get("content-type")).toBe("text/html; charset=UTF-8");
    expect(r.headers.get("content-disposition")).toBe("attachment; filename=x.html");
    const svg = await upload(alice, "<svg onload='alert(1)'/>", "image/svg+xml");
    expect((await http("GET", v1(svg), { token: bob.token })).headers.get("content-disposition")).toBe("attachment");
    const trick = await http("GET", v1(html, "/..%2F..%2Fetc%2Fpasswd"), { token: bob.token });
    expect(trick.status).toBe(200);
    expect(trick.bytes.toString()).toBe("<script>alert(1)</script>");
    expect(trick.headers.get("content-disposition")).toBe("attachment; filename*=utf-8''..%2F..%2Fetc%2Fpasswd");
    // A lying type is served as what it claims, never sniffed; a malformed one as octet-stream.
    const lying = await upload(alice, "<html><script>alert(1)</script>", "image/png");
    const lied = await http("GET", v1(lying), { token: bob.token });
    expect(lied.headers.get("content-type")).toBe("image/png");
    expect(lied.headers.get("x-content-type-options")).toBe("nosniff");
    const malformed = await upload(alice, "<html>", "not a type");
    expect((await http("GET", v1(malformed), { token: bob.token })).headers.get("content-type")).toBe(
      "application/octet-stream",
    );
  });

  it("ranges, HEAD and ETags", async () => {
    const mxc = await upload(alice, "0123456789", "text/plain");
    const part = await http("GET", v1(mxc), { token: bob.token, headers: { range: "bytes=2-4" } });
    expect(part.status).toBe(206);
    expect(part.bytes.toString()).toBe("234");
    expect(part.headers.get("content-range")).toBe("bytes 2-4/10");
    const tail = await http("GET", v1(mxc), { token: bob.token, headers: { range: "bytes=-3" } });
    expect(tail.bytes.toString()).toBe("789");
    const beyond = await http("GET", v1(mxc), { token: bob.token, headers: { range: "bytes=10-" } });
    expect(beyond.status).toBe(416);
    expect(beyond.headers.get("content-range")).toBe("bytes */10");
    const head = await http("HEAD", v1(mxc), { token: bob.token });
    expect(head.status).toBe(200);
    expect(head.headers.get("content-length")).toBe("10");
    const etag = head.headers.get("etag")!;
    expect((await http("GET", v1(mxc), { token: bob.token, headers: { "if-none-match": etag } })).status).toBe(304);
  });

  it("over the limit: 413 on the declared length, and on a streamed body without one; nothing is left", async () => {
    const rows = await mediaRows();
    const files = storedFiles().length;
    const declared = await http("POST", "/_matrix/media/v3/upload", {
      token: alice.token,
      body: Buffer.alloc(LIMIT + 1),
    });
    expect(declared.status).toBe(413);
    expect(declared.json.errcode).toBe("M_TOO_LARGE");
    const chunk = Buffer.alloc(256 * 1024, 1);
    const streamed = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest(`${server.url}/_matrix/media/v3/upload`, {
        method: "POST",
        headers: { authorization: `Bearer ${alice.token}`, "transfer-encoding": "chunked" },
      });
      req.on("response", (res) => {
        let body = "";
        res.on("data", (d: Buffer) => (body += d.toString()));
        res.on("end", () => resolve({ status: res.statusCode!, body }));
      });
      req.on("error", reject);
      let sent = 0;
      const more = () => {
        while (sent < 8) {
          sent++;
          if (!req.write(chunk)) return void req.once("drain", more);
        }
        req.end();
      };
      more();
    });
    expect(streamed.status).toBe(413);
    expect(JSON.parse(streamed.body)).toMatchObject({ errcode: "M_TOO_LARGE" });
    expect(await mediaRows()).toBe(rows);
    expect(storedFiles().length).toBe(files);
  });

  it("an upload cut off mid-body leaves no file and no row", async () => {
    const rows = await mediaRows();
    const files = storedFiles();
    await new Promise<void>((resolve) => {
      const req = httpRequest(`${server.url}/_matrix/media/v3/upload`, {
        method: "POST",
        headers: { authorization: `Bearer ${alice.token}`, "content-length": String(900_000) },
      });
      req.on("error", () => resolve());
      req.write(Buffer.alloc(300_000, 7), () => {
        setTimeout(() => {
          req.destroy();
          resolve();
        }, 200);
      });
    });
    // The server notices the close and cleans up on its own time.
    for (let i = 0; i < 50 && storedFiles().length !== files.length; i++) await new Promise((r) => setTimeout(r, 100));
    expect(storedFiles()).toEqual(files);
    expect(await mediaRows()).toBe(rows);
  });

  it("async uploads: create, 504 while waiting, only the creator, only once, expiry, the pending limit", async () => {
    const created = await http("POST", "/_matrix/media/v1/create", { token: alice.token });
    expect(created.status).toBe(200);
    const mxc = created.json.content_uri as string;
    expect(created.json.unused_expires_at).toBeGreaterThan(clock.now());
    const waiting = await http("GET", v1(mxc, "?timeout_ms=100"), { token: bob.token });
    expect(waiting.status).toBe(504);
    expect(waiting.json.errcode).toBe("M_NOT_YET_UPLOADED");
    const put = (user: ClientUser, body: string) =>
      http("PUT", `/_matrix/media/v3/upload/${mxc.slice(6)}`, {
        token: user.token,
        body,
        headers: { "content-type": "text/plain" },
      });
    expect((await put(bob, "mine")).status).toBe(403);
    expect((await put(alice, "hello")).status).toBe(200);
    const again = await put(alice, "again");
    expect(again.status).toBe(409);
    expect(again.json.errcode).toBe("M_CANNOT_OVERWRITE_MEDIA");
    expect((await http("GET", v1(mxc), { token: bob.token })).bytes.toString()).toBe("hello");
    expect(storedFiles().some((f) => f.startsWith("tmp"))).toBe(false);

    // Five waiting at once (Synapse's default); a sixth is refused until they expire.
    const pending: string[] = [];
    for (let i = 0; i < 5; i++) {
      pending.push((await http("POST", "/_matrix/media/v1/create", { token: bob.token })).json.content_uri as string);
    }
    const sixth = await http("POST", "/_matrix/media/v1/create", { token: bob.token });
    expect(sixth.status).toBe(429);
    expect(sixth.json.errcode).toBe("M_LIMIT_EXCEEDED");
    clock.advance(24 * 3_600_000 + 1000);
    const expired = await http("PUT", `/_matrix/media/v3/upload/${pending[0]!.slice(6)}`, {
      token: bob.token,
      body: "late",
    });
    expect(expired.status).toBe(404);
    expect((await http("GET", v1(pending[1]!, "?timeout_ms=0"), { token: bob.token })).status).toBe(404);
    expect((await http("POST", "/_matrix/media/v1/create", { token: bob.token })).status).toBe(200);
    expect(idOf(mxc)).toHaveLength(24);
  });

  it("the per-user quota (media_upload_limits): 400 M_RESOURCE_LIMIT_EXCEEDED, the refused bytes not kept", async () => {
    const carol = await registerUser(server.url, "carol");
    await upload(carol, Buffer.alloc(900 * 1024, 3));
    const files = storedFiles().length;
    const over = await http("POST", "/_matrix/media/v3/upload", {
      token: carol.token,
      body: Buffer.alloc(700 * 1024, 4),
    });
    expect(over.status).toBe(400);
    expect(over.json.errcode).toBe("M_RESOURCE_LIMIT_EXCEEDED");
    expect(storedFiles().length).toBe(files);
    await upload(carol, Buffer.alloc(500 * 1024, 5));
    clock.advance(3_600_000 + 1000);
    await upload(carol, Buffer.alloc(900 * 1024, 6));
  });

  it("last_access_ts: downloads are noted in memory and written together, not once per request", async () => {
    const mxc = await upload(alice, "read me", "text/plain");
    const ctx = server.server.media;
    await flushAccess(ctx);
    const accessTs = async () => (await ctx.stores.localMedia.get(idOf(mxc)))!.lastAccessTs;
    expect(await accessTs()).toBeNull();
    for (let i = 0; i < 3; i++) expect((await http("GET", v1(mxc), { token: bob.token })).status).toBe(200);
    // Not written yet: three reads are one ID waiting for the next flush.
    expect(await accessTs()).toBeNull();
    expect(ctx.accessed.has(idOf(mxc))).toBe(true);
    const before = clock.now();
    expect(await flushAccess(ctx)).toBe(1);
    expect(await accessTs()).toBeGreaterThanOrEqual(before);
    // A refused read (unknown media) notes nothing.
    await http("GET", v1("mxc://localhost/NoSuchMediaHere"), { token: bob.token });
    expect(ctx.accessed.size).toBe(0);
  });

  it("the config endpoints answer max_upload_size", async () => {
    const r = await http("GET", "/_matrix/client/v1/media/config", { token: alice.token });
    expect(r.json).toEqual({ "m.upload.size": LIMIT });
  });
});
