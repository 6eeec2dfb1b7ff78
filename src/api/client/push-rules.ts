/**
 * @module Push rules of the client-server API (spec "Push Rules: API"): the user's ruleset (own rules merged with
 * the server's defaults), and changing it. Closed to guests (403 `M_GUEST_ACCESS_FORBIDDEN`), as in Synapse.
 */
import type { FastifyRequest } from "fastify";
import { ErrCode, MatrixError } from "../../errors.js";
import type { PushRule, PushRuleset } from "../../matrix/push-rules.js";
import {
  deletePushRule,
  pushRuleOf,
  pushRulesContent,
  pushRulesOfKind,
  putPushRule,
  setPushRuleAttribute,
} from "../../push/rules.js";
import { requireNonGuest } from "../../http/auth.js";
import { clientPaths } from "../../http/paths.js";
import { queryOf, stringParam } from "../../http/query.js";
import { jsonObjectBody } from "../../http/request.js";
import type { RouteModule } from "../../http/server.js";

interface RuleParams {
  kind: string;
  ruleId: string;
}

/**
 * Any JSON value (`PUT …/enabled` takes a bare boolean too, as Synapse): an object goes through `jsonObjectBody`
 * and its checks; anything else that is not JSON is 400 `M_NOT_JSON`, and the handler refuses what it cannot use.
 */
function jsonValueBody(request: FastifyRequest): unknown {
  const raw = request.body;
  const text = Buffer.isBuffer(raw) ? raw.toString("utf8") : "";
  if (/^\s*\{/.test(text)) return jsonObjectBody(request);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new MatrixError(ErrCode.NotJson, "Content not JSON.");
  }
}

export const pushRulesRoutes: RouteModule = (app, { accounts }) => {
  /**
   * # `GET /_matrix/client/v3/pushrules/`
   * - `{"global": ruleset}`: the user's own rules and the spec's predefined rules, with the user's changes.
   */
  for (const url of clientPaths("/pushrules/")) {
    app.get(url, async (request): Promise<{ global: PushRuleset }> => {
      const requester = await requireNonGuest(request, accounts);
      return pushRulesContent(accounts.stores, requester.userId);
    });
  }

  /**
   * # `GET /_matrix/client/v3/pushrules/global/`
   * - The global ruleset itself.
   */
  for (const url of clientPaths("/pushrules/global/")) {
    app.get(url, async (request): Promise<PushRuleset> => {
      const requester = await requireNonGuest(request, accounts);
      return (await pushRulesContent(accounts.stores, requester.userId)).global;
    });
  }

  /**
   * # `GET /_matrix/client/v3/pushrules/global/{kind}/`
   * - The rules of one kind, with or without the trailing slash, as Synapse answers (no longer in the spec, still
   *   asked by older clients).
   */
  for (const url of clientPaths("/pushrules/global/:kind").flatMap((u) => [u, `${u}/`])) {
    app.get<{ Params: { kind: string } }>(url, async (request): Promise<PushRule[]> => {
      const requester = await requireNonGuest(request, accounts);
      return pushRulesOfKind(accounts.stores, requester.userId, request.params.kind);
    });
  }

  /**
   * # `GET /_matrix/client/v3/pushrules/global/{kind}/{ruleId}`
   * - One rule; an unknown kind is 400 `M_UNRECOGNIZED`, an unknown rule 404 `M_NOT_FOUND`, as in Synapse.
   */
  for (const url of clientPaths("/pushrules/global/:kind/:ruleId")) {
    app.get<{ Params: RuleParams }>(url, async (request): Promise<PushRule> => {
      const requester = await requireNonGuest(request, accounts);
      return pushRuleOf(accounts.stores, requester.userId, request.params.kind, request.params.ruleId);
    });
  }

  /**
   * # `PUT /_matrix/client/v3/pushrules/global/{kind}/{ruleId}`
   * - Adds or replaces one of the user's own rules: `conditions` (override, underride) or `pattern` (content), and
   *   `actions`; room and sender rules match the room or sender named by the rule ID. First of its kind, or with
   *   `?before=`/`?after=` next to another own rule of that kind (400 "before/after rule not found: …" otherwise).
   * - 400 `M_UNKNOWN` as Synapse: an unknown kind ("Unknown template: …"), an ID starting with `.` (the server's),
   *   a slash or backslash in the ID, missing conditions/pattern/actions, an unknown action.
   * - The new ruleset reaches the user's devices as `m.push_rules` account data through `/sync`.
   */
  for (const url of clientPaths("/pushrules/global/:kind/:ruleId")) {
    app.put<{ Params: RuleParams }>(url, async (request) => {
      const requester = await requireNonGuest(request, accounts);
      const query = queryOf(request);
      const before = stringParam(query, "before");
      const after = stringParam(query, "after");
      await putPushRule(
        accounts,
        requester.userId,
        request.params.kind,
        request.params.ruleId,
        jsonValueBody(request),
        {
          ...(before ? { before } : {}),
          ...(after && !before ? { after } : {}),
        },
      );
      return {};
    });
  }

  /**
   * # `DELETE /_matrix/client/v3/pushrules/global/{kind}/{ruleId}`
   * - Deletes one of the user's own rules; a default rule or an unknown one is 404 `M_NOT_FOUND`.
   */
  for (const url of clientPaths("/pushrules/global/:kind/:ruleId")) {
    app.delete<{ Params: RuleParams }>(url, async (request) => {
      const requester = await requireNonGuest(request, accounts);
      await deletePushRule(accounts, requester.userId, request.params.kind, request.params.ruleId);
      return {};
    });
  }

  for (const attr of ["enabled", "actions"] as const) {
    /**
     * # `GET /_matrix/client/v3/pushrules/global/{kind}/{ruleId}/enabled`
     * # `GET /_matrix/client/v3/pushrules/global/{kind}/{ruleId}/actions`
     * - `{"enabled": bool}` or `{"actions": [...]}` of one rule.
     */
    for (const url of clientPaths(`/pushrules/global/:kind/:ruleId/${attr}`)) {
      app.get<{ Params: RuleParams }>(url, async (request) => {
        const requester = await requireNonGuest(request, accounts);
        const rule = await pushRuleOf(accounts.stores, requester.userId, request.params.kind, request.params.ruleId);
        return { [attr]: rule[attr] };
      });
    }

    /**
     * # `PUT /_matrix/client/v3/pushrules/global/{kind}/{ruleId}/enabled`
     * # `PUT /_matrix/client/v3/pushrules/global/{kind}/{ruleId}/actions`
     * - `{"enabled": bool}` (a bare boolean too, as Synapse) or `{"actions": [...]}`, on own and default rules;
     *   an unknown rule is 404 `M_NOT_FOUND`, a bad value 400 `M_UNKNOWN`.
     */
    for (const url of clientPaths(`/pushrules/global/:kind/:ruleId/${attr}`)) {
      app.put<{ Params: RuleParams }>(url, async (request) => {
        const requester = await requireNonGuest(request, accounts);
        const { kind, ruleId } = request.params;
        await setPushRuleAttribute(accounts, requester.userId, kind, ruleId, attr, jsonValueBody(request));
        return {};
      });
    }
  }
};
