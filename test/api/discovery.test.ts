/**
 * What a client reads before and right after logging in: `.well-known/matrix/client`, the OAuth 2.0 metadata probe
 * (absent: the Matrix login API is the way in) and `/capabilities`. Storage plays no part, so SQLite only.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call } from "../helpers/http.js";
import type { TestServer } from "../helpers/server.js";
import { registerUser, startAccountServer } from "./account-support.js";
import { expectMatrixError } from "./support.js";

const WELL_KNOWN = "/.well-known/matrix/client";

describe("GET /.well-known/matrix/client", () => {
  it("is 404 M_NOT_FOUND without public_baseurl", async () => {
    const server = await startAccountServer("sqlite");
    try {
      const r = await call(server.url, "GET", WELL_KNOWN);
      expectMatrixError(r, 404, "M_NOT_FOUND", ".well-known not available");
      expect(r.headers.get("access-control-allow-origin")).toBe("*");
    } finally {
      await server.close();
    }
  });

  it("names public_baseurl as the homeserver, with CORS so web clients can read it", async () => {
    const server = await startAccountServer("sqlite", { public_baseurl: "https://matrix.example.org" });
    try {
      const r = await call(server.url, "GET", WELL_KNOWN);
      expect(r.status).toBe(200);
      expect(r.headers.get("content-type")).toMatch(/^application\/json/);
      expect(r.headers.get("access-control-allow-origin")).toBe("*");
      expect(r.body).toEqual({ "m.homeserver": { base_url: "https://matrix.example.org/" } });
      // Served without a token, and a token changes nothing.
      const a = await registerUser(server.url, "wanda", "pw");
      expect((await call(server.url, "GET", WELL_KNOWN, { token: a.token })).body).toEqual(r.body);
    } finally {
      await server.close();
    }
  });
});

describe("server on defaults", () => {
  let server: TestServer;
  let token: string;
  beforeAll(async () => {
    server = await startAccountServer("sqlite");
    token = (await registerUser(server.url, "carl", "pw")).token;
  });
  afterAll(() => server.close());

  describe("auth_metadata (OAuth 2.0 server metadata)", () => {
    for (const path of [
      "/_matrix/client/v1/auth_metadata",
      "/_matrix/client/unstable/org.matrix.msc2965/auth_metadata",
    ]) {
      it(`${path} is 404 M_UNRECOGNIZED, for every method`, async () => {
        for (const method of ["GET", "POST", "PUT", "DELETE"]) {
          const r = await call(server.url, method, path, method === "GET" ? {} : { json: {} });
          expectMatrixError(r, 404, "M_UNRECOGNIZED", "Unrecognized request");
        }
        const preflight = await call(server.url, "OPTIONS", path);
        expect(preflight.status).toBe(204);
      });
    }
  });

  describe("GET /capabilities", () => {
    it("reports what this server lets a user do", async () => {
      const r = await call(server.url, "GET", "/_matrix/client/v3/capabilities", { token });
      expect(r.status, r.text).toBe(200);
      expect(r.body).toEqual({
        capabilities: {
          "m.change_password": { enabled: true },
          "m.room_versions": {
            // The versions rooms can be created in; Synapse's default.
            default: "11",
            available: { "10": "stable", "11": "stable" },
          },
          "m.set_displayname": { enabled: true },
          "m.set_avatar_url": { enabled: true },
          "m.3pid_changes": { enabled: false },
          "m.get_login_token": { enabled: false },
        },
      });
      for (const v of ["r0", "unstable"]) {
        expect((await call(server.url, "GET", `/_matrix/client/${v}/capabilities`, { token })).body).toEqual(r.body);
      }
    });

    it("needs an access token", async () => {
      expectMatrixError(
        await call(server.url, "GET", "/_matrix/client/v3/capabilities"),
        401,
        "M_MISSING_TOKEN",
        "Missing access token",
      );
    });
  });
});

describe("GET /capabilities with other settings", () => {
  it("m.get_login_token follows login_via_existing_session; m.change_password follows password_config", async () => {
    const server = await startAccountServer("sqlite", {
      login_via_existing_session: { enabled: true },
      password_config: { localdb_enabled: false },
    });
    try {
      const { token } = await registerUser(server.url, "dina", "pw");
      const r = await call(server.url, "GET", "/_matrix/client/v3/capabilities", { token });
      expect(r.body).toMatchObject({
        capabilities: { "m.get_login_token": { enabled: true }, "m.change_password": { enabled: false } },
      });
    } finally {
      await server.close();
    }
  });
});
