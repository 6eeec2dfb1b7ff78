/**
 * The pure push rule evaluator: each condition kind against the spec's descriptions and examples, and the spec's
 * default rules run through it (which events notify or highlight whom), intentional mentions included.
 */
import { describe, expect, it } from "vitest";
import { CompiledRuleset, FlatEvent, globMatcher, type PushEnvironment } from "../../src/matrix/push-evaluator.js";
import { mergeRuleset, type PushCondition, type PushRuleset } from "../../src/matrix/push-rules.js";

const BOB = "@bob:example.org";
const env: PushEnvironment = {
  displayName: "Bob Smith",
  joinedMemberCount: 5,
  senderPowerLevel: 0,
  notificationLevels: undefined,
};

function event(content: Record<string, unknown>, over: { type?: string; state_key?: string; sender?: string } = {}) {
  return new FlatEvent({
    type: over.type ?? "m.room.message",
    sender: over.sender ?? "@alice:example.org",
    room_id: "!room:example.org",
    ...(over.state_key !== undefined ? { state_key: over.state_key } : {}),
    content,
  });
}

/** One override rule with these conditions: does it match? */
function matches(conditions: PushCondition[], e: FlatEvent, e2: Partial<PushEnvironment> = {}): boolean {
  const ruleset: PushRuleset = {
    override: [{ rule_id: "t", default: false, enabled: true, conditions, actions: ["notify"] }],
    content: [],
    room: [],
    sender: [],
    underride: [],
  };
  return new CompiledRuleset(ruleset).evaluate(e, { ...env, ...e2 }).notify;
}

const defaults = new CompiledRuleset(mergeRuleset(BOB, [], []));
const run = (e: FlatEvent, e2: Partial<PushEnvironment> = {}) => defaults.evaluate(e, { ...env, ...e2 });

describe("event_match", () => {
  const m = (key: string, pattern: string) => [{ kind: "event_match", key, pattern }];
  it("globs the whole value, case-insensitively, with * ? and [...]", () => {
    expect(matches(m("type", "m.room.*"), event({}))).toBe(true);
    expect(matches(m("type", "M.ROOM.MESSAGE"), event({}))).toBe(true);
    expect(matches(m("type", "m.room"), event({}))).toBe(false);
    expect(matches(m("type", "m.room.messag?"), event({}))).toBe(true);
    expect(matches(m("type", "m.room.[lm]essage"), event({}))).toBe(true);
    expect(matches(m("type", "m.room.[!m]essage"), event({}))).toBe(false);
    // Regular-expression characters in a pattern are literal.
    expect(matches(m("type", "m.room.message|x"), event({}))).toBe(false);
    expect(matches(m("content.a", "x.y"), event({ a: "xzy" }))).toBe(false);
    expect(matches(m("content.a", "(x)"), event({ a: "(x)" }))).toBe(true);
  });

  it("matches whole words of content.body (the spec's 'cake*lie')", () => {
    expect(matches(m("content.body", "cake*lie"), event({ body: "The cake is a lie!" }))).toBe(true);
    expect(matches(m("content.body", "cake"), event({ body: "pancakes" }))).toBe(false);
    expect(matches(m("content.body", "cake"), event({ body: "Cake, anyone?" }))).toBe(true);
    expect(matches(m("content.body", "@room"), event({ body: "hey @room" }))).toBe(true);
    // Elsewhere the whole value must match.
    expect(matches(m("content.topic", "cake"), event({ topic: "a cake" }))).toBe(false);
  });

  it("reads dotted keys, with \\. for a dot inside a key, and only strings", () => {
    const e = event({ "m.relates_to": { rel_type: "m.thread" }, "a.b": { c: "yes" }, n: 1 });
    expect(matches(m("content.m\\.relates_to.rel_type", "m.thread"), e)).toBe(true);
    expect(matches(m("content.m.relates_to.rel_type", "m.thread"), e)).toBe(false);
    expect(matches(m("content.a\\.b.c", "yes"), e)).toBe(true);
    expect(matches(m("content.n", "1"), e)).toBe(false);
    expect(matches(m("content.missing", "*"), e)).toBe(false);
  });

  it("costs at most text × pattern steps: a pattern of many stars cannot stall the event's transaction", () => {
    // As a regular expression, this pattern backtracked for minutes on a 2,000-character body.
    const body = "a".repeat(60_000);
    const start = performance.now();
    expect(matches(m("content.body", "*a*a*a*a*a*a*a*a*b"), event({ body }))).toBe(false);
    expect(matches(m("content.topic", "*a*a*a*a*a*a*a*a*b"), event({ topic: body }))).toBe(false);
    expect(matches(m("content.body", "*a*a*a*a*a*a*a*a*a"), event({ body }))).toBe(true);
    expect(performance.now() - start).toBeLessThan(5_000);
  });

  it("case-insensitive ranges, and an unclosed [ is literal", () => {
    expect(matches(m("content.a", "[A-C]x"), event({ a: "bX" }))).toBe(true);
    expect(matches(m("content.a", "[A-C]x"), event({ a: "dx" }))).toBe(false);
    expect(matches(m("content.a", "[ab"), event({ a: "[ab" }))).toBe(true);
    expect(globMatcher("x?z", false).test("XYZ")).toBe(true);
  });
});

