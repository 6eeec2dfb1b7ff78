/**
 * The HTTP layer itself, over real HTTP: discovery endpoints, 404/405, body handling and limits, CORS, listener
 * resources, compression, UNIX sockets, X-Forwarded-For, and the promise that no stack trace reaches a client.
 */
import { spawn } from "node:child_process";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import type { IncomingHttpHeaders } from "node:http";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { computeRegistrationMac } from "../../src/accounts/registration-mac.js";
import type { Db } from "../../src/db/database.js";
import { startServer, type RunningServer } from "../../src/server.js";
import { createTestDatabase, DATABASE_KINDS, tempDir, type TestDatabase } from "../helpers/databases.js";
import { call } from "../helpers/http.js";
import { getNonce, registerShared } from "../helpers/register.js";
import {
  configFrom,
  rawConfigFor,
  SHARED_SECRET,
  spawnServer,
  startTestServer,
  writeConfigFile,
  type ServerProcess,
} from "../helpers/server.js";
import { countUsers, expectMatrixError, openTestDb, rawRequest, waitFor } from "./support.js";

const REGISTER = "/_synapse/admin/v1/register";
const WHOAMI = "/_matrix/client/v3/account/whoami";
const VERSION = (
  JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }
).version;
const BODY_LIMIT = 2048;

const header = (h: Headers | IncomingHttpHeaders, name: string): string | null => {
  if (h instanceof Headers) return h.get(name);
  const v = h[name];
  return v === undefined ? null : Array.isArray(v) ? v.join(", ") : v;
};

function expectCors(h: Headers | IncomingHttpHeaders): void {
  expect(header(h, "access-control-allow-origin")).toBe("*");
  const methods = (header(h, "access-control-allow-methods") ?? "").split(/\s*,\s*/);
  expect(methods).toEqual(expect.arrayContaining(["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS"]));
  const allowed = (header(h, "access-control-allow-headers") ?? "").toLowerCase().split(/\s*,\s*/);
  expect(allowed).toEqual(expect.arrayContaining(["authorization", "content-type", "x-requested-with"]));
}

/** A complete registration body, as JSON text. */
async function registrationJson(base: string, username: string, extra: Record<string, unknown> = {}): Promise<string> {
  const nonce = await getNonce(base);
  const mac = computeRegistrationMac(SHARED_SECRET, nonce, username, "pw", false, null);
  return JSON.stringify({ nonce, username, password: "pw", mac, ...extra });
}

