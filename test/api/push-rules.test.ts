/**
 * `GET /pushrules/` and friends over real HTTP: every user gets the spec's predefined rules (v1.16 "Predefined
 * Rules", copied below from the spec text with its placeholders filled in), in the spec's order, valid against
 * pushrules.yaml's schema. Changing them: test/push/push-rules-crud.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call } from "../helpers/http.js";
import { expectSpecResponse } from "../helpers/openapi.js";
import type { TestServer } from "../helpers/server.js";
import { expectError, registerUser, startOpenServer, type ClientUser } from "./sync-support.js";

const VERSIONS = ["r0", "v3", "unstable"] as const;

/** The spec's definitions, with "[the user's Matrix ID]" and "[the local part of the user's Matrix ID]" filled. */
function specRules(userId: string, localpart: string) {
  const sound = { set_tweak: "sound", value: "default" };
  const highlight = { set_tweak: "highlight" };
  const match = (key: string, pattern: string) => ({ kind: "event_match", key, pattern });
  const rule = (rule_id: string, conditions: unknown[], actions: unknown[], enabled = true) => ({
    rule_id,
    default: true,
    enabled,
    conditions,
    actions,
  });
  return {
    override: [
      rule(".m.rule.master", [], [], false),
      rule(".m.rule.suppress_notices", [match("content.msgtype", "m.notice")], []),
      rule(
        ".m.rule.invite_for_me",
        [match("type", "m.room.member"), match("content.membership", "invite"), match("state_key", userId)],
        ["notify", sound],
      ),
      rule(".m.rule.member_event", [match("type", "m.room.member")], []),
      rule(
        ".m.rule.is_user_mention",
        [{ kind: "event_property_contains", key: "content.m\\.mentions.user_ids", value: userId }],
        ["notify", sound, highlight],
      ),
      rule(".m.rule.contains_display_name", [{ kind: "contains_display_name" }], ["notify", sound, highlight]),
      rule(
        ".m.rule.is_room_mention",
        [
          { kind: "event_property_is", key: "content.m\\.mentions.room", value: true },
          { kind: "sender_notification_permission", key: "room" },
        ],
        ["notify", highlight],
      ),
      rule(
        ".m.rule.roomnotif",
        [match("content.body", "@room"), { kind: "sender_notification_permission", key: "room" }],
        ["notify", highlight],
      ),
      rule(".m.rule.tombstone", [match("type", "m.room.tombstone"), match("state_key", "")], ["notify", highlight]),
      rule(".m.rule.reaction", [match("type", "m.reaction")], []),
      rule(".m.rule.room.server_acl", [match("type", "m.room.server_acl"), match("state_key", "")], []),
      rule(
        ".m.rule.suppress_edits",
        [{ kind: "event_property_is", key: "content.m\\.relates_to.rel_type", value: "m.replace" }],
        [],
      ),
    ],
    content: [
      {
        rule_id: ".m.rule.contains_user_name",
        default: true,
        enabled: true,
        pattern: localpart,
        actions: ["notify", sound, highlight],
      },
    ],
    room: [],
    sender: [],
    underride: [
      rule(".m.rule.call", [match("type", "m.call.invite")], ["notify", { set_tweak: "sound", value: "ring" }]),
      rule(
        ".m.rule.encrypted_room_one_to_one",
        [{ kind: "room_member_count", is: "2" }, match("type", "m.room.encrypted")],
        ["notify", sound],
      ),
      rule(
        ".m.rule.room_one_to_one",
        [{ kind: "room_member_count", is: "2" }, match("type", "m.room.message")],
        ["notify", sound],
      ),
      rule(".m.rule.message", [match("type", "m.room.message")], ["notify"]),
      rule(".m.rule.encrypted", [match("type", "m.room.encrypted")], ["notify"]),
    ],
  };
}

let server: TestServer;
let alice: ClientUser;

beforeAll(async () => {
  server = await startOpenServer("sqlite");
  alice = await registerUser(server.url, "alice");
});
afterAll(() => server.close());

async function get(path: string, user: ClientUser = alice) {
  const r = await call(server.url, "GET", path, { token: user.token });
  await expectSpecResponse("GET", path, r.status, r.body);
  return r;
}

