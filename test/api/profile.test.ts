/**
 * Profiles (`/profile/{userId}`, `/displayname`, `/avatar_url`) over real HTTP on SQLite and PostgreSQL: reading
 * without a token, user IDs raw or percent-encoded, setting one's own fields and every refusal.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { forEachDatabase } from "../helpers/databases.js";
import { call } from "../helpers/http.js";
import { registerShared } from "../helpers/register.js";
import type { TestServer } from "../helpers/server.js";
import { registerUser, startAccountServer, type Session } from "./account-support.js";
import { expectMatrixError } from "./support.js";

const V3 = "/_matrix/client/v3";
const profile = (userId: string, encode = true) => `${V3}/profile/${encode ? encodeURIComponent(userId) : userId}`;

forEachDatabase((kind) => {
  let server: TestServer;
  let alice: Session;
  let bob: Session;
  beforeAll(async () => {
    server = await startAccountServer(kind, { allow_guest_access: true });
    alice = await registerUser(server.url, "alice", "pw");
    bob = await registerUser(server.url, "bob", "pw");
  });
  afterAll(() => server.close());

  const put = (userId: string, field: string, json: unknown, token = alice.token) =>
    call(server.url, "PUT", `${profile(userId)}/${field}`, { token, json });

  describe("GET", () => {
    it("needs no token and takes the user ID raw or percent-encoded, on every version prefix", async () => {
      for (const path of [
        profile("@alice:localhost", false),
        profile("@alice:localhost"),
        `${V3}/profile/%40alice%3alocalhost`,
        "/_matrix/client/r0/profile/@alice:localhost",
        "/_matrix/client/unstable/profile/@alice:localhost",
        "/_matrix/client/api/v1/profile/@alice:localhost",
      ]) {
        const r = await call(server.url, "GET", path);
        expect(r.status, path).toBe(200);
        // Registration sets the display name to the localpart, as in Synapse; no avatar yet.
        expect(r.body, path).toEqual({ displayname: "alice" });
      }
      for (const path of [
        `${profile("@alice:localhost", false)}/displayname`,
        `${profile("@alice:localhost")}/displayname`,
      ]) {
        expect((await call(server.url, "GET", path)).body).toEqual({ displayname: "alice" });
      }
      expect((await call(server.url, "GET", `${profile("@alice:localhost")}/avatar_url`)).body).toEqual({
        avatar_url: null,
      });
    });

    it("is 404 for an unknown local user and for a user of another server; 400 for a malformed ID", async () => {
      for (const id of ["@nobody:localhost", "@alice:elsewhere.example", "@ALICE:localhost"]) {
        for (const suffix of ["", "/displayname", "/avatar_url"]) {
          const r = await call(server.url, "GET", profile(id) + suffix);
          expectMatrixError(r, 404, "M_NOT_FOUND", "Profile was not found");
        }
      }
      for (const id of ["alice", "@alice", "@alice:bad_server!"]) {
        expectMatrixError(await call(server.url, "GET", profile(id)), 400, "M_INVALID_PARAM", "Invalid user id");
      }
    });

    it("an unknown field is not routed", async () => {
      const r = await call(server.url, "GET", `${profile("@alice:localhost")}/m.tz`);
      expectMatrixError(r, 404, "M_UNRECOGNIZED", "Unrecognized request");
    });
  });

  describe("PUT displayname", () => {
    it("sets, trims and clears one's own display name", async () => {
      const u = await registerUser(server.url, "carol", "pw");
      expect((await put(u.userId, "displayname", { displayname: "  Carol C.  " }, u.token)).status).toBe(200);
      expect((await call(server.url, "GET", profile(u.userId))).body).toEqual({ displayname: "Carol C." });
      const max = "é".repeat(256);
      expect((await put(u.userId, "displayname", { displayname: max }, u.token)).status).toBe(200);
      expect((await call(server.url, "GET", `${profile(u.userId)}/displayname`)).body).toEqual({ displayname: max });
      // An empty name clears it; with no avatar either, the whole profile is 404 (Synapse's answer).
      expect((await put(u.userId, "displayname", { displayname: "" }, u.token)).status).toBe(200);
      expect((await call(server.url, "GET", `${profile(u.userId)}/displayname`)).body).toEqual({ displayname: null });
      expectMatrixError(await call(server.url, "GET", profile(u.userId)), 404, "M_NOT_FOUND", "Profile was not found");
    });

    it("refuses a long, missing, null or non-string name", async () => {
      const r = await put(alice.userId, "displayname", { displayname: "x".repeat(257) });
      expectMatrixError(r, 400, "M_TOO_LARGE", "Displayname is too long (max 256)");
      expectMatrixError(
        await put(alice.userId, "displayname", {}),
        400,
        "M_MISSING_PARAM",
        "Missing key 'displayname'",
      );
      expectMatrixError(
        await put(alice.userId, "displayname", { displayname: null }),
        400,
        "M_INVALID_PARAM",
        "'displayname' can not be `null`.",
      );
      expectMatrixError(
        await put(alice.userId, "displayname", { displayname: 7 }),
        400,
        "M_INVALID_PARAM",
        "'displayname' must be a string",
      );
      expectMatrixError(
        await put(alice.userId, "displayname", [1]),
        400,
        "M_BAD_JSON",
        "Content must be a JSON object.",
      );
      expect((await call(server.url, "GET", profile(alice.userId))).body).toEqual({ displayname: "alice" });
    });

    it("only for oneself: another user's is 403, a remote one 400, and a token is needed", async () => {
      const r = await put(bob.userId, "displayname", { displayname: "Mallory" });
      expectMatrixError(r, 403, "M_FORBIDDEN", "Cannot set another user's displayname");
      const remote = await put("@bob:elsewhere.example", "displayname", { displayname: "Mallory" });
      expectMatrixError(remote, 400, "M_UNKNOWN", "User is not hosted on this homeserver");
      const anon = await call(server.url, "PUT", `${profile(alice.userId)}/displayname`, {
        json: { displayname: "x" },
      });
      expectMatrixError(anon, 401, "M_MISSING_TOKEN", "Missing access token");
      expect((await call(server.url, "GET", profile(bob.userId))).body).toEqual({ displayname: "bob" });
    });

    it("an admin may set another user's display name", async () => {
      const admin = await registerShared(server.url, { username: "root", password: "pw", admin: true });
      expect(admin.status, admin.text).toBe(200);
      const u = await registerUser(server.url, "dave", "pw");
      const r = await put(
        u.userId,
        "displayname",
        { displayname: "Dave (renamed)" },
        admin.body.access_token as string,
      );
      expect(r.status, r.text).toBe(200);
      expect((await call(server.url, "GET", profile(u.userId))).body).toEqual({ displayname: "Dave (renamed)" });
      const ghost = await put(
        "@ghost:localhost",
        "displayname",
        { displayname: "Boo" },
        admin.body.access_token as string,
      );
      expectMatrixError(ghost, 404, "M_NOT_FOUND", "Profile was not found");
    });

    it("guests may set their display name but not an avatar", async () => {
      const g = await call(server.url, "POST", "/_matrix/client/v3/register?kind=guest", { json: {} });
      const id = g.body.user_id as string;
      const token = g.body.access_token as string;
      expect((await put(id, "displayname", { displayname: "Visitor" }, token)).status).toBe(200);
      const avatar = await put(id, "avatar_url", { avatar_url: "mxc://localhost/abc" }, token);
      expectMatrixError(avatar, 403, "M_GUEST_ACCESS_FORBIDDEN", "Guest access not allowed");
    });
  });

  describe("PUT avatar_url", () => {
    it("sets and clears an mxc:// avatar", async () => {
      const u = await registerUser(server.url, "erin", "pw");
      for (const url of ["mxc://localhost/AbC-123_x", "mxc://matrix.example.org:8448/abc"]) {
        expect((await put(u.userId, "avatar_url", { avatar_url: url }, u.token)).status).toBe(200);
        expect((await call(server.url, "GET", profile(u.userId))).body).toEqual({
          displayname: "erin",
          avatar_url: url,
        });
        expect((await call(server.url, "GET", `${profile(u.userId)}/avatar_url`)).body).toEqual({ avatar_url: url });
      }
      expect((await put(u.userId, "avatar_url", { avatar_url: "" }, u.token)).status).toBe(200);
      expect((await call(server.url, "GET", profile(u.userId))).body).toEqual({ displayname: "erin" });
    });

    it("takes any string of at most 1000 characters, as Synapse does; refuses NUL", async () => {
      for (const url of ["https://example.org/a.png", "mxc://", "mxc://localhost/a/b", "avatar"]) {
        const r = await put(alice.userId, "avatar_url", { avatar_url: url });
        expect(r.status, r.text).toBe(200);
        expect((await call(server.url, "GET", `${profile(alice.userId)}/avatar_url`)).body).toEqual({
          avatar_url: url,
        });
      }
      expect((await put(alice.userId, "avatar_url", { avatar_url: "" })).status).toBe(200);
      for (const field of ["avatar_url", "displayname"]) {
        const r = await put(alice.userId, field, { [field]: "a\u0000b" });
        expectMatrixError(r, 400, "M_INVALID_PARAM", `'${field}' must not contain NUL characters`);
      }
      expectMatrixError(
        await put(alice.userId, "avatar_url", { avatar_url: 5 }),
        400,
        "M_INVALID_PARAM",
        "'avatar_url' must be a string",
      );
      expectMatrixError(
        await put(alice.userId, "avatar_url", { avatar_url: null }),
        400,
        "M_INVALID_PARAM",
        "'avatar_url' can not be `null`.",
      );
      expectMatrixError(await put(alice.userId, "avatar_url", {}), 400, "M_MISSING_PARAM", "Missing key 'avatar_url'");
      const long = await put(alice.userId, "avatar_url", { avatar_url: `mxc://localhost/${"a".repeat(1000)}` });
      expectMatrixError(long, 400, "M_TOO_LARGE", "Avatar URL is too long (max 1000)");
      expectMatrixError(
        await put(bob.userId, "avatar_url", { avatar_url: "mxc://localhost/x" }),
        403,
        "M_FORBIDDEN",
        "Cannot set another user's avatar_url",
      );
      expect((await call(server.url, "GET", profile(alice.userId))).body).toEqual({ displayname: "alice" });
    });
  });
});
