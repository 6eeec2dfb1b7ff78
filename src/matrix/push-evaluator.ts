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
 *
 * An event is evaluated in two steps, so that a room's members who share a ruleset share most of the work (as
 * Synapse's bulk evaluator): `shared` runs the rules whose outcome cannot depend on the user, up to the first that
 * matches, and lists the personal rules before it (those built from the user's ID, and any reading the display
 * name); `outcomeFor` runs only those for one user.
 */
import { RULE_KINDS, type PushAction, type PushCondition, type PushRuleset } from "./push-rules.js";

const LEGACY_MENTION_RULES = new Set([
  ".m.rule.contains_display_name",
  ".m.rule.contains_user_name",
  ".m.rule.roomnotif",
]);

/** The server-default rules whose conditions are built from the user's ID (src/matrix/push-rules.ts). */
const PERSONAL_DEFAULT_RULES = new Set([
  ".m.rule.invite_for_me",
  ".m.rule.is_user_mention",
  ".m.rule.contains_user_name",
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
  /** Its outcome may differ between two users of the same ruleset. */
  personal: boolean;
}

/**
 * What an event does for every user of one ruleset: `fallback` unless one of the `pending` personal rules (indexes,
 * in order) matches first. Only valid for rulesets of the same `shape`.
 */
export interface SharedVerdict {
  shape: string;
  pending: number[];
  fallback: PushOutcome;
}

const NO_MATCH: PushOutcome = { notify: false, highlight: false, ruleId: null };

const NEVER: Condition = () => false;

/**
 * A compiled glob: `*` (any run of characters) and single-character tests. Matched by the classic wildcard
 * algorithm (backtracking only to the last `*`), so a match costs at most text length × pattern length steps
 * whatever the pattern: a regular expression made from `*a*a*a*…b` backtracks exponentially, and a user's own
 * rule would then hold the event's transaction (and every other writer) for minutes.
 */
type Token = "*" | ((c: string) => boolean);

/** Past this many steps a match is given up as no match (a pattern thousands of characters long). */
const MAX_STEPS = 5_000_000;

/** A text as the globs read it: lower-cased, padded with a space at each end for whole-word matching. */
class Text {
  private codePoints: string[] | null = null;
  constructor(readonly lower: string) {}
  get chars(): string[] {
    return (this.codePoints ??= [...this.lower]);
  }
}

const WORD_CHAR = /[\p{L}\p{N}_]/u;
const isWordChar = (c: string) => WORD_CHAR.test(c);
const notWord: Token = (c) => !isWordChar(c);

/** The code point that ends just before UTF-16 index `i` of `s`. */
function charBefore(s: string, i: number): string {
  const low = s.charCodeAt(i - 1);
  return low >= 0xdc00 && low <= 0xdfff && i >= 2 ? s.slice(i - 2, i) : s.charAt(i - 1);
}

export class Glob {
  /**
   * @param tokens the whole pattern, for whole-word patterns already between `* notWord … notWord *`.
   * @param literal the pattern's text when it has no wildcards, matched with `indexOf` (display names, user names).
   */
  constructor(
    private readonly tokens: readonly Token[],
    private readonly literal: string | null,
    private readonly words: boolean,
  ) {}

  test(text: Text): boolean {
    if (this.literal === null) return this.matchesAll(text.chars);
    if (!this.words) return text.lower === this.literal;
    const s = text.lower;
    const len = this.literal.length;
    if (len === 0) return false;
    for (let i = s.indexOf(this.literal); i !== -1; i = s.indexOf(this.literal, i + 1)) {
      const after = s.codePointAt(i + len);
      if (!isWordChar(charBefore(s, i)) && (after === undefined || !isWordChar(String.fromCodePoint(after)))) {
        return true;
      }
    }
    return false;
  }

  /** The whole of `text` (lower-cased code points) matches. */
  private matchesAll(text: readonly string[]): boolean {
    const tokens = this.tokens;
    const n = text.length;
    const m = tokens.length;
    let t = 0;
    let p = 0;
    let starP = -1;
    let starT = 0;
    let steps = 0;
    while (t < n) {
      if (++steps > MAX_STEPS) return false;
      const tok = p < m ? tokens[p]! : undefined;
      if (tok !== undefined && tok !== "*" && tok(text[t]!)) {
        t++;
        p++;
      } else if (tok === "*") {
        starP = p++;
        starT = t;
      } else if (starP !== -1) {
        p = starP + 1;
        t = ++starT;
      } else return false;
    }
    while (p < m && tokens[p] === "*") p++;
    return p === m;
  }
}

/** Compiled globs and display names, shared by every ruleset: most users' rules are the defaults, same patterns. */
const globs = new Map<string, Glob>();
const MAX_GLOBS = 10_000;

function globTokens(glob: string): Token[] {
  const chars = [...glob.toLowerCase()];
  const out: Token[] = [];
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i]!;
    if (c === "*") {
      if (out.at(-1) !== "*") out.push("*");
    } else if (c === "?") out.push(() => true);
    else if (c === "[") {
      const end = chars.indexOf("]", i + 2);
      if (end === -1) {
        out.push((x) => x === "[");
        continue;
      }
      let body = chars.slice(i + 1, end);
      const negated = body[0] === "!";
      if (negated) body = body.slice(1);
      const ranges: [string, string][] = [];
      for (let j = 0; j < body.length; j++) {
        if (body[j + 1] === "-" && j + 2 < body.length) {
          ranges.push([body[j]!, body[j + 2]!]);
          j += 2;
        } else ranges.push([body[j]!, body[j]!]);
      }
      out.push((x) => ranges.some(([lo, hi]) => x >= lo && x <= hi) !== negated);
      i = end;
    } else out.push((x) => x === c);
  }
  return out;
}

