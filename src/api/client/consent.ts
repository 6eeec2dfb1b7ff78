/**
 * @module Synapse's consent resource (`rest/consent/consent_resource.py`): the terms a user accepts, opened by a
 * browser from the registration stage's link, a consent server notice or an `M_CONSENT_NOT_GIVEN` error.
 */
import type { FastifyReply, FastifyRequest } from "fastify";
import {
  acceptConsent,
  consentSettings,
  CONSENT_PATH,
  viewConsent,
  type ConsentRequest,
} from "../../accounts/consent.js";
import { MatrixError } from "../../errors.js";
import { CONSENT_HEADERS, consentErrorPage, consentPage, consentSuccessPage } from "../../http/consent-page.js";
import type { RouteModule } from "../../http/server.js";

function fromQuery(request: FastifyRequest): ConsentRequest {
  const q = request.query as Record<string, unknown>;
  const one = (k: string) => {
    const v: unknown = Array.isArray(q[k]) ? (q[k] as unknown[])[0] : q[k];
    return typeof v === "string" ? v : null;
  };
  return { v: one("v"), u: one("u"), h: one("h") };
}

/** The form arrives as `application/x-www-form-urlencoded` bytes; Synapse also reads the query, as here. */
function fromForm(request: FastifyRequest): ConsentRequest {
  const body = Buffer.isBuffer(request.body) ? request.body.toString("utf8") : "";
  const form = new URLSearchParams(body);
  const q = fromQuery(request);
  return { v: form.get("v") ?? q.v, u: form.get("u") ?? q.u, h: form.get("h") ?? q.h };
}

async function asPage(reply: FastifyReply, render: () => Promise<string>): Promise<FastifyReply> {
  try {
    return await reply.headers(CONSENT_HEADERS).send(await render());
  } catch (err) {
    if (!(err instanceof MatrixError)) throw err;
    return reply.headers(CONSENT_HEADERS).code(err.status).send(consentErrorPage(err.message));
  }
}

export const consentRoutes: RouteModule = (app, deps) => {
  const { accounts } = deps;
  const s = consentSettings(deps.config);
  if (s === null) return;

  /**
   * # `GET /_matrix/consent?v=&u=&h=`
   * - The policy of version `v` (default: the current one) from `<template_dir>/en/<v>.html`; 404 for an unknown
   *   version. With `u` (a localpart or user ID) and `h` (its HMAC-SHA256 with `form_secret`, hex), a form to
   *   accept it, or a note that the user already has; a wrong `h` is 403 "HMAC incorrect".
   */
  app.get(CONSENT_PATH, async (request, reply) =>
    asPage(reply, async () => consentPage(s.config.policy_name, await viewConsent(accounts, s, fromQuery(request)))),
  );

  /**
   * # `POST /_matrix/consent`
   * - Form `v`, `u`, `h`: records `v` as the user's accepted version and the time, then `en/success.html` (or
   *   Gatehouse's own thank-you page).
   */
  app.post(CONSENT_PATH, async (request, reply) =>
    asPage(reply, async () => consentSuccessPage(await acceptConsent(accounts, s, fromForm(request)))),
  );
};
