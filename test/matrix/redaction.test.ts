import { describe, expect, it } from "vitest";
import { redactEvent } from "../../src/matrix/redaction.js";
import { roomVersion } from "../../src/matrix/room-versions.js";

const v = (id: string) => roomVersion(id)!;

const base = {
  event_id: "$e",
  room_id: "!r:x",
  sender: "@a:x",
  origin: "x",
  origin_server_ts: 1,
  depth: 4,
  prev_events: ["$p"],
  auth_events: ["$a"],
  hashes: { sha256: "h" },
  signatures: { x: { "ed25519:1": "s" } },
  membership: "join",
  prev_state: [],
  unsigned: { age: 5 },
  extra_top_level: true,
};

describe("redaction algorithm", () => {
  it("keeps the protected top-level keys and drops the rest (v10)", () => {
    const out = redactEvent({ ...base, type: "m.room.message", content: { body: "hi" } }, v("10"));
    const { unsigned: _u, extra_top_level: _x, ...kept } = base;
    expect(out).toEqual({ ...kept, type: "m.room.message", content: {} });
  });

  it("v11 no longer protects origin, membership and prev_state", () => {
    const out = redactEvent({ ...base, type: "m.room.message", content: {} }, v("11"));
    expect(out).not.toHaveProperty("origin");
    expect(out).not.toHaveProperty("membership");
    expect(out).not.toHaveProperty("prev_state");
    expect(out).toHaveProperty("origin_server_ts", 1);
  });

  const cases: [string, string, Record<string, unknown>, Record<string, unknown>][] = [
    [
      "10",
      "m.room.member",
      { membership: "join", displayname: "A", join_authorised_via_users_server: "@b:x" },
      { membership: "join", join_authorised_via_users_server: "@b:x" },
    ],
    ["8", "m.room.member", { membership: "join", join_authorised_via_users_server: "@b:x" }, { membership: "join" }],
    [
      "10",
      "m.room.member",
      { membership: "invite", third_party_invite: { signed: { a: 1 }, display_name: "d" } },
      { membership: "invite" },
    ],
    [
      "11",
      "m.room.member",
      { membership: "invite", third_party_invite: { signed: { a: 1 }, display_name: "d" } },
      { membership: "invite", third_party_invite: { signed: { a: 1 } } },
    ],
    ["10", "m.room.create", { creator: "@a:x", room_version: "10", "m.federate": false }, { creator: "@a:x" }],
    ["11", "m.room.create", { room_version: "11", "m.federate": false }, { room_version: "11", "m.federate": false }],
    ["7", "m.room.join_rules", { join_rule: "restricted", allow: [] }, { join_rule: "restricted" }],
    ["8", "m.room.join_rules", { join_rule: "restricted", allow: [], x: 1 }, { join_rule: "restricted", allow: [] }],
    [
      "10",
      "m.room.power_levels",
      { ban: 50, invite: 0, notifications: { room: 50 }, users: {} },
      { ban: 50, users: {} },
    ],
    [
      "11",
      "m.room.power_levels",
      { ban: 50, invite: 0, notifications: { room: 50 }, users: {} },
      { ban: 50, invite: 0, users: {} },
    ],
    ["5", "m.room.aliases", { aliases: ["#a:x"] }, { aliases: ["#a:x"] }],
    ["6", "m.room.aliases", { aliases: ["#a:x"] }, {}],
    ["10", "m.room.history_visibility", { history_visibility: "shared", x: 1 }, { history_visibility: "shared" }],
    ["10", "m.room.redaction", { redacts: "$x", reason: "r" }, {}],
    ["11", "m.room.redaction", { redacts: "$x", reason: "r" }, { redacts: "$x" }],
    ["11", "m.room.name", { name: "secret" }, {}],
  ];

  it.each(cases)("v%s %s keeps the right content", (version, type, content, expected) => {
    expect(redactEvent({ type, content }, v(version)).content).toEqual(expected);
  });
});
