/**
 * @module A user's push rules (spec "Push Rules: API"): the ruleset (own rules merged with the server defaults),
 * reading one rule, and the changes (add, delete, `enabled`, `actions`) with Synapse's errors.
 *
 * Each change lands with the `m.push_rules` account data it produces, at a new stream position, and wakes the
 * user's syncs, so every device receives the new ruleset.
 */
import type { AccountsContext } from "../accounts/context.js";
import type { Tables } from "../db/stores.js";
import { ErrCode, MatrixError, refuseNul } from "../errors.js";
import {
  isRuleKind,
  mergeRuleset,
  type PushAction,
  type PushRule,
  type PushRuleset,
  type RuleKind,
} from "../matrix/push-rules.js";
import { withNewPosition } from "../sync/stream.js";

export const PUSH_RULES_TYPE = "m.push_rules";

/** The user's ruleset as clients see it and as it is evaluated. */
export async function rulesetOf(tables: Tables, userId: string): Promise<PushRuleset> {
  const stored = await tables.pushRules.forUser(userId);
  return mergeRuleset(userId, stored.rules, stored.defaults);
}

/** `m.push_rules` account data and `GET /pushrules/`: every scope of the user's rules (only `global` exists). */
export async function pushRulesContent(tables: Tables, userId: string): Promise<{ global: PushRuleset }> {
  return { global: await rulesetOf(tables, userId) };
}

/** The rules of one kind, as `GET /pushrules/global/{kind}/` answers; an unknown kind is 400 `M_UNRECOGNIZED`. */
export async function pushRulesOfKind(tables: Tables, userId: string, kind: string): Promise<PushRule[]> {
  if (!isRuleKind(kind)) throw new MatrixError(ErrCode.Unrecognized, "Unrecognized request", { status: 400 });
  return (await rulesetOf(tables, userId))[kind];
}

/**
 * One rule, as `GET /pushrules/global/{kind}/{ruleId}` answers: an unknown kind is 400 `M_UNRECOGNIZED`, an unknown
 * rule 404 `M_NOT_FOUND`, as in Synapse.
 */
export async function pushRuleOf(tables: Tables, userId: string, kind: string, ruleId: string): Promise<PushRule> {
  if (!isRuleKind(kind)) throw new MatrixError(ErrCode.Unrecognized, "Unrecognized request", { status: 400 });
  const found = (await rulesetOf(tables, userId))[kind].find((r) => r.rule_id === ruleId);
  if (!found) throw new MatrixError(ErrCode.NotFound, "Unknown rule");
  return found;
}

const invalid = (message: string) => new MatrixError(ErrCode.Unknown, message, { status: 400 });

/** Synapse's `check_actions`: `notify`, the legacy `dont_notify`/`coalesce`, or a `set_tweak` object. */
function checkActions(actions: unknown, prefix = ""): PushAction[] {
  if (!Array.isArray(actions)) throw invalid(`${prefix}No actions found`);
  for (const a of actions) {
    const ok =
      a === "notify" ||
      a === "dont_notify" ||
      a === "coalesce" ||
      (typeof a === "object" &&
        a !== null &&
        !Array.isArray(a) &&
        typeof (a as { set_tweak?: unknown }).set_tweak === "string");
    if (!ok) throw invalid(`${prefix}Unrecognised action ${JSON.stringify(a)}`);
  }
  return actions as PushAction[];
}

/** The kind of a change's path, with Synapse's 400 for one it does not know, and rule IDs it refuses. */
function checkPath(kind: string, ruleId: string): RuleKind {
  if (!isRuleKind(kind)) throw invalid(`Unknown template: ${kind}`);
  refuseNul(ruleId, "rule_id");
  if (ruleId.includes("/") || ruleId.includes("\\")) throw invalid("rule_id may not contain slashes");
  return kind;
}