describe("one server, several listeners (SQLite)", () => {
  let db: TestDatabase;
  let running: RunningServer;
  let conn: Db;
  let plain: string;
  let compressed: string;
  let federationOnly: string;
  let unix: string;
  const socketPath = join(tempDir("gh-sock-"), "gatehouse.sock");

  beforeAll(async () => {
    db = await createTestDatabase("sqlite");
    const tcp = (extra: Record<string, unknown>) => ({
      port: 0,
      bind_addresses: ["127.0.0.1"],
      type: "http",
      ...extra,
    });
    running = await startServer(
      configFrom(
        rawConfigFor(db, {
          max_request_body_size: BODY_LIMIT,
          listeners: [
            tcp({ resources: [{ names: ["client"] }] }),
            tcp({ resources: [{ names: ["client"], compress: true }] }),
            tcp({ resources: [{ names: ["federation"] }] }),
            { path: socketPath, mode: "0666", type: "http", resources: [{ names: ["client"] }] },
          ],
        }),
      ),
      () => {},
    );
    [plain, compressed, federationOnly, unix] = running.addresses.map((a) => a.url) as [string, string, string, string];
    conn = openTestDb(db);
  });
  afterAll(async () => {
    await running.close();
    await conn.close();
  });

  describe("discovery", () => {
    it("GET /_matrix/client/versions lists the spec versions, without authentication", async () => {
      const r = await call<{ versions: unknown[]; unstable_features: Record<string, unknown> }>(
        plain,
        "GET",
        "/_matrix/client/versions",
      );
      expect(r.status).toBe(200);
      expect(r.headers.get("content-type")).toMatch(/^application\/json/);
      expect(Object.keys(r.body).sort()).toEqual(["unstable_features", "versions"]);
      for (const v of r.body.versions) expect(v).toMatch(/^(r0\.\d+\.\d+|v1\.\d+)$/);
      expect(new Set(r.body.versions).size).toBe(r.body.versions.length);
      // The versions clients key on: r0.x for old clients, v1.1 onwards for new ones.
      expect(r.body.versions).toEqual(expect.arrayContaining(["r0.0.1", "r0.5.0", "r0.6.1", "v1.1", "v1.2", "v1.5"]));
      expect(typeof r.body.unstable_features).toBe("object");
      expect(Array.isArray(r.body.unstable_features)).toBe(false);
      for (const value of Object.values(r.body.unstable_features)) expect(typeof value).toBe("boolean");
    });

    it("GET /_synapse/admin/v1/server_version needs no authentication and names Gatehouse", async () => {
      const r = await call(plain, "GET", "/_synapse/admin/v1/server_version");
      expect(r.status).toBe(200);
      expect(r.body).toEqual({ server_version: `Gatehouse ${VERSION}` });
      const withBogusToken = await call(plain, "GET", "/_synapse/admin/v1/server_version", { token: "bogus" });
      expect(withBogusToken.status).toBe(200);
      expect(withBogusToken.body).toEqual({ server_version: `Gatehouse ${VERSION}` });
    });
  });

  describe("routing", () => {
    it("an unknown path is 404 M_UNRECOGNIZED", async () => {
      for (const [method, path] of [
        ["GET", "/_matrix/client/v3/nonexistent"],
        ["GET", "/_matrix/client/v4/account/whoami"],
        ["GET", "/_synapse/admin/v1/nonexistent"],
        ["GET", "/_matrix/client/versions/"],
        ["GET", "/"],
        ["POST", "/_matrix/client/v3/nonexistent"],
        ["DELETE", "/nothing/here"],
      ] as const) {
        const r = await call(plain, method, path, method === "POST" ? { json: {} } : {});
        expect({ path, status: r.status, body: r.body }).toEqual({
          path,
          status: 404,
          body: { errcode: "M_UNRECOGNIZED", error: "Unrecognized request" },
        });
      }
    });

    it("a known path with the wrong method is 405 M_UNRECOGNIZED", async () => {
      for (const [method, path] of [
        ["DELETE", REGISTER],
        ["PUT", REGISTER],
        ["PATCH", REGISTER],
        ["POST", "/_matrix/client/versions"],
        ["DELETE", "/_matrix/client/versions"],
        ["POST", WHOAMI],
        ["PUT", "/_matrix/client/r0/account/whoami"],
        ["POST", "/_synapse/admin/v1/server_version"],
        // Paths with parameters (encoded Matrix IDs) and a query string are matched as their routes would match them.
        ["POST", "/_matrix/client/v3/profile/%40someone%3Alocalhost/displayname"],
        ["DELETE", "/_matrix/client/v3/rooms/!abc:localhost/members?membership=join"],
        ["HEAD", "/_matrix/client/v3/logout"],
      ] as const) {
        const r = await call(plain, method, path, method === "HEAD" ? {} : { json: {} });
        expect({ method, path, status: r.status, body: r.body }).toEqual({
          method,
          path,
          status: 405,
          body: method === "HEAD" ? undefined : { errcode: "M_UNRECOGNIZED", error: "Unrecognized request" },
        });
      }
    });

    it("a URL that cannot be decoded gets a Matrix error body (with CORS headers), not the framework's", async () => {
      for (const path of ["/_matrix/client/%E0%A4%A", "/%", "/_synapse/admin/v1/%zz"]) {
        const r = await rawRequest({ base: plain, path });
        expect({ path, status: r.status, body: r.json }).toEqual({
          path,
          status: 404,
          body: { errcode: "M_UNRECOGNIZED", error: "Unrecognized request" },
        });
        expectCors(r.headers);
      }
    });
  });

  describe("request bodies", () => {
    it("JSON is read whatever the Content-Type says, or without one", async () => {
      const before = await countUsers(conn);
      const types = [
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/octet-stream",
        "multipart/form-data",
      ];
      for (const [i, type] of types.entries()) {
        const r = await call(plain, "POST", REGISTER, {
          body: await registrationJson(plain, `typed${i}`),
          headers: { "content-type": type },
        });
        expect({ type, status: r.status, user: r.body.user_id }).toEqual({
          type,
          status: 200,
          user: `@typed${i}:localhost`,
        });
      }
      const bare = await rawRequest({
        base: plain,
        method: "POST",
        path: REGISTER,
        body: await registrationJson(plain, "bare"),
      });
      expect(bare.headers["content-type"]).toMatch(/^application\/json/);
      expect(bare.status).toBe(200);
      expect((bare.json as Record<string, unknown>).user_id).toBe("@bare:localhost");
      expect(await countUsers(conn)).toBe(before + types.length + 1);
    });

    it("a body that is not valid UTF-8 is 400 M_NOT_JSON, not read with replacement characters", async () => {
      // A JSON object whose string holds a lone 0xff byte.
      const body = Buffer.concat([Buffer.from('{"username":"bad'), Buffer.from([0xff]), Buffer.from('"}')]);
      const r = await rawRequest({ base: plain, method: "POST", path: REGISTER, body });
      expect([r.status, r.json]).toEqual([400, { errcode: "M_NOT_JSON", error: "Content not JSON." }]);
    });

    it("every JSON response is application/json without a charset, as Synapse sends it", async () => {
      const answers = [
        await rawRequest({ base: plain, path: "/_matrix/client/versions" }),
        await rawRequest({ base: plain, path: "/_matrix/client/v3/nope" }),
        await rawRequest({ base: plain, method: "POST", path: REGISTER, body: "{}" }),
        await rawRequest({ base: plain, method: "POST", path: REGISTER, body: "not json" }),
        await rawRequest({ base: plain, path: "/_matrix/client/v3/account/whoami" }),
        await rawRequest({ base: plain, method: "PATCH", path: "/_matrix/client/versions" }),
        await rawRequest({ base: plain, path: "/_matrix/client/v3/profile/%ZZ" }),
      ];
      expect(answers.map((r) => [r.status, r.headers["content-type"]])).toEqual([
        [200, "application/json"],
        [404, "application/json"],
        [400, "application/json"],
        [400, "application/json"],
        [401, "application/json"],
        [405, "application/json"],
        [404, "application/json"],
      ]);
    });

    /** A JSON object of exactly `size` bytes with no nonce in it. */
    const padded = (size: number) => {
      const shell = JSON.stringify({ pad: "" });
      return JSON.stringify({ pad: "x".repeat(size - shell.length) });
    };

    it(`a body of exactly max_request_body_size (${BODY_LIMIT}) is read`, async () => {
      const body = padded(BODY_LIMIT);
      expect(Buffer.byteLength(body)).toBe(BODY_LIMIT);
      const r = await call(plain, "POST", REGISTER, { body, headers: { "content-type": "application/json" } });
      expectMatrixError(r, 400, "M_BAD_JSON", "nonce must be specified");
    });

    it("a larger body is 413 M_TOO_LARGE, with or without a Content-Length", async () => {
      const before = await countUsers(conn);
      const r = await call(plain, "POST", REGISTER, {
        body: padded(BODY_LIMIT + 1),
        headers: { "content-type": "application/json" },
      });
      expectMatrixError(r, 413, "M_TOO_LARGE", "Request body too large");
      expectCors(r.headers);
      const chunked = await rawRequest({
        base: plain,
        method: "POST",
        path: REGISTER,
        body: padded(5 * BODY_LIMIT),
        chunked: true,
        headers: { "content-type": "application/json" },
      });
      expectMatrixError(chunked, 413, "M_TOO_LARGE", "Request body too large");
      // Even a valid registration is refused when it is too big.
      const big = await call(plain, "POST", REGISTER, {
        body: await registrationJson(plain, "toobig", { displayname: "y".repeat(BODY_LIMIT) }),
      });
      expectMatrixError(big, 413, "M_TOO_LARGE", "Request body too large");
      expect(await countUsers(conn)).toBe(before);
    });
  });

  describe("CORS", () => {
    it("is on successful responses", async () => {
      expectCors((await call(plain, "GET", "/_matrix/client/versions")).headers);
      expectCors((await call(plain, "GET", REGISTER)).headers);
    });

    it("is on error responses: 400, 401, 403, 404, 405", async () => {
      const cases: Array<[number, Promise<{ status: number; headers: Headers }>]> = [
        [400, call(plain, "POST", REGISTER, { body: "not json" })],
        [401, call(plain, "GET", WHOAMI)],
        [401, call(plain, "GET", WHOAMI, { token: "unknown" })],
        [
          403,
          call(plain, "POST", REGISTER, { body: await registrationJson(plain, "corsmac", { mac: "0".repeat(40) }) }),
        ],
        [404, call(plain, "GET", "/_matrix/client/v3/nonexistent")],
        [405, call(plain, "POST", "/_matrix/client/versions", { json: {} })],
      ];
      for (const [status, pending] of cases) {
        const r = await pending;
        expect(r.status).toBe(status);
        expectCors(r.headers);
      }
    });

    it("OPTIONS on any path is a 204 preflight answer", async () => {
      for (const path of [
        WHOAMI,
        REGISTER,
        "/_matrix/client/versions",
        "/_matrix/client/v3/nonexistent",
        "/anything/at/all",
        "/",
      ]) {
        const r = await rawRequest({
          base: plain,
          method: "OPTIONS",
          path,
          headers: {
            origin: "https://app.element.io",
            "access-control-request-method": "POST",
            "access-control-request-headers": "authorization, content-type",
          },
        });
        expect({ path, status: r.status, body: r.text }).toEqual({ path, status: 204, body: "" });
        expectCors(r.headers);
      }
    });
  });

  describe("listener resources", () => {
    it("a listener without the client resource serves 404 for client and admin paths", async () => {
      const reg = await registerShared(plain, { username: "resourceful", password: "pw" });
      expect(reg.status).toBe(200);
      const token = reg.body.access_token as string;
      const before = await countUsers(conn);
      const nonce = await getNonce(plain);
      for (const [method, path, opts] of [
        ["GET", "/_matrix/client/versions", {}],
        ["GET", WHOAMI, { token }],
        ["GET", "/_synapse/admin/v1/server_version", {}],
        ["GET", REGISTER, {}],
        [
          "POST",
          REGISTER,
          {
            json: {
              nonce,
              username: "sneaky",
              password: "pw",
              mac: computeRegistrationMac(SHARED_SECRET, nonce, "sneaky", "pw", false, null),
            },
          },
        ],
        ["POST", "/_matrix/client/versions", { json: {} }],
      ] as const) {
        const r = await call(federationOnly, method, path, opts);
        expect({ method, path, status: r.status, body: r.body }).toEqual({
          method,
          path,
          status: 404,
          body: { errcode: "M_UNRECOGNIZED", error: "Unrecognized request" },
        });
        expectCors(r.headers);
      }
      expect(await countUsers(conn)).toBe(before);
      // The same requests on the client listener work (the nonce was not spent above).
      expect((await call(plain, "GET", WHOAMI, { token })).status).toBe(200);
      const ok = await call(plain, "POST", REGISTER, {
        json: {
          nonce,
          username: "sneaky",
          password: "pw",
          mac: computeRegistrationMac(SHARED_SECRET, nonce, "sneaky", "pw", false, null),
        },
      });
      expect(ok.status).toBe(200);
    });
  });

  describe("compression", () => {
    let token: string;
    let expected: Record<string, unknown>;
    beforeAll(async () => {
      // A 500-character device ID makes the whoami response larger than the 512 bytes compression starts at.
      const deviceId = "D".repeat(500);
      const reg = await registerShared(plain, {
        username: "bigdevice",
        password: "pw",
        extra: { device_id: deviceId },
      });
      expect(reg.status, reg.text).toBe(200);
      token = reg.body.access_token as string;
      expected = { user_id: "@bigdevice:localhost", is_guest: false, device_id: deviceId };
      expect(JSON.stringify(expected).length).toBeGreaterThan(512);
    });
    const whoami = (base: string, acceptEncoding?: string) =>
      rawRequest({
        base,
        path: WHOAMI,
        headers: { authorization: `Bearer ${token}`, ...(acceptEncoding ? { "accept-encoding": acceptEncoding } : {}) },
      });

    it("compress: true gzips a large response for a client that accepts gzip", async () => {
      const r = await whoami(compressed, "gzip, deflate");
      expect(r.status).toBe(200);
      expect(r.headers["content-encoding"]).toBe("gzip");
      expect(r.headers["vary"]).toMatch(/accept-encoding/i);
      const inflated = gunzipSync(r.raw);
      expect(JSON.parse(inflated.toString("utf8"))).toEqual(expected);
      expect(r.raw.length).toBeLessThan(inflated.length);
      if (r.headers["content-length"] !== undefined) expect(Number(r.headers["content-length"])).toBe(r.raw.length);
      expectCors(r.headers);
    });

    it("gzips through a zlib stream, off the event loop: the body is chunked, never compressed in one call", async () => {
      // A one-call gzip (the synchronous path) knows the size and sends Content-Length; a stream cannot.
      const r = await whoami(compressed, "gzip");
      expect(r.headers["content-encoding"]).toBe("gzip");
      expect(r.headers["transfer-encoding"]).toBe("chunked");
      expect(r.headers["content-length"]).toBeUndefined();
      expect(JSON.parse(gunzipSync(r.raw).toString("utf8"))).toEqual(expected);
    });

    it("does not gzip for a client that does not accept it", async () => {
      for (const accept of [undefined, "identity", "deflate, br", "gzip;q=0, deflate"]) {
        const r = await whoami(compressed, accept);
        expect(r.headers["content-encoding"]).toBeUndefined();
        expect(r.json).toEqual(expected);
      }
    });

    it("does not gzip small responses", async () => {
      const r = await rawRequest({
        base: compressed,
        path: "/_synapse/admin/v1/server_version",
        headers: { "accept-encoding": "gzip" },
      });
      expect(r.headers["content-encoding"]).toBeUndefined();
      expect(r.json).toEqual({ server_version: `Gatehouse ${VERSION}` });
    });

    it("does not gzip on a listener without compress", async () => {
      const r = await whoami(plain, "gzip");
      expect(r.headers["content-encoding"]).toBeUndefined();
      expect(r.json).toEqual(expected);
    });
  });

  describe("UNIX socket listener", () => {
    it("listens on the path with the configured file mode", () => {
      expect(unix).toBe(`unix:${socketPath}`);
      const st = statSync(socketPath);
      expect(st.isSocket()).toBe(true);
      expect((st.mode & 0o777).toString(8)).toBe("666");
    });

    it("serves the client API: versions, registration and whoami", async () => {
      const versions = await rawRequest({ base: unix, path: "/_matrix/client/versions" });
      expect(versions.status).toBe(200);
      expect((versions.json as { versions: string[] }).versions).toContain("v1.1");
      const nonce = await rawRequest({ base: unix, path: REGISTER });
      expect(nonce.status).toBe(200);
      const n = (nonce.json as { nonce: string }).nonce;
      const reg = await rawRequest({
        base: unix,
        method: "POST",
        path: REGISTER,
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          nonce: n,
          username: "socketeer",
          password: "pw",
          mac: computeRegistrationMac(SHARED_SECRET, n, "socketeer", "pw", false, null),
        }),
      });
      expect(reg.status, reg.text).toBe(200);
      const body = reg.json as { user_id: string; access_token: string; device_id: string };
      expect(body.user_id).toBe("@socketeer:localhost");
      const who = await rawRequest({
        base: unix,
        path: WHOAMI,
        headers: { authorization: `Bearer ${body.access_token}` },
      });
      expect(who.json).toEqual({ user_id: "@socketeer:localhost", is_guest: false, device_id: body.device_id });
      // The same account is visible over TCP: one application behind every listener.
      const overTcp = await call(plain, "GET", WHOAMI, { token: body.access_token });
      expect(overTcp.body.user_id).toBe("@socketeer:localhost");
    });
  });
});

