/**
 * `GET /account/whoami` and the access-token rules every authenticated endpoint shares (spec "Conventions"), over
 * real HTTP on SQLite and PostgreSQL. Duplicate Authorization headers need node:http: fetch merges them.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, forEachDatabase } from "../helpers/databases.js";
import { call } from "../helpers/http.js";
import { registerShared } from "../helpers/register.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { expectMatrixError, rawRequest } from "./support.js";

const VERSIONS = ["r0", "v3", "unstable"] as const;
const path = (v: string) => `/_matrix/client/${v}/account/whoami`;

forEachDatabase((kind) => {
  let server: TestServer;
  let token: string;
  let deviceId: string;
  let other: { token: string; deviceId: string };

  beforeAll(async () => {
    server = await startTestServer(await createTestDatabase(kind));
    const r = await registerShared(server.url, { username: "Gonzo", password: "pw" });
    expect(r.status, r.text).toBe(200);
    token = r.body.access_token as string;
    deviceId = r.body.device_id as string;
    const o = await registerShared(server.url, {
      username: "rizzo",
      password: "pw",
      extra: { device_id: "RATDEVICE" },
    });
    expect(o.status, o.text).toBe(200);
    other = { token: o.body.access_token as string, deviceId: o.body.device_id as string };
  });
  afterAll(() => server.close());

  describe.each(VERSIONS)("/_matrix/client/%s/account/whoami", (v) => {
    it("accepts an Authorization: Bearer header", async () => {
      const r = await call(server.url, "GET", path(v), { token });
      expect(r.status).toBe(200);
      expect(r.body).toEqual({ user_id: "@gonzo:localhost", is_guest: false, device_id: deviceId });
    });

    it("accepts ?access_token=", async () => {
      const r = await call(server.url, "GET", `${path(v)}?access_token=${encodeURIComponent(token)}`);
      expect(r.status).toBe(200);
      expect(r.body).toEqual({ user_id: "@gonzo:localhost", is_guest: false, device_id: deviceId });
    });

    it("tells users apart by their token", async () => {
      const r = await call(server.url, "GET", `${path(v)}?access_token=${encodeURIComponent(other.token)}`);
      expect(r.body).toEqual({ user_id: "@rizzo:localhost", is_guest: false, device_id: "RATDEVICE" });
    });

    it("both at once is 401 M_MISSING_TOKEN, even when they agree", async () => {
      const r = await call(server.url, "GET", `${path(v)}?access_token=${encodeURIComponent(token)}`, { token });
      expectMatrixError(r, 401, "M_MISSING_TOKEN", "Mixing Authorization headers and access_token query parameters.");
    });

    it("missing is 401 M_MISSING_TOKEN", async () => {
      expectMatrixError(await call(server.url, "GET", path(v)), 401, "M_MISSING_TOKEN", "Missing access token");
    });

    it("an unknown token is 401 M_UNKNOWN_TOKEN with soft_logout false, by header or query", async () => {
      const unknown = "syt_Z29uem8_abcdefghijklmnopqrst_0AAAAA";
      const viaHeader = await call(server.url, "GET", path(v), { token: unknown });
      expectMatrixError(viaHeader, 401, "M_UNKNOWN_TOKEN", "Unrecognised access token", { soft_logout: false });
      const viaQuery = await call(server.url, "GET", `${path(v)}?access_token=${unknown}`);
      expectMatrixError(viaQuery, 401, "M_UNKNOWN_TOKEN", "Unrecognised access token", { soft_logout: false });
      // A valid token with one character changed is unknown, not a prefix match.
      const tweaked = token.slice(0, -1) + (token.endsWith("A") ? "B" : "A");
      const r = await call(server.url, "GET", path(v), { token: tweaked });
      expectMatrixError(r, 401, "M_UNKNOWN_TOKEN", "Unrecognised access token", { soft_logout: false });
    });
  });

  it("is not served under api/v1 (Synapse registers whoami without v1)", async () => {
    const r = await call(server.url, "GET", "/_matrix/client/api/v1/account/whoami", { token });
    expectMatrixError(r, 404, "M_UNRECOGNIZED", "Unrecognized request");
  });

  it("two Authorization headers are 401 'Too many Authorization headers.', even when both are valid", async () => {
    for (const values of [
      [`Bearer ${token}`, `Bearer ${token}`],
      [`Bearer ${token}`, `Bearer ${other.token}`],
      ["Bearer nope", "Bearer nada"],
    ]) {
      const r = await rawRequest({ base: server.url, path: path("v3"), headers: { Authorization: values } });
      expectMatrixError(r, 401, "M_MISSING_TOKEN", "Too many Authorization headers.");
    }
  });

  it("duplicate headers with a query token are 'Mixing ...' (the query check comes first)", async () => {
    const r = await rawRequest({
      base: server.url,
      path: `${path("v3")}?access_token=${encodeURIComponent(token)}`,
      headers: { Authorization: [`Bearer ${token}`, `Bearer ${token}`] },
    });
    expectMatrixError(r, 401, "M_MISSING_TOKEN", "Mixing Authorization headers and access_token query parameters.");
  });

  it("an Authorization header that is not exactly 'Bearer <token>' is 'Invalid Authorization header.'", async () => {
    for (const value of [
      token,
      `bearer ${token}`,
      `BEARER ${token}`,
      `Basic ${Buffer.from("gonzo:pw").toString("base64")}`,
      "Bearer",
      `Bearer  ${token}`,
      `Bearer ${token} extra`,
      `Token ${token}`,
    ]) {
      const r = await rawRequest({ base: server.url, path: path("v3"), headers: { authorization: value } });
      expect({ value, status: r.status, body: r.json }).toEqual({
        value,
        status: 401,
        body: { errcode: "M_MISSING_TOKEN", error: "Invalid Authorization header." },
      });
    }
  });

  it("a malformed header together with a query token is 'Mixing ...' (the query check comes first)", async () => {
    const r = await call(server.url, "GET", `${path("v3")}?access_token=${encodeURIComponent(token)}`, {
      headers: { authorization: "Basic abc" },
    });
    expectMatrixError(r, 401, "M_MISSING_TOKEN", "Mixing Authorization headers and access_token query parameters.");
  });

  it("the first of several access_token query parameters is the one used", async () => {
    const r = await call(
      server.url,
      "GET",
      `${path("v3")}?access_token=${encodeURIComponent(other.token)}&access_token=${encodeURIComponent(token)}`,
    );
    expect(r.status).toBe(200);
    expect(r.body.user_id).toBe("@rizzo:localhost");
  });
});
