import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { forEachDatabase } from "../helpers/databases.js";
import { call } from "../helpers/http.js";
import type { TestServer } from "../helpers/server.js";
import { startDirectoryServer } from "./directory-support.js";
import { api, createRoom, ok, registerUser, room, type ClientUser } from "./support.js";
import { searchWords } from "../../src/rooms/user-directory.js";

interface Results {
  limited: boolean;
  results: { user_id: string; display_name?: string; avatar_url?: string }[];
}

async function named(server: TestServer, localpart: string, displayname?: string): Promise<ClientUser> {
  const user = await registerUser(server.url, localpart);
  if (displayname !== undefined) {
    await ok(server.url, user, "PUT", `/profile/${encodeURIComponent(user.userId)}/displayname`, { displayname });
  }
  return user;
}

const ids = (r: Results) => r.results.map((x) => x.user_id);

describe("searchWords", () => {
  it("splits as Synapse's regex does, lower-cased and NFKC-normalised", () => {
    expect(searchWords("@Bob.Smith:example.org")).toEqual(["bob", "smith", "example", "org"]);
    expect(searchWords("Ｊｏｓé  o'neil-x")).toEqual(["josé", "o", "neil-x"]);
    expect(searchWords(" ..! ")).toEqual([]);
  });
});

forEachDatabase((kind) => {
  describe("user directory search, Synapse's default scope", () => {
    let server: TestServer;
    let alice: ClientUser;
    let bob: ClientUser;
    let carol: ClientUser;
    let erin: ClientUser;
    const search = (user: ClientUser, body: unknown) =>
      ok<Results>(server.url, user, "POST", "/user_directory/search", body);
    beforeAll(async () => {
      server = await startDirectoryServer(kind);
      alice = await named(server, "alice", "Alice Liddell");
      bob = await named(server, "bob", "Bob Builder");
      carol = await named(server, "carol");
      await named(server, "dave", "Dave Loner");
      erin = await named(server, "erin", "Erin Private");
      const frank = await named(server, "frank", "Frank Gone");
      const gina = await named(server, "gina", "Gina Locked");
      const hall = await createRoom(server.url, carol, { preset: "public_chat" });
      for (const u of [bob, frank, gina]) await ok(server.url, u, "POST", `/join/${encodeURIComponent(hall)}`, {});
      const q = await createRoom(server.url, alice, { preset: "private_chat", invite: [erin.userId] });
      await ok(server.url, erin, "POST", `${room(q)}/join`, {});
      await ok(server.url, bob, "PUT", `/profile/${encodeURIComponent(bob.userId)}/avatar_url`, {
        avatar_url: "mxc://localhost/bobface",
      });
      await server.server.accounts.stores.users.setDeactivated(frank.userId, true);
      await server.server.accounts.stores.users.setLocked(gina.userId, true);
    });
    afterAll(async () => server.close());

    it("finds people in public rooms and people sharing a room, by word prefixes of ID and display name", async () => {
      expect(await search(alice, { search_term: "bob" })).toEqual({
        limited: false,
        results: [{ user_id: bob.userId, display_name: "Bob Builder", avatar_url: "mxc://localhost/bobface" }],
      });
      expect(ids(await search(alice, { search_term: "BUILD" }))).toEqual([bob.userId]);
      expect(ids(await search(alice, { search_term: "uild" }))).toEqual([]);
      expect(ids(await search(alice, { search_term: "bob build" }))).toEqual([bob.userId]);
      expect(ids(await search(alice, { search_term: "bob lid" }))).toEqual([]);
      expect(ids(await search(alice, { search_term: "erin" }))).toEqual([erin.userId]);
      expect(ids(await search(alice, { search_term: "priv" }))).toEqual([erin.userId]);
      expect(ids(await search(alice, { search_term: "car" }))).toEqual([carol.userId]);
      expect(ids(await search(alice, { search_term: "@bob:localhost" }))).toEqual([bob.userId]);
    });

    it("leaves out people one has no room in common with, deactivated and locked users", async () => {
      expect(ids(await search(alice, { search_term: "dave" }))).toEqual([]);
      expect(ids(await search(alice, { search_term: "frank" }))).toEqual([]);
      expect(ids(await search(alice, { search_term: "gina" }))).toEqual([]);
      // erin shares only alice's private room: bob cannot find her, nor alice (in no public room).
      expect(ids(await search(bob, { search_term: "erin" }))).toEqual([]);
      expect(ids(await search(bob, { search_term: "alice" }))).toEqual([]);
      // The searcher finds themself through a public room, as in Synapse.
      expect(ids(await search(bob, { search_term: "bob" }))).toEqual([bob.userId]);
    });

    it("ranks profiles with an avatar first and honours limit", async () => {
      const all = await search(alice, { search_term: "localhost" });
      expect(all.limited).toBe(false);
      expect(new Set(ids(all))).toEqual(new Set([bob.userId, carol.userId, erin.userId]));
      // Equal matches: those with an avatar first, then by user ID.
      expect(ids(all)).toEqual([bob.userId, carol.userId, erin.userId]);
      const two = await search(alice, { search_term: "localhost", limit: 2 });
      expect([two.results.length, two.limited]).toEqual([2, true]);
      expect((await search(alice, { search_term: "localhost", limit: 0 })).results).toEqual([]);
      expect((await search(alice, { search_term: "..." })).results).toEqual([]);
    });

    it("refuses bad requests, guests and anonymous callers", async () => {
      const post = (body: unknown, user: ClientUser | null = alice) =>
        api(server.url, user, "POST", "/user_directory/search", body);
      const missing = await post({});
      expect([missing.status, missing.body.errcode, missing.body.error]).toEqual([
        400,
        "M_UNKNOWN",
        "`search_term` is required field",
      ]);
      expect((await post({ search_term: 5 })).body).toMatchObject({ errcode: "M_BAD_JSON" });
      expect((await post({ search_term: "bob", limit: "many" })).body).toMatchObject({ errcode: "M_INVALID_PARAM" });
      expect((await post({ search_term: "bob" }, null)).status).toBe(401);
      const guestReg = await call(server.url, "POST", "/_matrix/client/v3/register?kind=guest", { json: {} });
      const guest = { userId: String(guestReg.body.user_id), token: String(guestReg.body.access_token), deviceId: "" };
      const g = await post({ search_term: "bob" }, guest);
      expect([g.status, g.body.errcode]).toEqual([403, "M_GUEST_ACCESS_FORBIDDEN"]);
    });
  });

  describe("user directory search with search_all_users", () => {
    let server: TestServer;
    beforeAll(async () => {
      server = await startDirectoryServer(kind, { user_directory: { search_all_users: true } });
    });
    afterAll(async () => server.close());

    it("finds every active local user but the searcher", async () => {
      const alice = await named(server, "alice", "Alice");
      const dave = await named(server, "dave", "Dave Loner");
      const gone = await named(server, "davegone");
      await server.server.accounts.stores.users.setDeactivated(gone.userId, true);
      const r = await ok<Results>(server.url, alice, "POST", "/user_directory/search", { search_term: "dave" });
      expect(ids(r)).toEqual([dave.userId]);
      const self = await ok<Results>(server.url, alice, "POST", "/user_directory/search", { search_term: "alice" });
      expect(ids(self)).toEqual([]);
    });
  });

  describe("user directory search turned off", () => {
    let server: TestServer;
    beforeAll(async () => {
      server = await startDirectoryServer(kind, { user_directory: { enabled: false, search_all_users: true } });
    });
    afterAll(async () => server.close());

    it("answers no one, whatever the body", async () => {
      const alice = await named(server, "alice");
      await named(server, "bob");
      const r = await ok<Results>(server.url, alice, "POST", "/user_directory/search", { search_term: "bob" });
      expect(r).toEqual({ limited: false, results: [] });
    });
  });
});