describe("UNIX socket listener details (SQLite)", () => {
  it("reads a YAML-style numeric mode (660) as octal, and removes the socket on close", async () => {
    const path = join(tempDir("gh-sock-"), "g.sock");
    const s = await startServer(
      configFrom(
        rawConfigFor(await createTestDatabase("sqlite"), {
          listeners: [{ path, mode: 660, resources: [{ names: ["client"] }] }],
        }),
      ),
      () => {},
    );
    try {
      expect((statSync(path).mode & 0o777).toString(8)).toBe("660");
      expect((await rawRequest({ base: `unix:${path}`, path: "/_matrix/client/versions" })).status).toBe(200);
    } finally {
      await s.close();
    }
    expect(existsSync(path)).toBe(false);
  });

  it("replaces a stale socket left by a crashed process, but never a regular file", async () => {
    const dir = tempDir("gh-sock-");
    const stale = join(dir, "stale.sock");
    // A process that binds the socket and dies without cleaning up.
    await new Promise<void>((resolve, reject) => {
      const p = spawn(process.execPath, [
        "-e",
        `require("net").createServer().listen(${JSON.stringify(stale)}, () => process.kill(process.pid, "SIGKILL"))`,
      ]);
      p.on("error", reject);
      p.on("exit", () => resolve());
    });
    expect(statSync(stale).isSocket()).toBe(true);
    const db = await createTestDatabase("sqlite");
    const s = await startServer(
      configFrom(rawConfigFor(db, { listeners: [{ path: stale, resources: [{ names: ["client"] }] }] })),
      () => {},
    );
    try {
      expect((await rawRequest({ base: `unix:${stale}`, path: "/_matrix/client/versions" })).status).toBe(200);
    } finally {
      await s.close();
    }

    const file = join(dir, "not-a-socket");
    writeFileSync(file, "precious");
    await expect(
      startServer(
        configFrom(rawConfigFor(db, { listeners: [{ path: file, resources: [{ names: ["client"] }] }] })),
        () => {},
      ),
    ).rejects.toThrow();
    expect(readFileSync(file, "utf8")).toBe("precious");
  });
});

