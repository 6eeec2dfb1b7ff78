/**
 * @module Push rules (spec "Push Notifications"): the rule shapes, the server-default rules ("Predefined Rules",
 * v1.16) and how a user's own rules and changes merge with them into the ruleset the user sees and is evaluated by.
 */

export type PushAction = string | { set_tweak: string; value?: unknown };

export interface PushCondition {
  kind: string;
  key?: string;
  pattern?: string;
  is?: string;
  value?: unknown;
}

export interface PushRule {
  rule_id: string;
  default: boolean;
  enabled: boolean;
  actions: PushAction[];
  conditions?: PushCondition[];
  pattern?: string;
}

export interface PushRuleset {
  override: PushRule[];
  content: PushRule[];
  room: PushRule[];
  sender: PushRule[];
  underride: PushRule[];
}

export const RULE_KINDS = ["override", "content", "room", "sender", "underride"] as const;
export type RuleKind = (typeof RULE_KINDS)[number];

const SOUND_DEFAULT = { set_tweak: "sound", value: "default" };
const SOUND_RING = { set_tweak: "sound", value: "ring" };
const HIGHLIGHT = { set_tweak: "highlight" };

const eventMatch = (key: string, pattern: string): PushCondition => ({ kind: "event_match", key, pattern });
const rule = (rule_id: string, conditions: PushCondition[], actions: PushAction[], enabled = true): PushRule => ({
  rule_id,
  default: true,
  enabled,
  conditions,
  actions,
});

/** The default rule set for `userId` (whose localpart is the `.m.rule.contains_user_name` pattern). */
export function defaultPushRules(userId: string): PushRuleset {
  const localpart = userId.slice(1).split(":")[0]!;
  return {
    override: [
      rule(".m.rule.master", [], [], false),
      rule(".m.rule.suppress_notices", [eventMatch("content.msgtype", "m.notice")], []),
      rule(
        ".m.rule.invite_for_me",
        [
          eventMatch("type", "m.room.member"),
          eventMatch("content.membership", "invite"),
          eventMatch("state_key", userId),
        ],
        ["notify", SOUND_DEFAULT],
      ),
      rule(".m.rule.member_event", [eventMatch("type", "m.room.member")], []),
      rule(
        ".m.rule.is_user_mention",
        [{ kind: "event_property_contains", key: "content.m\\.mentions.user_ids", value: userId }],
        ["notify", SOUND_DEFAULT, HIGHLIGHT],
      ),
      rule(".m.rule.contains_display_name", [{ kind: "contains_display_name" }], ["notify", SOUND_DEFAULT, HIGHLIGHT]),
      rule(
        ".m.rule.is_room_mention",
        [
          { kind: "event_property_is", key: "content.m\\.mentions.room", value: true },
          { kind: "sender_notification_permission", key: "room" },
        ],
        ["notify", HIGHLIGHT],
      ),
      rule(
        ".m.rule.roomnotif",
        [eventMatch("content.body", "@room"), { kind: "sender_notification_permission", key: "room" }],
        ["notify", HIGHLIGHT],
      ),
      rule(
        ".m.rule.tombstone",
        [eventMatch("type", "m.room.tombstone"), eventMatch("state_key", "")],
        ["notify", HIGHLIGHT],
      ),
      rule(".m.rule.reaction", [eventMatch("type", "m.reaction")], []),
      rule(".m.rule.room.server_acl", [eventMatch("type", "m.room.server_acl"), eventMatch("state_key", "")], []),
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
        actions: ["notify", SOUND_DEFAULT, HIGHLIGHT],
      },
    ],
    room: [],
    sender: [],
    underride: [
      rule(".m.rule.call", [eventMatch("type", "m.call.invite")], ["notify", SOUND_RING]),
      rule(
        ".m.rule.encrypted_room_one_to_one",
        [{ kind: "room_member_count", is: "2" }, eventMatch("type", "m.room.encrypted")],
        ["notify", SOUND_DEFAULT],
      ),
      rule(
        ".m.rule.room_one_to_one",
        [{ kind: "room_member_count", is: "2" }, eventMatch("type", "m.room.message")],
        ["notify", SOUND_DEFAULT],
      ),
      rule(".m.rule.message", [eventMatch("type", "m.room.message")], ["notify"]),
      rule(".m.rule.encrypted", [eventMatch("type", "m.room.encrypted")], ["notify"]),
    ],
  };
}

/** A user's own rule, as stored: `conditions` for override/underride, `pattern` for content. */
export interface OwnRule {
  kind: string;
  ruleId: string;
  conditions: unknown[] | null;
  pattern: string | null;
  actions: unknown[];
  enabled: boolean;
}

/** A user's `enabled`/`actions` on a server-default rule; null keeps the default. */
export interface DefaultChange {
  ruleId: string;
  enabled: boolean | null;
  actions: unknown[] | null;
}

export function isRuleKind(kind: string): kind is RuleKind {
  return (RULE_KINDS as readonly string[]).includes(kind);
}

/** The rule as the client API shows it: room and sender rules carry neither conditions nor pattern (as Synapse). */
function ownRuleJson(r: OwnRule): PushRule {
  const out: PushRule = { rule_id: r.ruleId, default: false, enabled: r.enabled, actions: r.actions as PushAction[] };
  if (r.kind === "content") out.pattern = r.pattern ?? "";
  else if (r.kind === "override" || r.kind === "underride") out.conditions = (r.conditions ?? []) as PushCondition[];
  return out;
}

/**
 * The user's ruleset: in each kind the user's own rules (already in priority order) before the server-default ones,
 * except `.m.rule.master`, which stays first of all (as Synapse's "prepend" base rules); defaults carry the
 * user's `enabled`/`actions` changes.
 */
export function mergeRuleset(userId: string, own: readonly OwnRule[], changes: readonly DefaultChange[]): PushRuleset {
  const defaults = defaultPushRules(userId);
  const changeOf = new Map(changes.map((c) => [c.ruleId, c]));
  const out: PushRuleset = { override: [], content: [], room: [], sender: [], underride: [] };
  for (const kind of RULE_KINDS) {
    const changed = defaults[kind].map((d) => {
      const c = changeOf.get(d.rule_id);
      return {
        ...d,
        enabled: c?.enabled ?? d.enabled,
        actions: (c?.actions ?? d.actions) as PushAction[],
      };
    });
    const mine = own.filter((r) => r.kind === kind).map(ownRuleJson);
    const first = kind === "override" ? changed.filter((d) => d.rule_id === ".m.rule.master") : [];
    out[kind] = [...first, ...mine, ...changed.filter((d) => !first.includes(d))];
  }
  return out;
}
