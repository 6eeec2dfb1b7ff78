/**
 * @module The `push_rules` and `push_rule_defaults` tables: a user's own push rules, ordered within their kind by
 * `priority` (highest first, as Synapse, so a rule added without `before`/`after` goes first), and the `enabled` and
 * `actions` a user set on server-default rules.
 */
import { sql, type Kysely } from "kysely";
import { chunks } from "./current-state.js";
import type { Database } from "./schema.js";

export interface StoredPushRule {
  userId: string;
  kind: string;
  ruleId: string;
  priority: number;
  conditions: unknown[] | null;
  pattern: string | null;
  actions: unknown[];
  enabled: boolean;
}

/** A user's change to one server-default rule; null keeps the default's value. */
export interface DefaultRuleChange {
  userId: string;
  ruleId: string;
  enabled: boolean | null;
  actions: unknown[] | null;
}

export interface UserPushRules {
  /** By kind, then priority, highest first. */
  rules: StoredPushRule[];
  defaults: DefaultRuleChange[];
}

export interface PushRuleBody {
  conditions: unknown[] | null;
  pattern: string | null;
  actions: unknown[];
}

export interface PushRulesStore {
  forUser(userId: string): Promise<UserPushRules>;
  /** The rules of several users at once (the members an event is evaluated for); users without any are absent. */
  forUsers(userIds: readonly string[]): Promise<Map<string, UserPushRules>>;
  /**
   * Adds or replaces a rule, first in its kind, or just before/after the rule `relativeTo` names (whose priority
   * and those above it move up one). An existing rule keeps its `enabled`. False when `relativeTo` is not a rule.
   */
  put(
    userId: string,
    kind: string,
    ruleId: string,
    body: PushRuleBody,
    relativeTo?: { before?: string; after?: string },
  ): Promise<boolean>;
  /** False when there was no such rule. */
  delete(userId: string, kind: string, ruleId: string): Promise<boolean>;
  /** Sets `enabled` or `actions` of an own rule; false when there is no such rule. */
  update(
    userId: string,
    kind: string,
    ruleId: string,
    change: { enabled?: boolean; actions?: unknown[] },
  ): Promise<boolean>;
  /** Sets `enabled` or `actions` of a server-default rule for the user. */
  changeDefault(userId: string, ruleId: string, change: { enabled?: boolean; actions?: unknown[] }): Promise<void>;
}

export function pushRulesStore(db: Kysely<Database>): PushRulesStore {
  const rulesOf = async (userIds: readonly string[]): Promise<Map<string, UserPushRules>> => {
    const byUser = new Map<string, UserPushRules>();
    const entry = (userId: string) => {
      let e = byUser.get(userId);
      if (!e) byUser.set(userId, (e = { rules: [], defaults: [] }));
      return e;
    };
    for (const chunk of chunks([...userIds], 500)) {
      // Both tables in one statement (an event's evaluation reads its members' rules this way, and on PostgreSQL
      // each statement is a round trip): own rules first ('r'), by kind and priority, then the default changes.
      const users = sql.join(chunk);
      const { rows } = await sql<{
        src: string;
        user_id: string;
        kind: string | null;
        rule_id: string;
        priority: number | string | null;
        conditions: string | null;
        pattern: string | null;
        actions: string | null;
        enabled: number | string | null;
      }>`select 'r' as src, user_id, kind, rule_id, priority, conditions, pattern, actions, enabled
          from push_rules where user_id in (${users})
        union all
        select 'd', user_id, null, rule_id, null, null, null, actions, enabled
          from push_rule_defaults where user_id in (${users})
        order by src desc, user_id, kind, priority desc`.execute(db);
      for (const r of rows) {
        if (r.src === "r") {
          entry(r.user_id).rules.push({
            userId: r.user_id,
            kind: r.kind ?? "",
            ruleId: r.rule_id,
            priority: Number(r.priority),
            conditions: r.conditions === null ? null : (JSON.parse(r.conditions) as unknown[]),
            pattern: r.pattern,
            actions: JSON.parse(r.actions ?? "[]") as unknown[],
            enabled: Number(r.enabled) === 1,
          });
        } else {
          entry(r.user_id).defaults.push({
            userId: r.user_id,
            ruleId: r.rule_id,
            enabled: r.enabled === null ? null : Number(r.enabled) === 1,
            actions: r.actions === null ? null : (JSON.parse(r.actions) as unknown[]),
          });
        }
      }
    }
    return byUser;
  };
  const ofKind = (userId: string, kind: string) =>
    db.selectFrom("push_rules").where("user_id", "=", userId).where("kind", "=", kind);
  return {
    async forUser(userId) {
      return (await rulesOf([userId])).get(userId) ?? { rules: [], defaults: [] };
    },
    forUsers: rulesOf,
    async put(userId, kind, ruleId, body, relativeTo = {}) {
      const relativeId = relativeTo.before ?? relativeTo.after;
      let priority: number;
      if (relativeId !== undefined) {
        const relative = await ofKind(userId, kind)
          .select("priority")
          .where("rule_id", "=", relativeId)
          .executeTakeFirst();
        if (!relative) return false;
        // Higher priority runs first: "before" a rule is one above it.
        priority = Number(relative.priority) + (relativeTo.before !== undefined ? 1 : 0);
        await db
          .updateTable("push_rules")
          .set((eb) => ({ priority: eb("priority", "+", 1) }))
          .where("user_id", "=", userId)
          .where("kind", "=", kind)
          .where("priority", ">=", priority)
          .where("rule_id", "!=", ruleId)
          .execute();
      } else {
        const top = await ofKind(userId, kind)
          .select((eb) => eb.fn.max<number | null>("priority").as("top"))
          .executeTakeFirst();
        const highest = top?.top ?? null;
        priority = highest === null ? 0 : Number(highest) + 1;
      }
      const values = {
        priority,
        conditions: body.conditions === null ? null : JSON.stringify(body.conditions),
        pattern: body.pattern,
        actions: JSON.stringify(body.actions),
      };
      await db
        .insertInto("push_rules")
        .values({ user_id: userId, kind, rule_id: ruleId, ...values })
        .onConflict((oc) => oc.columns(["user_id", "kind", "rule_id"]).doUpdateSet(values))
        .execute();
      return true;
    },
    async delete(userId, kind, ruleId) {
      const r = await db
        .deleteFrom("push_rules")
        .where("user_id", "=", userId)
        .where("kind", "=", kind)
        .where("rule_id", "=", ruleId)
        .executeTakeFirst();
      return Number(r.numDeletedRows) > 0;
    },
    async update(userId, kind, ruleId, change) {
      const r = await db
        .updateTable("push_rules")
        .set({
          ...(change.enabled !== undefined ? { enabled: change.enabled ? 1 : 0 } : {}),
          ...(change.actions !== undefined ? { actions: JSON.stringify(change.actions) } : {}),
        })
        .where("user_id", "=", userId)
        .where("kind", "=", kind)
        .where("rule_id", "=", ruleId)
        .executeTakeFirst();
      return Number(r.numUpdatedRows) > 0;
    },
    async changeDefault(userId, ruleId, change) {
      const set = {
        ...(change.enabled !== undefined ? { enabled: change.enabled ? 1 : 0 } : {}),
        ...(change.actions !== undefined ? { actions: JSON.stringify(change.actions) } : {}),
      };
      await db
        .insertInto("push_rule_defaults")
        .values({ user_id: userId, rule_id: ruleId, enabled: null, actions: null, ...set })
        .onConflict((oc) => oc.columns(["user_id", "rule_id"]).doUpdateSet(set))
        .execute();
    },
  };
}