describe("x_forwarded listener (child process, SQLite)", () => {
  let proc: ServerProcess;
  const started: ServerProcess[] = [];
  let xf: string;
  let direct: string;
  beforeAll(async () => {
    const db = await createTestDatabase("sqlite");
    const listener = (x_forwarded: boolean) => ({
      port: 0,
      bind_addresses: ["127.0.0.1"],
      type: "http",
      x_forwarded,
      resources: [{ names: ["client"] }],
    });
    proc = await spawnServer([
      "-c",
      writeConfigFile(rawConfigFor(db, { log_level: "info", listeners: [listener(true), listener(false)] })),
    ]);
    started.push(proc);
    // spawnServer returns on the first address; the banner line names both.
    const m = await waitFor(
      () => / on (.+)\n/.exec(proc.stdout()),
      (found) => found !== null,
    );
    [xf, direct] = m![1]!.split(", ") as [string, string];
    expect(xf).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(direct).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(direct).not.toBe(xf);
  });
  afterAll(async () => {
    for (const p of started) expect(await p.stop()).toBe(0);
  });

  const logged = async (probe: string) => {
    const lines = await waitFor(
      () =>
        proc
          .stdout()
          .split("\n")
          .filter((l) => l.includes(`"url":"/_matrix/client/versions?probe=${probe}"`)),
      (l) => l.length > 0,
    );
    expect(lines, `no log line for probe=${probe}:\n${proc.stdout()}`).toHaveLength(1);
    return JSON.parse(lines[0]!) as { ip: string; url: string; status: number };
  };

  it("takes the client address from X-Forwarded-For on an x_forwarded listener only", async () => {
    const xff = { "x-forwarded-for": "203.0.113.7, 10.0.0.1" };
    expect((await call(xf, "GET", "/_matrix/client/versions?probe=xf", { headers: xff })).status).toBe(200);
    expect((await call(direct, "GET", "/_matrix/client/versions?probe=direct", { headers: xff })).status).toBe(200);
    expect((await call(xf, "GET", "/_matrix/client/versions?probe=xfnone")).status).toBe(200);
    expect(await logged("xf")).toMatchObject({ ip: "203.0.113.7", status: 200 });
    expect(await logged("direct")).toMatchObject({ ip: "127.0.0.1", status: 200 });
    expect(await logged("xfnone")).toMatchObject({ ip: "127.0.0.1", status: 200 });
  });
});

