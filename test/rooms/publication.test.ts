import { describe, expect, it } from "vitest";
import { ConfigError } from "../../src/config/validate.js";
import { globToRegExp, publishingAllowed } from "../../src/rooms/publication.js";
import { configFrom } from "../helpers/server.js";

const base = { server_name: "localhost", database: { name: "sqlite3", args: { database: ":memory:" } } };

describe("room_list_publication_rules", () => {
  it("defaults to no rules, which lets nobody publish (Synapse 1.126+)", () => {
    const config = configFrom(base);
    expect(config.room_list_publication_rules).toEqual([]);
    expect(config.allow_public_rooms_without_auth).toBe(false);
    expect(config.user_directory).toEqual({ enabled: true, search_all_users: false });
    expect(publishingAllowed([], "@admin:localhost", "!r:localhost", [])).toBe(false);
  });

  it("reads rules with Synapse's defaults for absent globs, and refuses bad ones", () => {
    const config = configFrom({
      ...base,
      room_list_publication_rules: [{ user_id: "@a*:localhost", action: "allow" }],
    });
    expect(config.room_list_publication_rules).toEqual([
      { user_id: "@a*:localhost", alias: "*", room_id: "*", action: "allow" },
    ]);
    expect(() => configFrom({ ...base, room_list_publication_rules: [{ action: "maybe" }] })).toThrow(ConfigError);
    expect(() => configFrom({ ...base, room_list_publication_rules: { action: "allow" } })).toThrow(ConfigError);
    expect(() => configFrom({ ...base, room_list_publication_rules: [{ action: "allow", alias: 3 }] })).toThrow(
      ConfigError,
    );
    expect(() => configFrom({ ...base, user_directory: { search_all_users: "yes" } })).toThrow(ConfigError);
  });

  it("matches globs whole, in any case; the first matching rule decides; alias globs need an alias", () => {
    expect(globToRegExp("@a?ice:*").test("@ALICE:example.org")).toBe(true);
    expect(globToRegExp("@alice:*").test("x@alice:example.org")).toBe(false);
    expect(globToRegExp("#a.b(c)*").test("#a.b(c)d")).toBe(true);
    expect(globToRegExp("#a.b").test("#axb")).toBe(false);
    const rules = [
      { user_id: "@bad:*", alias: "*", room_id: "*", action: "deny" as const },
      { user_id: "*", alias: "#ok-*", room_id: "*", action: "allow" as const },
    ];
    expect(publishingAllowed(rules, "@bad:localhost", "!r:localhost", ["#ok-1:localhost"])).toBe(false);
    expect(publishingAllowed(rules, "@good:localhost", "!r:localhost", ["#x:localhost", "#ok-1:localhost"])).toBe(true);
    expect(publishingAllowed(rules, "@good:localhost", "!r:localhost", [])).toBe(false);
  });
});
