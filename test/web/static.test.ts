/**
 * How the server serves the built web pages (src/http/static.ts), over real HTTP: security headers, content types,
 * caching, the single-page fallback, the API paths that share the console's prefix, the `web` settings, listeners
 * without the `client` resource, and a tree whose web bundle was never built.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RateLimiter } from "../../src/accounts/ratelimit.js";
import { rateLimitBucketsStore } from "../../src/db/ratelimit-buckets.js";
import { validateConfig, ConfigError } from "../../src/config/validate.js";
import { buildHttpApp } from "../../src/http/server.js";
import { CONTENT_SECURITY_POLICY, findWebRoot, webRoutes } from "../../src/http/static.js";
import { createTestDatabase } from "../helpers/databases.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { closeAll } from "./support.js";

let server: TestServer;
let consoleOff: TestServer;

beforeAll(async () => {
  const [a, b] = await Promise.all([createTestDatabase("sqlite"), createTestDatabase("sqlite")]);
  [server, consoleOff] = await Promise.all([
    startTestServer(a, {
      listeners: [
        { port: 0, bind_addresses: ["127.0.0.1"], type: "http", resources: [{ names: ["client"] }] },
        { port: 0, bind_addresses: ["127.0.0.1"], type: "http", resources: [{ names: ["federation"] }] },
      ],
    }),
    startTestServer(b, { web: { console: false } }),
  ]);
});

afterAll(async () => {
  await closeAll(server, consoleOff);
});

const get = (base: string, path: string, init: RequestInit = {}) => fetch(base + path, { redirect: "manual", ...init });

describe("the web pages", () => {
  it("answer index.html with the security headers and no caching, for the page and any path below it", async () => {
    const page = await get(server.url, "/_gatehouse/admin/");
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(page.headers.get("cache-control")).toBe("no-cache");
    expect(page.headers.get("content-security-policy")).toBe(CONTENT_SECURITY_POLICY);
    expect(CONTENT_SECURITY_POLICY).toContain("default-src 'none'");
    expect(CONTENT_SECURITY_POLICY).not.toContain("unsafe");
    expect(page.headers.get("x-content-type-options")).toBe("nosniff");
    expect(page.headers.get("referrer-policy")).toBe("no-referrer");
    expect(page.headers.get("x-frame-options")).toBe("DENY");
    const html = await page.text();
    expect(html).toContain('<div id="root">');
    // No inline script: every script is a file from this server.
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);

    const deep = await get(server.url, `/_gatehouse/admin/users/${encodeURIComponent("@a:localhost")}`);
    expect(deep.status).toBe(200);
    expect(await deep.text()).toBe(html);

    const signup = await get(server.url, "/_gatehouse/register/?token=abc");
    expect(signup.status).toBe(200);
    expect(signup.headers.get("referrer-policy")).toBe("no-referrer");
    expect(await signup.text()).toContain("Create your Matrix account");

    const bare = await get(server.url, "/_gatehouse/admin");
    expect(bare.status).toBe(301);
    expect(bare.headers.get("location")).toBe("/_gatehouse/admin/");

    const head = await get(server.url, "/_gatehouse/register/", { method: "HEAD" });
    expect(head.status).toBe(200);
  });

  it("serve hashed assets with their content type and a year's cache, and nothing outside the asset folder", async () => {
    const html = await (await get(server.url, "/_gatehouse/admin/")).text();
    const assets = [...html.matchAll(/(?:src|href)="(\/_gatehouse\/assets\/[^"]+)"/g)].map((m) => m[1]!);
    expect(assets.some((a) => a.endsWith(".js"))).toBe(true);
    expect(assets.some((a) => a.endsWith(".css"))).toBe(true);
    for (const asset of assets) {
      const r = await get(server.url, asset);
      expect(r.status, asset).toBe(200);
      expect(r.headers.get("content-type")).toBe(
        asset.endsWith(".js") ? "text/javascript; charset=utf-8" : "text/css; charset=utf-8",
      );
      expect(r.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
      expect(r.headers.get("content-security-policy")).toBe(CONTENT_SECURITY_POLICY);
    }
    for (const path of [
      "/_gatehouse/assets/missing-abc.js",
      "/_gatehouse/assets/..%2Fadmin%2Findex.html",
      "/_gatehouse/assets/%2e%2e%2f%2e%2e%2fpackage.json",
    ]) {
      const r = await get(server.url, path);
      expect(r.status, path).toBe(404);
      expect(((await r.json()) as { errcode: string }).errcode).toBe("M_NOT_FOUND");
    }
  });

  it("leave the console's API paths to the API: a wrong one is a Matrix 404, never the page", async () => {
    const unknown = await get(server.url, "/_gatehouse/admin/v1/no-such-endpoint");
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ errcode: "M_UNRECOGNIZED", error: "Unrecognized request" });
    const api = await get(server.url, "/_gatehouse/admin/v1/server");
    expect(api.status).toBe(401);
    expect(((await api.json()) as { errcode: string }).errcode).toBe("M_MISSING_TOKEN");
  });

  it("are served only on listeners with the client resource", async () => {
    const federation = server.server.addresses.find((a) => a.listener.resources[0]!.names.includes("federation"))!;
    for (const path of ["/_gatehouse/admin/", "/_gatehouse/register/", "/_gatehouse/assets/x.js"]) {
      const r = await get(federation.url, path);
      expect(r.status, path).toBe(404);
      expect(((await r.json()) as { errcode: string }).errcode).toBe("M_UNRECOGNIZED");
    }
  });

  it("can be turned off one by one: web.console: false leaves the sign-up page and the admin API", async () => {
    const off = await get(consoleOff.url, "/_gatehouse/admin/");
    expect(off.status).toBe(404);
    expect(((await off.json()) as { errcode: string }).errcode).toBe("M_UNRECOGNIZED");
    expect((await get(consoleOff.url, "/_gatehouse/register/")).status).toBe(200);
    expect((await get(consoleOff.url, "/_gatehouse/admin/v1/server")).status).toBe(401);
  });

  it("answer a clear Matrix 404 when the web bundle was never built", async () => {
    expect(findWebRoot(["/nonexistent/gatehouse-web/"])).toBeNull();
    const app = buildHttpApp(
      {
        config: server.server.config,
        accounts: server.server.accounts,
        rooms: server.server.rooms,
        media: server.server.media,
        limiter: new RateLimiter(rateLimitBucketsStore(server.server.db)),
      },
      [webRoutes({ root: () => null })],
    );
    try {
      for (const url of ["/_gatehouse/admin/", "/_gatehouse/register/x", "/_gatehouse/assets/a-b.js"]) {
        const r = await app.inject({ method: "GET", url });
        expect(r.statusCode, url).toBe(404);
        expect(r.json()).toEqual({
          errcode: "M_NOT_FOUND",
          error: "This Gatehouse has no web pages: its web bundle (dist/web) is missing; run `npm run build`",
        });
      }
    } finally {
      await app.close();
    }
  });
});

describe("the web settings", () => {
  const validate = (web: unknown) =>
    validateConfig(
      { server_name: "localhost", database: { name: "sqlite3", args: { database: ":memory:" } }, web },
      new Map([["web", "homeserver.yaml"]]),
      { readSecretFile: () => "" },
    );

  it("default to both pages on", () => {
    expect(validate(undefined).config.web).toEqual({ console: true, signup: true });
    expect(validate({ signup: false }).config.web).toEqual({ console: true, signup: false });
  });

  it("refuse a value that is not true or false, and warn about unknown keys", () => {
    expect(() => validate({ console: "no" })).toThrow(ConfigError);
    expect(() => validate({ console: "no" })).toThrow("homeserver.yaml: web.console: must be true or false");
    expect(validate({ path: "/admin" }).warnings).toEqual([
      { file: "homeserver.yaml", key: "web.path", message: "unknown key, ignored" },
    ]);
  });
});
