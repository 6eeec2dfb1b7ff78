/**
 * Push rule changes over real HTTP on both databases: adding rules of every kind with `before`/`after`, deleting
 * them, `enabled` and `actions` on own and default rules, Synapse's errors (nothing stored), and the new ruleset
 * arriving as `m.push_rules` in an incremental `/sync`.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { forEachDatabase } from "../helpers/databases.js";
import { call } from "../helpers/http.js";
import type { TestServer } from "../helpers/server.js";
import { expectError, registerUser, registerGuest, type ClientUser } from "../api/sync-support.js";
import { api, ok, startOpenServer } from "../rooms/support.js";

interface Rule {
  rule_id: string;
  default: boolean;
  enabled: boolean;
  actions: unknown[];
  conditions?: unknown[];
  pattern?: string;
}
type Ruleset = Record<"override" | "content" | "room" | "sender" | "underride", Rule[]>;

const P = "/pushrules/global";
const q = (id: string) => encodeURIComponent(id);

forEachDatabase((kind) => {
  let server: TestServer;
  let alice: ClientUser;

  beforeAll(async () => {
    server = await startOpenServer(kind);
    alice = await registerUser(server.url, "alice");
  });
  afterAll(() => server.close());

  const ruleset = async (user = alice) =>
    (await ok<{ global: Ruleset }>(server.url, user, "GET", "/pushrules/")).global;
  const ids = (rules: Rule[]) => rules.map((r) => r.rule_id);

  it("adds override rules first of their own, before the defaults (but after .m.rule.master), honouring before/after", async () => {
    const cond = [{ kind: "event_match", key: "content.body", pattern: "lunch*" }];
    await ok(server.url, alice, "PUT", `${P}/override/one`, { conditions: cond, actions: ["notify"] });
    await ok(server.url, alice, "PUT", `${P}/override/two`, { conditions: cond, actions: [] });
    await ok(server.url, alice, "PUT", `${P}/override/three?after=two`, { conditions: [], actions: ["notify"] });
    await ok(server.url, alice, "PUT", `${P}/override/zero?before=one`, { conditions: cond, actions: ["notify"] });
    const override = (await ruleset()).override;
    expect(ids(override).slice(0, 6)).toEqual([
      ".m.rule.master",
      "two",
      "three",
      "zero",
      "one",
      ".m.rule.suppress_notices",
    ]);
    expect(override[4]).toEqual({
      rule_id: "one",
      default: false,
      enabled: true,
      conditions: cond,
      actions: ["notify"],
    });
    // Replacing a rule moves it first and keeps its enabled flag.
    await ok(server.url, alice, "PUT", `${P}/override/one/enabled`, { enabled: false });
    await ok(server.url, alice, "PUT", `${P}/override/one`, { conditions: [], actions: ["dont_notify"] });
    const again = (await ruleset()).override;
    expect(ids(again).slice(0, 3)).toEqual([".m.rule.master", "one", "two"]);
    expect(again[1]).toMatchObject({ enabled: false, actions: ["dont_notify"], conditions: [] });
  });

  it("content, room and sender rules: pattern for content, nothing for room and sender; GET of one rule", async () => {
    await ok(server.url, alice, "PUT", `${P}/content/cake`, { pattern: "cake", actions: ["notify"] });
    await ok(server.url, alice, "PUT", `${P}/room/${q("!r:localhost")}`, { actions: [] });
    await ok(server.url, alice, "PUT", `${P}/sender/${q("@bob:localhost")}`, { actions: ["notify"] });
    const rules = await ruleset();
    expect(rules.content[0]).toEqual({
      rule_id: "cake",
      default: false,
      enabled: true,
      pattern: "cake",
      actions: ["notify"],
    });
    expect(ids(rules.content)).toEqual(["cake", ".m.rule.contains_user_name"]);
    expect(rules.room).toEqual([{ rule_id: "!r:localhost", default: false, enabled: true, actions: [] }]);
    expect(rules.sender).toEqual([{ rule_id: "@bob:localhost", default: false, enabled: true, actions: ["notify"] }]);
    expect(await ok(server.url, alice, "GET", `${P}/content/cake`)).toEqual(rules.content[0]);
    expect(await ok(server.url, alice, "GET", `${P}/content/cake/actions`)).toEqual({ actions: ["notify"] });
  });

  it("GET of a kind lists that kind's rules, with or without the trailing slash; an unknown kind is 400", async () => {
    await ok(server.url, alice, "PUT", `${P}/sender/${q("@carol:localhost")}`, { actions: [] });
    const rules = await ruleset();
    for (const path of [
      `/_matrix/client/v3${P}/sender/`,
      `/_matrix/client/v3${P}/sender`,
      `/_matrix/client/r0${P}/override/`,
    ]) {
      const res = await call<Rule[]>(server.url, "GET", path, { token: alice.token });
      expect(res.status, path).toBe(200);
      expect(res.body).toEqual(path.includes("override") ? rules.override : rules.sender);
    }
    expectError(
      await call(server.url, "GET", `/_matrix/client/v3${P}/weird/`, { token: alice.token }),
      400,
      "M_UNRECOGNIZED",
    );
  });

  it("DELETE removes an own rule; a default or unknown rule is 404", async () => {
    await ok(server.url, alice, "PUT", `${P}/underride/gone`, { conditions: [], actions: [] });
    await ok(server.url, alice, "DELETE", `${P}/underride/gone`);
    expect(ids((await ruleset()).underride)).not.toContain("gone");
    expectError(await api(server.url, alice, "GET", `${P}/underride/gone`), 404, "M_NOT_FOUND");
    expectError(await api(server.url, alice, "DELETE", `${P}/underride/gone`), 404, "M_NOT_FOUND");
    expectError(await api(server.url, alice, "DELETE", `${P}/override/.m.rule.master`), 404, "M_NOT_FOUND");
    expectError(await api(server.url, alice, "DELETE", `${P}/sideways/x`), 404, "M_NOT_FOUND");
  });

  it("enabled and actions of a default rule change for this user only; a bare boolean is accepted", async () => {
    const bob = await registerUser(server.url, `bob${kind}`);
    await ok(server.url, alice, "PUT", `${P}/override/.m.rule.master/enabled`, { enabled: true });
    expect(await ok(server.url, alice, "GET", `${P}/override/.m.rule.master/enabled`)).toEqual({ enabled: true });
    const bare = await api(server.url, alice, "PUT", `${P}/override/.m.rule.master/enabled`, false);
    expect(bare.status, bare.text).toBe(200);
    expect(await ok(server.url, alice, "GET", `${P}/override/.m.rule.master/enabled`)).toEqual({ enabled: false });
    const tweak = ["notify", { set_tweak: "sound", value: "bing" }];
    await ok(server.url, alice, "PUT", `${P}/underride/.m.rule.message/actions`, { actions: tweak });
    expect((await ruleset()).underride.find((r) => r.rule_id === ".m.rule.message")).toMatchObject({
      default: true,
      actions: tweak,
    });
    expect((await ruleset(bob)).underride.find((r) => r.rule_id === ".m.rule.message")?.actions).toEqual(["notify"]);
  });

  it("refuses bad changes with Synapse's errors and stores nothing", async () => {
    const before = await ruleset();
    const put = (path: string, body: unknown) => api(server.url, alice, "PUT", path, body);
    const cases: [string, unknown, number, string][] = [
      [`${P}/sideways/x`, { actions: [] }, 400, "M_UNKNOWN"],
      [`${P}/override/.mine`, { conditions: [], actions: [] }, 400, "M_UNKNOWN"],
      [`${P}/override/${q("a\\b")}`, { conditions: [], actions: [] }, 400, "M_UNKNOWN"],
      [`${P}/override/x`, { actions: [] }, 400, "M_UNKNOWN"],
      [`${P}/override/x`, { conditions: [{ key: "type" }], actions: [] }, 400, "M_UNKNOWN"],
      [`${P}/override/x`, { conditions: "all", actions: [] }, 400, "M_UNKNOWN"],
      [`${P}/override/x`, { conditions: [] }, 400, "M_UNKNOWN"],
      [`${P}/override/x`, { conditions: [], actions: ["shout"] }, 400, "M_UNKNOWN"],
      [`${P}/content/x`, { actions: [] }, 400, "M_UNKNOWN"],
      [`${P}/override/x?before=nope`, { conditions: [], actions: [] }, 400, "M_UNKNOWN"],
      [`${P}/override/x?after=.m.rule.master`, { conditions: [], actions: [] }, 400, "M_UNKNOWN"],
      [`${P}/override/x`, [1], 400, "M_BAD_JSON"],
      [`${P}/override/.m.rule.master/enabled`, { enabled: "yes" }, 400, "M_UNKNOWN"],
      [`${P}/override/.m.rule.master/actions`, { actions: "notify" }, 400, "M_UNKNOWN"],
      [`${P}/override/.m.rule.master/actions`, { actions: [42] }, 400, "M_UNKNOWN"],
      [`${P}/override/.m.rule.nope/enabled`, { enabled: true }, 404, "M_NOT_FOUND"],
      [`${P}/underride/.m.rule.master/enabled`, { enabled: true }, 404, "M_NOT_FOUND"],
      [`${P}/override/nope/actions`, { actions: [] }, 404, "M_NOT_FOUND"],
      // PostgreSQL cannot hold NUL: a clear 400, not a 500.
      [`${P}/override/a%00b`, { conditions: [], actions: [] }, 400, "M_INVALID_PARAM"],
      [`${P}/override/x?after=a%00b`, { conditions: [], actions: [] }, 400, "M_INVALID_PARAM"],
    ];
    for (const [path, body, status, errcode] of cases) expectError(await put(path, body), status, errcode);
    expectError(await api(server.url, alice, "DELETE", `${P}/override/a%00b`), 400, "M_INVALID_PARAM");
    expect(await ruleset()).toEqual(before);
  });

  it("guests may not change rules", async () => {
    const guest = await registerGuest(server.url);
    expectError(
      await api(server.url, guest, "PUT", `${P}/override/g`, { conditions: [], actions: [] }),
      403,
      "M_GUEST_ACCESS_FORBIDDEN",
    );
  });

  it("a change reaches the user's incremental /sync as m.push_rules and wakes a waiting one", async () => {
    const carol = await registerUser(server.url, `carol${kind}`);
    const initial = await ok<{ next_batch: string }>(server.url, carol, "GET", "/sync");
    // The device's first incremental sync answers at once (src/sync/first-sync.ts): the second one waits.
    const first = await ok<{ next_batch: string }>(server.url, carol, "GET", `/sync?since=${initial.next_batch}`);
    const waiting = ok<{ account_data: { events: { type: string; content: { global: Ruleset } }[] } }>(
      server.url,
      carol,
      "GET",
      `/sync?since=${first.next_batch}&timeout=20000`,
    );
    await new Promise((r) => setTimeout(r, 200));
    await ok(server.url, carol, "PUT", `${P}/content/tea`, { pattern: "tea", actions: ["notify"] });
    const events = (await waiting).account_data.events.filter((e) => e.type === "m.push_rules");
    expect(events).toHaveLength(1);
    expect(events[0]!.content.global.content[0]).toMatchObject({ rule_id: "tea", pattern: "tea" });
    expect(events[0]!.content.global).toEqual(await ruleset(carol));
  });
  it("the admin API's account data does not list the push rules (Synapse keeps them apart)", async () => {
    const admin = await registerUser(server.url, `admin${kind}`);
    await server.server.accounts.stores.users.setAdmin(admin.userId, true);
    await ok(server.url, alice, "PUT", `${P}/content/biscuit`, { pattern: "biscuit", actions: [] });
    const r = await call<{ account_data: { global: Record<string, unknown> } }>(
      server.url,
      "GET",
      `/_synapse/admin/v1/users/${encodeURIComponent(alice.userId)}/accountdata`,
      { token: admin.token },
    );
    expect(r.status, r.text).toBe(200);
    expect(Object.keys(r.body.account_data.global)).not.toContain("m.push_rules");
  });
});
