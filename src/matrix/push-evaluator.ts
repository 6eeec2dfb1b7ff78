/**
 * @module Push rule evaluation (spec "Push Rules": conditions and the order rules run in), pure: a ruleset is
 * compiled once, then run against events flattened once, for each member the event may notify.
 *
 * - `event_match`: a glob (`*`, `?`, `[...]`), case-insensitive, against a string at a dotted key (`\.` is a dot
 *   inside a key); on `content.body` it matches whole words, elsewhere the whole value (as Synapse).
 * - `event_property_is` / `event_property_contains`: a string, integer, boolean or null equal to the value, or held
 *   by the array at the key.
 * - `room_member_count`: `==`, `<`, `>`, `<=`, `>=` (default `==`) against the joined member count.
 * - `sender_notification_permission`: the sender's power level reaches `notifications[key]` (default 50).
 * - `contains_display_name`: the user's display name in the room, as a whole word of `content.body`.
 * - An unknown condition kind never matches, so its rule never applies.
 * - Intentional mentions: an event whose content has `m.mentions` skips the legacy mention rules
 *   (`.m.rule.contains_display_name`, `.m.rule.contains_user_name`, `.m.rule.roomnotif`), as Synapse.
 */
import { RULE_KINDS, type PushAction, type PushCondition, type PushRuleset } from "./push-rules.js";

const LEGACY_MENTION_RULES = new Set([
  ".m.rule.contains_display_name",
  ".m.rule.contains_user_name",
  ".m.rule.roomnotif",
]);

/** What a rule's actions mean for the unread counts. */
export interface PushOutcome {
  notify: boolean;
  highlight: boolean;
  /** The rule that matched, or null when none did. */
  ruleId: string | null;
}

/** What the conditions read of the room and the user, besides the event. */
export interface PushEnvironment {
  /** The user's display name in the room, or null. */
  displayName: string | null;
  joinedMemberCount: number;
  senderPowerLevel: number;
  /** The power levels' `notifications` object, or undefined. */
  notificationLevels: unknown;
}

/** The event as the conditions see it: every leaf under a dotted key. */
export class FlatEvent {
  readonly values = new Map<string, unknown>();
  readonly hasMentions: boolean;

  constructor(event: {
    type: string;
    sender: string;
    room_id: string;
    state_key?: string;
    content: Record<string, unknown>;
  }) {
    const top: Record<string, unknown> = { type: event.type, sender: event.sender, room_id: event.room_id };
    if (event.state_key !== undefined) top.state_key = event.state_key;
    top.content = event.content;
    this.flatten(top, "");
    this.hasMentions = Object.hasOwn(event.content, "m.mentions");
  }

  private flatten(obj: Record<string, unknown>, prefix: string): void {
    for (const [k, v] of Object.entries(obj)) {
      const key = prefix + k.replaceAll("\\", "\\\\").replaceAll(".", "\\.");
      if (typeof v === "object" && v !== null && !Array.isArray(v))
        this.flatten(v as Record<string, unknown>, `${key}.`);
      else this.values.set(key, v);
    }
  }

  get(key: string): unknown {
    return this.values.get(key);
  }
}

type Condition = (event: FlatEvent, env: PushEnvironment) => boolean;

interface CompiledRule {
  ruleId: string;
  conditions: Condition[];
  outcome: Omit<PushOutcome, "ruleId">;
}

const NEVER: Condition = () => false;

/** Compiled globs and display names, shared by every ruleset: most users' rules are the defaults, same patterns. */
const globs = new Map<string, RegExp>();
const MAX_GLOBS = 10_000;

const SYNTAX = /[\\^$.*+?()[\]{}|/]/g;
const escapeRegex = (s: string) => s.replace(SYNTAX, "\\$&");
const NOT_WORD = "[^\\p{L}\\p{N}_]";

function globSource(glob: string): string {
  let out = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === "*") out += "[\\s\\S]*?";
    else if (c === "?") out += "[\\s\\S]";
    else if (c === "[") {
      const end = glob.indexOf("]", i + 2);
      if (end === -1) {
        out += "\\[";
        continue;
      }
      let body = glob.slice(i + 1, end);
      const negated = body.startsWith("!");
      if (negated) body = body.slice(1);
      out += `[${negated ? "^" : ""}${body.replace(/[\\[\]^]/g, "\\$&")}]`;
      i = end;
    } else out += escapeRegex(c);
  }
  return out;
}

function cached(key: string, make: () => RegExp): RegExp {
  let re = globs.get(key);
  if (!re) {
    re = make();
    if (globs.size >= MAX_GLOBS) globs.clear();
    globs.set(key, re);
  }
  return re;
}

const wordsRegex = (source: string) => new RegExp(`(?:^|${NOT_WORD})${source}(?:${NOT_WORD}|$)`, "iu");