function cached(key: string, pattern: string, isLiteral: boolean, words: boolean): Glob {
  let glob = globs.get(key);
  if (!glob) {
    const lower = pattern.toLowerCase();
    const literal = isLiteral || !/[*?[]/.test(pattern) ? lower : null;
    const tokens = literal !== null ? [] : globTokens(pattern);
    glob = new Glob(words ? ["*", notWord, ...tokens, notWord, "*"] : tokens, literal, words);
    if (globs.size >= MAX_GLOBS) globs.clear();
    globs.set(key, glob);
  }
  return glob;
}

/** The last few texts read, lower-cased: every member's rules read the same body. */
const recentTexts = new Map<string, Text>();
function textOf(text: string, words: boolean): Text {
  const key = `${words ? "w" : "v"}${text}`;
  let t = recentTexts.get(key);
  if (!t) {
    t = new Text((words ? ` ${text} ` : text).toLowerCase());
    if (recentTexts.size >= 8) recentTexts.clear();
    recentTexts.set(key, t);
  }
  return t;
}

/** `glob`, case-insensitive, for whole words of a text or for the whole of it. */
export function globMatcher(glob: string, words: boolean): { test(text: string): boolean } {
  const g = cached(`${words ? "w" : "v"}${glob}`, glob, false, words);
  return { test: (text) => g.test(textOf(text, words)) };
}

/** A literal text (a display name), case-insensitive, as whole words. */
function literalWords(literal: string): Glob {
  return cached(`d${literal}`, literal, true, true);
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
        return literalWords(env.displayName).test(textOf(body, true));
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
  /** The rules in order, personal or not: two rulesets of one shape differ only in their personal rules. */
  readonly shape: string;

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
          personal:
            (rule.default && PERSONAL_DEFAULT_RULES.has(rule.rule_id)) ||
            conditions.some((c) => c.kind === "contains_display_name"),
        });
      }
    }
    this.shape = this.rules.map((r) => `${r.personal ? "p" : ""}${r.ruleId}`).join("\u0000");
  }

  /** The first matching rule's outcome; nothing (no notify) when none matches. */
  evaluate(event: FlatEvent, env: PushEnvironment): PushOutcome {
    return this.outcomeFor(this.shared(event, env), event, env);
  }

  /** The part of the evaluation every user of this ruleset's shape shares (`env.displayName` is not read). */
  shared(event: FlatEvent, env: PushEnvironment): SharedVerdict {
    const pending: number[] = [];
    for (let i = 0; i < this.rules.length; i++) {
      const rule = this.rules[i]!;
      if (event.hasMentions && LEGACY_MENTION_RULES.has(rule.ruleId)) continue;
      if (rule.personal) pending.push(i);
      else if (rule.conditions.every((c) => c(event, env))) {
        return { shape: this.shape, pending, fallback: { ...rule.outcome, ruleId: rule.ruleId } };
      }
    }
    return { shape: this.shape, pending, fallback: NO_MATCH };
  }

  /** This user's outcome, given what their ruleset's shape shares for the event. */
  outcomeFor(verdict: SharedVerdict, event: FlatEvent, env: PushEnvironment): PushOutcome {
    if (verdict.shape !== this.shape) return this.evaluate(event, env);
    for (const i of verdict.pending) {
      const rule = this.rules[i]!;
      if (rule.conditions.every((c) => c(event, env))) return { ...rule.outcome, ruleId: rule.ruleId };
    }
    return verdict.fallback;
  }
}