describe.each(VERSIONS)("under %s", (v) => {
  it("GET /pushrules/ is the spec's predefined rule set, exactly and in order", async () => {
    const r = await get(`/_matrix/client/${v}/pushrules/`);
    expect(r.status, r.text).toBe(200);
    expect(r.body).toEqual({ global: specRules(alice.userId, "alice") });
    const ids = (r.body as { global: Record<string, { rule_id: string }[]> }).global;
    expect(ids.override!.map((x) => x.rule_id)).toEqual([
      ".m.rule.master",
      ".m.rule.suppress_notices",
      ".m.rule.invite_for_me",
      ".m.rule.member_event",
      ".m.rule.is_user_mention",
      ".m.rule.contains_display_name",
      ".m.rule.is_room_mention",
      ".m.rule.roomnotif",
      ".m.rule.tombstone",
      ".m.rule.reaction",
      ".m.rule.room.server_acl",
      ".m.rule.suppress_edits",
    ]);
    expect(ids.underride!.map((x) => x.rule_id)).toEqual([
      ".m.rule.call",
      ".m.rule.encrypted_room_one_to_one",
      ".m.rule.room_one_to_one",
      ".m.rule.message",
      ".m.rule.encrypted",
    ]);
  });

  it("GET /pushrules/global/ is the global ruleset", async () => {
    const r = await get(`/_matrix/client/${v}/pushrules/global/`);
    expect(r.status).toBe(200);
    expect(r.body).toEqual(specRules(alice.userId, "alice"));
  });

  it("every rule is served on its own, with its enabled flag and actions, each valid against the spec", async () => {
    const rules = specRules(alice.userId, "alice");
    for (const kind of ["override", "content", "underride"] as const) {
      for (const rule of rules[kind]) {
        const base = `/_matrix/client/${v}/pushrules/global/${kind}/${encodeURIComponent(rule.rule_id)}`;
        const one = await get(base);
        expect(one.status, one.text).toBe(200);
        expect(one.body).toEqual(rule);
        expect((await get(`${base}/enabled`)).body).toEqual({ enabled: rule.enabled });
        expect((await get(`${base}/actions`)).body).toEqual({ actions: rule.actions });
      }
    }
  });
});

it("fills the user's own ID and localpart in", async () => {
  const bob = await registerUser(server.url, "bob.smith");
  const r = await get("/_matrix/client/v3/pushrules/", bob);
  expect(r.body).toEqual({ global: specRules("@bob.smith:localhost", "bob.smith") });
});

it("an unknown rule is 404 M_NOT_FOUND; an unknown kind 400 M_UNRECOGNIZED (as in Synapse)", async () => {
  expectError(await get("/_matrix/client/v3/pushrules/global/override/.m.rule.nope"), 404, "M_NOT_FOUND");
  expectError(await get("/_matrix/client/v3/pushrules/global/underride/.m.rule.master"), 404, "M_NOT_FOUND");
  expectError(
    await call(server.url, "GET", "/_matrix/client/v3/pushrules/global/sideways/x", { token: alice.token }),
    400,
    "M_UNRECOGNIZED",
  );
});

it("PUT and DELETE of a default rule's own path are refused (changes: test/push/push-rules-crud.test.ts)", async () => {
  const path = "/_matrix/client/v3/pushrules/global/override/.m.rule.master";
  const put = await call(server.url, "PUT", path, { token: alice.token, json: { conditions: [], actions: [] } });
  expectError(put, 400, "M_UNKNOWN");
  expectError(await call(server.url, "DELETE", path, { token: alice.token }), 404, "M_NOT_FOUND");
  // And nothing changed.
  expect((await get(`${path}/enabled`)).body).toEqual({ enabled: false });
});

it("needs an access token", async () => {
  expectError(await call(server.url, "GET", "/_matrix/client/v3/pushrules/"), 401, "M_MISSING_TOKEN");
});

it("the same rules arrive as m.push_rules in the initial sync and from account data", async () => {
  const sync = await call<{ account_data: { events: { type: string; content: unknown }[] } }>(
    server.url,
    "GET",
    "/_matrix/client/v3/sync",
    {
      token: alice.token,
    },
  );
  const event = sync.body.account_data.events.find((e) => e.type === "m.push_rules");
  expect(event?.content).toEqual({ global: specRules(alice.userId, "alice") });
  const data = await call(server.url, "GET", `/_matrix/client/v3/user/${alice.userId}/account_data/m.push_rules`, {
    token: alice.token,
  });
  expect(data.body).toEqual({ global: specRules(alice.userId, "alice") });
});

describe("other start-up reads of a web client", () => {
  it.each(VERSIONS)(
    "GET /voip/turnServer is {} under %s (no TURN server configured; Synapse's answer then)",
    async (v) => {
      const r = await call(server.url, "GET", `/_matrix/client/${v}/voip/turnServer`, { token: alice.token });
      expect(r.status).toBe(200);
      expect(r.body).toEqual({});
      expectError(await call(server.url, "GET", `/_matrix/client/${v}/voip/turnServer`), 401, "M_MISSING_TOKEN");
    },
  );

  it.each(["/_matrix/client/v1/media/config", "/_matrix/media/v3/config", "/_matrix/media/r0/config"])(
    "GET %s is the upload limit, for signed-in users",
    async (path) => {
      const r = await call(server.url, "GET", path, { token: alice.token });
      expect(r.status, r.text).toBe(200);
      expect(r.body).toEqual({ "m.upload.size": 50 * 1024 * 1024 });
      if (!path.includes("/r0/")) await expectSpecResponse("GET", path, r.status, r.body);
      expectError(await call(server.url, "GET", path), 401, "M_MISSING_TOKEN");
    },
  );
});
