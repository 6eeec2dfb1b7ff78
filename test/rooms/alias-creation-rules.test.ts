/**
 * `alias_creation_rules`: the configuration read as Synapse reads it, and the one check both ways of creating an
 * alias pass through (`PUT /directory/room/{roomAlias}` and `createRoom`'s `room_alias_name`), on both databases.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError } from "../../src/config/validate.js";
import { forEachDatabase } from "../helpers/databases.js";
import { configFrom, type TestServer } from "../helpers/server.js";
import { expectMatrixError } from "../api/support.js";
import { alias, promote, startDirectoryServer } from "./directory-support.js";
import { api, createRoom, ok, registerUser, type ClientUser } from "./support.js";

const base = { server_name: "localhost", database: { name: "sqlite3", args: { database: ":memory:" } } };

describe("alias_creation_rules (configuration)", () => {
  it("absent lets anyone create any alias (Synapse's default); an empty list lets no one; bad rules are refused", () => {
    expect(configFrom(base).alias_creation_rules).toEqual([
      { user_id: "*", alias: "*", room_id: "*", action: "allow" },
    ]);
    expect(configFrom({ ...base, alias_creation_rules: [] }).alias_creation_rules).toEqual([]);
    expect(
      configFrom({ ...base, alias_creation_rules: [{ alias: "#team-*", action: "deny" }] }).alias_creation_rules,
    ).toEqual([{ user_id: "*", alias: "#team-*", room_id: "*", action: "deny" }]);
    expect(() => configFrom({ ...base, alias_creation_rules: [{ action: "perhaps" }] })).toThrow(ConfigError);
    expect(() => configFrom({ ...base, alias_creation_rules: "allow" })).toThrow(ConfigError);
  });
});

forEachDatabase((kind) => {
  describe("alias_creation_rules (in force)", () => {
    let server: TestServer;
    let alice: ClientUser;
    let bob: ClientUser;
    let admin: ClientUser;
    let bobsRoom: string;
    beforeAll(async () => {
      server = await startDirectoryServer(kind, {
        alias_creation_rules: [
          { user_id: "@alice:*", alias: "#official-*", action: "allow" },
          { alias: "#official-*", action: "deny" },
          { alias: "#bound-*", action: "deny" },
          { action: "allow" },
        ],
      });
      alice = await registerUser(server.url, "alice");
      bob = await registerUser(server.url, "bob");
      admin = await registerUser(server.url, "admin");
      await promote(server, admin.userId);
      bobsRoom = await createRoom(server.url, bob, {});
    });
    afterAll(async () => server.close());

    const roomCount = async () => (await server.server.accounts.stores.roomStats.summaries("localhost")).length;

    it("PUT /directory/room: the first matching rule decides; a refusal is 403 in Synapse's words", async () => {
      const denied = await api(server.url, bob, "PUT", alias("#official-news:localhost"), { room_id: bobsRoom });
      expectMatrixError(denied, 403, "M_UNKNOWN", "Not allowed to create alias");
      expect((await api(server.url, null, "GET", alias("#official-news:localhost"))).status).toBe(404);
      expect(await ok(server.url, bob, "PUT", alias("#bobs-place:localhost"), { room_id: bobsRoom })).toEqual({});
      const alicesRoom = await createRoom(server.url, alice, {});
      expect(await ok(server.url, alice, "PUT", alias("#official-alice:localhost"), { room_id: alicesRoom })).toEqual(
        {},
      );
    });

    it("binds server admins too, as Synapse's code does", async () => {
      const r = await api(server.url, admin, "PUT", alias("#bound-1:localhost"), { room_id: bobsRoom });
      expectMatrixError(r, 403, "M_UNKNOWN", "Not allowed to create alias");
    });

    it("createRoom with a refused room_alias_name creates nothing", async () => {
      const before = await roomCount();
      const r = await api(server.url, bob, "POST", "/createRoom", { room_alias_name: "official-bob" });
      expectMatrixError(r, 403, "M_UNKNOWN", "Not allowed to create alias");
      expect(await roomCount()).toBe(before);
      const made = await ok<{ room_alias: string }>(server.url, bob, "POST", "/createRoom", {
        room_alias_name: "bobs-other",
      });
      expect(made.room_alias).toBe("#bobs-other:localhost");
      expect(await roomCount()).toBe(before + 1);
    });
  });
});