/** `glob` as a case-insensitive regular expression matching whole words of a text, or the whole of it. */
export function globMatcher(glob: string, words: boolean): RegExp {
  return cached(`${words ? "w" : "v"}${glob}`, () =>
    words ? wordsRegex(globSource(glob)) : new RegExp(`^${globSource(glob)}$`, "iu"),
  );
}

const isSimple = (v: unknown) =>
  v === null || typeof v === "string" || typeof v === "boolean" || (typeof v === "number" && Number.isInteger(v));

function levelOf(v: unknown): number | null {
  if (typeof v === "number" && Number.isInteger(v)) return v;
  if (typeof v === "string" && /^[+-]?\d+$/.test(v.trim())) return Number(v);
  return null;
}

function memberCountTest(is: string): ((n: number) => boolean) | null {
  const m = /^(==|<=|>=|<|>)?(\d+)$/.exec(is);
  if (!m) return null;
  const n = Number(m[2]);
  switch (m[1]) {
    case "<":
      return (c) => c < n;
    case ">":
      return (c) => c > n;
    case "<=":
      return (c) => c <= n;
    case ">=":
      return (c) => c >= n;
    default:
      return (c) => c === n;
  }
}

function compileCondition(c: PushCondition): Condition {
  switch (c.kind) {
    case "event_match": {
      const { key, pattern } = c;
      if (typeof key !== "string" || typeof pattern !== "string") return NEVER;
      const re = globMatcher(pattern, key === "content.body");
      return (e) => {
        const v = e.get(key);
        return typeof v === "string" && re.test(v);
      };
    }
    case "event_property_is": {
      const { key, value } = c;
      if (typeof key !== "string" || !isSimple(value)) return NEVER;
      return (e) => e.get(key) === value;
    }
    case "event_property_contains": {
      const { key, value } = c;
      if (typeof key !== "string" || !isSimple(value)) return NEVER;
      return (e) => {
        const v = e.get(key);
        return Array.isArray(v) && v.includes(value);
      };
    }
    case "room_member_count": {
      const test = typeof c.is === "string" ? memberCountTest(c.is) : null;
      if (!test) return NEVER;
      return (_e, env) => test(env.joinedMemberCount);
    }
    case "sender_notification_permission": {
      const { key } = c;
      if (typeof key !== "string") return NEVER;
      return (_e, env) => {
        const levels = env.notificationLevels;
        const set =
          typeof levels === "object" && levels !== null ? (levels as Record<string, unknown>)[key] : undefined;
        return env.senderPowerLevel >= (levelOf(set) ?? 50);
      };
    }
    case "contains_display_name":
      return (e, env) => {
        const body = e.get("content.body");
        if (typeof body !== "string" || !env.displayName) return false;
        return cached(`d${env.displayName}`, () => wordsRegex(escapeRegex(env.displayName!))).test(body);
      };
    default:
      return NEVER;
  }
}

/** `notify` in the actions, and the `highlight` tweak (true unless its value is false) with it. */
export function outcomeOf(actions: readonly PushAction[]): Omit<PushOutcome, "ruleId"> {
  const notify = actions.includes("notify");
  const highlight = actions.some(
    (a) => typeof a === "object" && a.set_tweak === "highlight" && (a.value === undefined || a.value === true),
  );
  return { notify, highlight: notify && highlight };
}

/** A user's ruleset, ready to run: enabled rules only, in the order they apply. */
export class CompiledRuleset {
  private readonly rules: CompiledRule[] = [];

  constructor(ruleset: PushRuleset) {
    for (const kind of RULE_KINDS) {
      for (const rule of ruleset[kind]) {
        if (!rule.enabled) continue;
        let conditions: PushCondition[];
        if (kind === "content") conditions = [{ kind: "event_match", key: "content.body", pattern: rule.pattern }];
        else if (kind === "room") conditions = [{ kind: "event_match", key: "room_id", pattern: rule.rule_id }];
        else if (kind === "sender") conditions = [{ kind: "event_match", key: "sender", pattern: rule.rule_id }];
        else conditions = rule.conditions ?? [];
        this.rules.push({
          ruleId: rule.rule_id,
          conditions: conditions.map(compileCondition),
          outcome: outcomeOf(rule.actions),
        });
      }
    }
  }

  /** The first matching rule's outcome; nothing (no notify) when none matches. */
  evaluate(event: FlatEvent, env: PushEnvironment): PushOutcome {
    for (const rule of this.rules) {
      if (event.hasMentions && LEGACY_MENTION_RULES.has(rule.ruleId)) continue;
      if (rule.conditions.every((c) => c(event, env))) return { ...rule.outcome, ruleId: rule.ruleId };
    }
    return { notify: false, highlight: false, ruleId: null };
  }
}
