/**
 * @module Push rules: the spec's server-default rule set ("Predefined Rules", v1.16), for every user.
 *
 * Rules cannot be changed yet, so every user has exactly the defaults: the `override`, `content` and `underride`
 * rules in the spec's order with the spec's conditions and actions, and no `room` or `sender` rules.
 */
import { ErrCode, MatrixError } from "../errors.js";

export type PushAction = string | { set_tweak: string; value?: unknown };

export interface PushCondition {
  kind: string;
  key?: string;
  pattern?: string;
  is?: string;
  value?: string | number | boolean | null;
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

/** `GET /pushrules/`: every ruleset of the user (only `global` exists). */
export function pushRulesFor(userId: string): { global: PushRuleset } {
  return { global: defaultPushRules(userId) };
}

/**
 * One rule, or one of its attributes (`enabled`, `actions`) as `{attr: value}`, as Synapse answers
 * `GET /pushrules/global/{kind}/{ruleId}[/{attr}]`: an unknown kind is 400 `M_UNRECOGNIZED`, an unknown rule 404.
 */
export function pushRuleFor(userId: string, kind: string, ruleId: string): PushRule {
  if (!(RULE_KINDS as readonly string[]).includes(kind)) {
    throw new MatrixError(ErrCode.Unrecognized, "Unrecognized request", { status: 400 });
  }
  const found = defaultPushRules(userId)[kind as RuleKind].find((r) => r.rule_id === ruleId);
  if (!found) throw new MatrixError(ErrCode.NotFound, "Unknown rule");
  return found;
}
