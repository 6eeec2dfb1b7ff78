/**
 * The validating proxy itself, in front of a scripted upstream: requests and responses pass unchanged, off-spec
 * JSON is reported (and only that), long answers are not cut short, and a client that hangs up is hung up on
 * upstream too.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startValidatingProxy, type ValidatingProxy } from "../helpers/validating-proxy.js";
import { sleep } from "./support.js";

type Handler = (req: IncomingMessage, body: Buffer, res: ServerResponse) => void;

describe("validating proxy", () => {
  let upstream: Server;
  let handler: Handler;
  let proxy: ValidatingProxy;
  /** Resolves when the upstream sees the client side of its current request go away. */
  let upstreamClosed: Promise<void>;

  beforeAll(async () => {
    upstream = createServer((req, res) => {
      upstreamClosed = new Promise((resolve) => res.on("close", () => resolve()));
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => handler(req, Buffer.concat(chunks), res));
    });
    await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
    proxy = await startValidatingProxy(`http://127.0.0.1:${(upstream.address() as AddressInfo).port}`);
  });
  afterAll(async () => {
    await (proxy as ValidatingProxy | undefined)?.close();
    upstream.closeAllConnections();
    await new Promise((resolve) => upstream.close(resolve));
  });
  beforeEach(async () => {
    await proxy.settled();
    proxy.mismatches.length = 0;
    proxy.excused.length = 0;
  });

  const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { "content-type": "application/json", ...headers });
    res.end(JSON.stringify(body));
  };

  it("forwards method, path, query, headers and body unchanged, and the response back unchanged", async () => {
    handler = (req, body, res) =>
      json(
        res,
        201,
        { method: req.method, url: req.url, headers: req.headers, body: body.toString("utf8") },
        { "x-upstream": "yes" },
      );
    const payload = JSON.stringify({ text: "héllo ❄", n: [1, 2, 3] });
    const r = await fetch(`${proxy.url}/_synapse/echo/a%20b?x=1&access_token=abc`, {
      method: "PUT",
      headers: { "content-type": "application/json", authorization: "Bearer t0k", "x-test": "1" },
      body: payload,
    });
    expect(r.status).toBe(201);
    expect(r.headers.get("x-upstream")).toBe("yes");
    const echo = (await r.json()) as { method: string; url: string; headers: Record<string, string>; body: string };
    expect(echo.method).toBe("PUT");
    expect(echo.url).toBe("/_synapse/echo/a%20b?x=1&access_token=abc");
    expect(echo.body).toBe(payload);
    expect(echo.headers).toMatchObject({
      "content-type": "application/json",
      authorization: "Bearer t0k",
      "x-test": "1",
      host: new URL(proxy.url).host,
    });
    await proxy.settled();
    expect(proxy.mismatches).toEqual([]);
    expect(proxy.requests.at(-1)).toMatchObject({ method: "PUT", path: "/_synapse/echo/a%20b", status: 201 });
  });

  it("reports a JSON body that does not fit the spec, and still hands it to the client as it was", async () => {
    const text = '{"device_id":"ABC"}';
    handler = (_req, _body, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(text);
    };
    const r = await fetch(`${proxy.url}/_matrix/client/r0/account/whoami?access_token=x`);
    expect(await r.text()).toBe(text);
    await proxy.settled();
    expect(proxy.mismatches).toHaveLength(1);
    expect(proxy.mismatches[0]).toContain("GET /_matrix/client/r0/account/whoami → 200");
    expect(proxy.mismatches[0]).toContain("user_id");
  });

  it("reports paths the spec does not know, non-JSON errors and broken JSON", async () => {
    handler = (req, _body, res) => {
      if (req.url!.startsWith("/_matrix/client/v3/no_such_endpoint")) {
        json(res, 200, {});
      } else if (req.url === "/_matrix/client/v3/capabilities") {
        res.writeHead(500, { "content-type": "text/plain" });
        res.end("oops");
      } else {
        res.writeHead(200, { "content-type": "application/json" });
        res.end("{not json");
      }
    };
    await (await fetch(`${proxy.url}/_matrix/client/v3/no_such_endpoint`)).text();
    await (await fetch(`${proxy.url}/_matrix/client/v3/capabilities`)).text();
    await (await fetch(`${proxy.url}/_matrix/client/versions`)).text();
    await proxy.settled();
    expect(proxy.mismatches).toHaveLength(3);
    expect(proxy.mismatches[0]).toContain("no operation in the Matrix spec");
    expect(proxy.mismatches[1]).toContain("error response is not JSON");
    expect(proxy.mismatches[2]).toContain("not valid JSON");
  });

  it("accepts an M_UNRECOGNIZED 404 for an unknown path, and spec-conformant answers", async () => {
    handler = (req, _body, res) => {
      if (req.url === "/_matrix/client/v3/account/whoami") json(res, 200, { user_id: "@a:localhost" });
      else json(res, 404, { errcode: "M_UNRECOGNIZED", error: "Unrecognized request" });
    };
    await (await fetch(`${proxy.url}/_matrix/client/v3/account/whoami`)).text();
    await (await fetch(`${proxy.url}/_matrix/client/v3/not_a_thing`)).text();
    await proxy.settled();
    expect(proxy.mismatches).toEqual([]);
  });

  it("excuses only the exact body of a listed spec gap (voip/turnServer's {})", async () => {
    let body: unknown = {};
    handler = (_req, _b, res) => json(res, 200, body);
    await (await fetch(`${proxy.url}/_matrix/client/v3/voip/turnServer`)).text();
    body = { uris: [] };
    await (await fetch(`${proxy.url}/_matrix/client/v3/voip/turnServer`)).text();
    await proxy.settled();
    expect(proxy.excused).toHaveLength(1);
    expect(proxy.mismatches).toHaveLength(1);
    expect(proxy.mismatches[0]).toContain("username");
  });

  it("lets a slow answer (a long-poll) through", async () => {
    handler = (_req, _body, res) => void sleep(3000).then(() => json(res, 200, { user_id: "@slow:localhost" }));
    const t0 = performance.now();
    const r = await fetch(`${proxy.url}/_matrix/client/v3/account/whoami`);
    expect(await r.json()).toEqual({ user_id: "@slow:localhost" });
    expect(performance.now() - t0).toBeGreaterThanOrEqual(2900);
  });

  it("hangs up upstream when the client hangs up", async () => {
    // The upstream never answers; it only notes that the request reached it.
    const arrived = new Promise<void>((resolve) => (handler = () => resolve()));
    const abort = new AbortController();
    const pending = fetch(`${proxy.url}/_matrix/client/v3/sync?timeout=30000`, { signal: abort.signal }).catch(
      (e: unknown) => e,
    );
    await arrived;
    abort.abort();
    expect(await pending).toBeInstanceOf(Error);
    const closed = await Promise.race([upstreamClosed.then(() => true), sleep(5000).then(() => false)]);
    expect(closed).toBe(true);
    await proxy.settled();
    expect(proxy.mismatches).toEqual([]);
  });
});