async function changed(ctx: AccountsContext, userId: string, write: (tables: Tables) => Promise<void>): Promise<void> {
  await withNewPosition(ctx.stores, userId, async (tables, position) => {
    await write(tables);
    await tables.accountData.put(userId, PUSH_RULES_TYPE, await pushRulesContent(tables, userId), position);
  });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * `PUT /pushrules/global/{kind}/{ruleId}`: adds or replaces one of the user's own rules, first of its kind or
 * just before/after another of the user's rules of that kind. IDs starting with `.` belong to the server's rules.
 */
export async function putPushRule(
  ctx: AccountsContext,
  userId: string,
  kindParam: string,
  ruleId: string,
  body: unknown,
  relativeTo: { before?: string; after?: string },
): Promise<void> {
  const kind = checkPath(kindParam, ruleId);
  if (ruleId.startsWith(".")) throw invalid("cannot add new rule_ids that start with '.'");
  if (!isObject(body)) throw new MatrixError(ErrCode.BadJson, "Content must be a JSON object", { status: 400 });
  let conditions: unknown[] | null = null;
  let pattern: string | null = null;
  if (kind === "override" || kind === "underride") {
    if (!("conditions" in body)) throw invalid("Missing 'conditions'");
    // Synapse's words for anything but a list of objects with a kind (it iterates whatever it is given).
    const list: unknown = body.conditions;
    if (!Array.isArray(list) || list.some((c) => !isObject(c) || !("kind" in c))) {
      throw invalid("Condition without 'kind'");
    }
    conditions = list;
  } else if (kind === "content") {
    if (typeof body.pattern !== "string") throw invalid("Content rule missing 'pattern'");
    pattern = body.pattern;
  }
  if (!("actions" in body)) throw invalid("No actions found");
  const actions = checkActions(body.actions);
  const relativeId = relativeTo.before ?? relativeTo.after;
  if (relativeId !== undefined) refuseNul(relativeId, relativeTo.before !== undefined ? "before" : "after");
  await changed(ctx, userId, async (tables) => {
    const placed = await tables.pushRules.put(userId, kind, ruleId, { conditions, pattern, actions }, relativeTo);
    if (!placed) throw invalid(`before/after rule not found: global/${kind}/${relativeId ?? ""}`);
  });
}

/** `DELETE /pushrules/global/{kind}/{ruleId}`: one of the user's own rules; anything else is 404. */
export async function deletePushRule(
  ctx: AccountsContext,
  userId: string,
  kind: string,
  ruleId: string,
): Promise<void> {
  refuseNul(ruleId, "rule_id");
  if (!isRuleKind(kind)) throw new MatrixError(ErrCode.NotFound, "Not found");
  await changed(ctx, userId, async (tables) => {
    if (!(await tables.pushRules.delete(userId, kind, ruleId))) throw new MatrixError(ErrCode.NotFound, "Not found");
  });
}

/**
 * `PUT /pushrules/global/{kind}/{ruleId}/enabled|actions`: on the user's own rules and on the server's default ones
 * (which keep the change per user). `enabled` takes `{"enabled": bool}` or, as Synapse, a bare boolean.
 */
export async function setPushRuleAttribute(
  ctx: AccountsContext,
  userId: string,
  kindParam: string,
  ruleId: string,
  attr: "enabled" | "actions",
  body: unknown,
): Promise<void> {
  const kind = checkPath(kindParam, ruleId);
  const change: { enabled?: boolean; actions?: PushAction[] } = {};
  if (attr === "enabled") {
    const value = isObject(body) && "enabled" in body ? body.enabled : body;
    if (typeof value !== "boolean") throw invalid("Value for 'enabled' must be boolean");
    change.enabled = value;
  } else {
    if (!isObject(body)) throw invalid("Value must be a dict");
    if (!Array.isArray(body.actions)) throw invalid("Value for 'actions' must be dict");
    change.actions = checkActions(body.actions, "Invalid actions: ");
  }
  const isDefault = ruleId.startsWith(".");
  if (isDefault) {
    // Only a default rule of that kind exists to change.
    await pushRuleOf(ctx.stores, userId, kind, ruleId);
  }
  await changed(ctx, userId, async (tables) => {
    if (isDefault) await tables.pushRules.changeDefault(userId, ruleId, change);
    else if (!(await tables.pushRules.update(userId, kind, ruleId, change))) {
      throw new MatrixError(ErrCode.NotFound, "Unknown rule");
    }
  });
}