describe.each(DATABASE_KINDS)("no stack traces (%s)", (kind) => {
  it("an internal error is 500 M_UNKNOWN 'Internal server error' and nothing more", async () => {
    const server = await startTestServer(await createTestDatabase(kind), { log_level: "silent" });
    try {
      const reg = await registerShared(server.url, { username: "doomed", password: "pw" });
      expect(reg.status).toBe(200);
      // Pull the database out from under the running server.
      await server.server.db.close();
      const probes = [
        call(server.url, "GET", WHOAMI, { token: reg.body.access_token as string }),
        call(server.url, "GET", REGISTER),
        call(server.url, "POST", REGISTER, {
          json: { nonce: "0".repeat(128), username: "x", password: "y", mac: "z" },
        }),
      ];
      for (const r of await Promise.all(probes)) {
        expect(r.status).toBe(500);
        expect(r.body).toEqual({ errcode: "M_UNKNOWN", error: "Internal server error" });
        expect(r.text).not.toMatch(/stack|\bat \S+:\d+|\.ts\b|\.js\b|destroyed|kysely|sqlite|postgres/i);
        expectCors(r.headers);
      }
      // Requests that do not touch the database still work.
      expect((await call(server.url, "GET", "/_matrix/client/versions")).status).toBe(200);
    } finally {
      await server.close();
    }
  });
});

describe("a listener without bind_addresses (SQLite)", () => {
  it('binds Synapse\'s default ["::", "0.0.0.0"], skipping 0.0.0.0 where "::" is dual-stack, and answers on IPv4', async () => {
    const db = await createTestDatabase("sqlite");
    const warnings: string[] = [];
    const running = await startServer(
      configFrom(rawConfigFor(db, { listeners: [{ port: 0, type: "http", resources: [{ names: ["client"] }] }] })),
      (m) => warnings.push(m),
    );
    try {
      const urls = running.addresses.map((a) => a.url);
      expect(urls.length).toBeGreaterThanOrEqual(1);
      const port = new URL(urls[0]!).port;
      const r = await call(`http://127.0.0.1:${port}`, "GET", "/_matrix/client/versions");
      expect(r.status).toBe(200);
      // Either both binds worked (IPv6-only "::"), or the second was skipped with a warning, not a failure.
      if (urls.length === 1) expect(warnings.join("\n")).toMatch(/0\.0\.0\.0.*EADDRINUSE|IPv6 is not available/);
    } finally {
      await running.close();
    }
  });
});
