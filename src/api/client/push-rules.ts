/**
 * @module Push rules of the client-server API (spec "Push Notifications": push rules), read-only: every user has
 * the spec's default rule set, and changing rules is not offered yet (PUT and DELETE answer 405 `M_UNRECOGNIZED`).
 * Closed to guests (403 `M_GUEST_ACCESS_FORBIDDEN`), as in Synapse.
 */
import { pushRuleFor, pushRulesFor, type PushRule, type PushRuleset } from "../../sync/push-rules.js";
import { requireNonGuest } from "../../http/auth.js";
import { clientPaths } from "../../http/paths.js";
import type { RouteModule } from "../../http/server.js";

interface RuleParams {
  kind: string;
  ruleId: string;
}

export const pushRulesRoutes: RouteModule = (app, { accounts }) => {
  /**
   * # `GET /_matrix/client/v3/pushrules/`
   * - `{"global": ruleset}`: the spec's predefined rules (override, content, underride) for the user.
   */
  for (const url of clientPaths("/pushrules/")) {
    app.get(url, async (request): Promise<{ global: PushRuleset }> => {
      const requester = await requireNonGuest(request, accounts);
      return pushRulesFor(requester.userId);
    });
  }

  /**
   * # `GET /_matrix/client/v3/pushrules/global/`
   * - The global ruleset itself.
   */
  for (const url of clientPaths("/pushrules/global/")) {
    app.get(url, async (request): Promise<PushRuleset> => {
      const requester = await requireNonGuest(request, accounts);
      return pushRulesFor(requester.userId).global;
    });
  }

  /**
   * # `GET /_matrix/client/v3/pushrules/global/{kind}/{ruleId}`
   * - One rule; an unknown kind is 400 `M_UNRECOGNIZED`, an unknown rule 404 `M_NOT_FOUND`, as in Synapse.
   */
  for (const url of clientPaths("/pushrules/global/:kind/:ruleId")) {
    app.get<{ Params: RuleParams }>(url, async (request): Promise<PushRule> => {
      const requester = await requireNonGuest(request, accounts);
      return pushRuleFor(requester.userId, request.params.kind, request.params.ruleId);
    });
  }

  /**
   * # `GET /_matrix/client/v3/pushrules/global/{kind}/{ruleId}/enabled`
   * - `{"enabled": bool}` of one rule.
   */
  for (const url of clientPaths("/pushrules/global/:kind/:ruleId/enabled")) {
    app.get<{ Params: RuleParams }>(url, async (request): Promise<{ enabled: boolean }> => {
      const requester = await requireNonGuest(request, accounts);
      return { enabled: pushRuleFor(requester.userId, request.params.kind, request.params.ruleId).enabled };
    });
  }

  /**
   * # `GET /_matrix/client/v3/pushrules/global/{kind}/{ruleId}/actions`
   * - `{"actions": [...]}` of one rule.
   */
  for (const url of clientPaths("/pushrules/global/:kind/:ruleId/actions")) {
    app.get<{ Params: RuleParams }>(url, async (request): Promise<{ actions: PushRule["actions"] }> => {
      const requester = await requireNonGuest(request, accounts);
      return { actions: pushRuleFor(requester.userId, request.params.kind, request.params.ruleId).actions };
    });
  }
};