describe("event_property_is and event_property_contains", () => {
  const e = event({ flag: true, none: null, n: 3, s: "x", list: ["a", 2, false] });
  const is = (key: string, value: unknown) => matches([{ kind: "event_property_is", key, value }], e);
  const has = (key: string, value: unknown) => matches([{ kind: "event_property_contains", key, value }], e);
  it("compares exactly, by type", () => {
    expect(is("content.flag", true)).toBe(true);
    expect(is("content.flag", "true")).toBe(false);
    expect(is("content.none", null)).toBe(true);
    expect(is("content.n", 3)).toBe(true);
    expect(is("content.s", "X")).toBe(false);
    expect(is("content.list", ["a"])).toBe(false);
  });
  it("finds a value in an array", () => {
    expect(has("content.list", "a")).toBe(true);
    expect(has("content.list", 2)).toBe(true);
    expect(has("content.list", false)).toBe(true);
    expect(has("content.list", "b")).toBe(false);
    expect(has("content.s", "x")).toBe(false);
  });
});

describe("room_member_count, sender_notification_permission, contains_display_name, unknown kinds", () => {
  const count = (is: string, n: number) =>
    matches([{ kind: "room_member_count", is }], event({}), { joinedMemberCount: n });
  it("room_member_count: ==, <, >, <=, >= and a bare number", () => {
    expect(count("2", 2)).toBe(true);
    expect(count("==2", 3)).toBe(false);
    expect(count("<3", 2)).toBe(true);
    expect(count(">3", 3)).toBe(false);
    expect(count("<=3", 3)).toBe(true);
    expect(count(">=4", 3)).toBe(false);
    expect(count("two", 2)).toBe(false);
  });

  it("sender_notification_permission: notifications[key], 50 by default", () => {
    const perm = (level: number, levels?: unknown) =>
      matches([{ kind: "sender_notification_permission", key: "room" }], event({}), {
        senderPowerLevel: level,
        notificationLevels: levels,
      });
    expect(perm(50)).toBe(true);
    expect(perm(49)).toBe(false);
    expect(perm(10, { room: 10 })).toBe(true);
    expect(perm(10, { room: "20" })).toBe(false);
  });

  it("contains_display_name: the name as a whole word, literally", () => {
    const name = (body: string, displayName: string | null = "Bob Smith") =>
      matches([{ kind: "contains_display_name" }], event({ body }), { displayName });
    expect(name("hi bob smith!")).toBe(true);
    expect(name("hi bob smithers")).toBe(false);
    expect(name("hi bob")).toBe(false);
    expect(name("a.b here", "a.b")).toBe(true);
    expect(name("axb here", "a.b")).toBe(false);
    expect(name("anything", null)).toBe(false);
  });

  it("a condition of an unknown kind never matches", () => {
    expect(matches([{ kind: "org.example.whatever" }], event({}))).toBe(false);
  });
});

describe("the default rules", () => {
  it("messages notify, with sound in a one-to-one room; notices, reactions and edits do not", () => {
    expect(run(event({ body: "hi" }))).toEqual({ notify: true, highlight: false, ruleId: ".m.rule.message" });
    expect(run(event({ body: "hi" }), { joinedMemberCount: 2 }).ruleId).toBe(".m.rule.room_one_to_one");
    expect(run(event({ msgtype: "m.notice", body: "bot" })).notify).toBe(false);
    expect(run(event({}, { type: "m.reaction" })).notify).toBe(false);
    const edit = { body: "* hi", "m.relates_to": { rel_type: "m.replace", event_id: "$e" } };
    expect(run(event(edit)).notify).toBe(false);
    expect(run(event({}, { type: "m.room.encrypted" }), { joinedMemberCount: 2 }).ruleId).toBe(
      ".m.rule.encrypted_room_one_to_one",
    );
    expect(run(event({}, { type: "m.room.encrypted" })).ruleId).toBe(".m.rule.encrypted");
    expect(run(event({}, { type: "m.call.invite" })).ruleId).toBe(".m.rule.call");
    expect(run(event({}, { type: "org.example.custom" })).notify).toBe(false);
  });

  it("an invite notifies its invitee only; other member events do not notify", () => {
    const invite = (target: string) =>
      run(event({ membership: "invite" }, { type: "m.room.member", state_key: target }));
    expect(invite(BOB)).toMatchObject({ notify: true, highlight: false, ruleId: ".m.rule.invite_for_me" });
    expect(invite("@carol:example.org").notify).toBe(false);
  });

  it("highlights: display name, user name, @room with permission, tombstones, m.mentions", () => {
    expect(run(event({ body: "Bob Smith: hi" }))).toMatchObject({
      highlight: true,
      ruleId: ".m.rule.contains_display_name",
    });
    expect(run(event({ body: "hi bob" }))).toMatchObject({ highlight: true, ruleId: ".m.rule.contains_user_name" });
    expect(run(event({ body: "@room hi" }), { senderPowerLevel: 50 })).toMatchObject({
      highlight: true,
      ruleId: ".m.rule.roomnotif",
    });
    expect(run(event({ body: "@room hi" })).highlight).toBe(false);
    const tomb = event({ body: "moved" }, { type: "m.room.tombstone", state_key: "" });
    expect(run(tomb)).toMatchObject({ highlight: true, ruleId: ".m.rule.tombstone" });
    expect(run(event({ body: "x", "m.mentions": { user_ids: [BOB] } }))).toMatchObject({
      highlight: true,
      ruleId: ".m.rule.is_user_mention",
    });
    expect(run(event({ body: "x", "m.mentions": { room: true } }), { senderPowerLevel: 100 })).toMatchObject({
      highlight: true,
      ruleId: ".m.rule.is_room_mention",
    });
  });

  it("with m.mentions the legacy mention rules are skipped (intentional mentions)", () => {
    const e = event({ body: "Bob Smith, bob, @room", "m.mentions": { user_ids: ["@carol:example.org"] } });
    expect(run(e, { senderPowerLevel: 100 })).toEqual({ notify: true, highlight: false, ruleId: ".m.rule.message" });
  });

  it("the master rule, once enabled, silences everything", () => {
    const muted = new CompiledRuleset(
      mergeRuleset(BOB, [], [{ ruleId: ".m.rule.master", enabled: true, actions: null }]),
    );
    expect(muted.evaluate(event({ body: "bob!" }), env)).toEqual({
      notify: false,
      highlight: false,
      ruleId: ".m.rule.master",
    });
  });

  it("own rules run before the defaults of their kind; a highlight tweak set to false is no highlight", () => {
    const own = [
      {
        kind: "override",
        ruleId: "quiet",
        conditions: [{ kind: "event_match", key: "content.body", pattern: "shh" }],
        pattern: null,
        actions: [],
        enabled: true,
      },
      {
        kind: "sender",
        ruleId: "@alice:example.org",
        conditions: null,
        pattern: null,
        actions: ["notify", { set_tweak: "highlight", value: false }],
        enabled: true,
      },
    ];
    const ruleset = new CompiledRuleset(mergeRuleset(BOB, own, []));
    expect(ruleset.evaluate(event({ body: "shh, bob" }), env).notify).toBe(false);
    expect(ruleset.evaluate(event({ body: "hello" }), env)).toEqual({
      notify: true,
      highlight: false,
      ruleId: "@alice:example.org",
    });
  });

  it("one shared verdict serves every user of the defaults: each gets what evaluating alone gives", () => {
    // `m.notice` is a valid localpart equal to a default rule's pattern; `carol` has the default display name rule.
    const users = [BOB, "@carol:example.org", "@m.notice:example.org", "@dave:example.org"];
    const names = new Map([
      [BOB, "Bob Smith"],
      ["@carol:example.org", "Carol"],
    ]);
    const rulesets = users.map((u) => new CompiledRuleset(mergeRuleset(u, [], [])));
    const events = [
      event({ msgtype: "m.text", body: "hello" }),
      event({ msgtype: "m.text", body: "bob smith, carol: hi" }),
      event({ msgtype: "m.notice", body: "m.notice carol" }),
      event({ msgtype: "m.text", body: "dave?", "m.mentions": { user_ids: ["@carol:example.org"] } }),
      event({ msgtype: "m.text", body: "@room" }),
      event({ membership: "invite" }, { type: "m.room.member", state_key: "@dave:example.org" }),
      event({ body: "ring" }, { type: "m.call.invite" }),
    ];
    for (const e of events) {
      for (const envBase of [env, { ...env, joinedMemberCount: 2, senderPowerLevel: 100 }]) {
        const verdict = rulesets[0]!.shared(e, { ...envBase, displayName: null });
        users.forEach((u, i) => {
          const own = { ...envBase, displayName: names.get(u) ?? null };
          expect(rulesets[i]!.outcomeFor(verdict, e, own)).toEqual(rulesets[i]!.evaluate(e, own));
        });
      }
    }
    expect(
      rulesets[1]!.outcomeFor(rulesets[0]!.shared(events[1]!, env), events[1]!, { ...env, displayName: "Carol" }),
    ).toMatchObject({ highlight: true, ruleId: ".m.rule.contains_display_name" });
    expect(rulesets[3]!.outcomeFor(rulesets[0]!.shared(events[5]!, env), events[5]!, env).ruleId).toBe(
      ".m.rule.invite_for_me",
    );
    // A ruleset of another shape does not take a verdict made for the defaults: it evaluates alone.
    const muted = new CompiledRuleset(
      mergeRuleset(BOB, [], [{ ruleId: ".m.rule.message", enabled: false, actions: null }]),
    );
    expect(muted.outcomeFor(rulesets[0]!.shared(events[0]!, env), events[0]!, env).notify).toBe(false);
  });
});
