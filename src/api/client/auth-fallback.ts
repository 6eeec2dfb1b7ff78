/**
 * @module The spec's UIA fallback pages ("Fallback" under User-Interactive Authentication) for the stages clients
 * may not know (the CAPTCHAs, `m.login.terms`), the self-hosted CAPTCHA's challenge endpoint, and the CAPTCHA
 * widget's files (with the pages' stylesheet).
 */
import { createHash } from "node:crypto";
import {
  ALTCHA_CHALLENGE_PATH,
  ALTCHA_STAGE,
  issueAltchaChallenge,
  verifyAltchaSolution,
} from "../../accounts/altcha.js";
import { consentSettings, policyUrl } from "../../accounts/consent.js";
import { AuthType, completeStageOutOfBand } from "../../accounts/uia.js";
import { ErrCode, MatrixError } from "../../errors.js";
import { ALTCHA_ASSETS_PREFIX, altchaWidgetFiles } from "../../http/altcha-widget.js";
import {
  altchaFallbackPage,
  FALLBACK_HEADERS,
  fallbackDonePage,
  fallbackHeaders,
  recaptchaFallbackPage,
  termsFallbackPage,
  widgetForVerifier,
} from "../../http/fallback-pages.js";
import { RECAPTCHA_STAGE, verifyRecaptcha } from "../../accounts/recaptcha.js";
import { clientIp } from "../../http/request.js";
import type { RouteModule } from "../../http/server.js";

function stringParam(obj: unknown, name: string): string | null {
  const v = (obj as Record<string, unknown> | undefined)?.[name];
  const s: unknown = Array.isArray(v) ? v[0] : v;
  return typeof s === "string" ? s : null;
}

/** The fallback form arrives as `application/x-www-form-urlencoded`, which the server leaves as bytes. */
function formBody(body: unknown): URLSearchParams {
  if (Buffer.isBuffer(body)) return new URLSearchParams(body.toString("utf8"));
  if (typeof body === "string") return new URLSearchParams(body);
  return new URLSearchParams();
}

/** A day: the names carry no content hash, and the ETag makes the next check cheap. */
const WIDGET_CACHE = "public, max-age=86400";

export const authFallbackRoutes: RouteModule = (app, deps) => {
  const { config, accounts, limiter } = deps;
  const consent = consentSettings(config);
  const termsAtRegistration = consent?.config.require_at_registration === true;
  if (!config.altcha.enabled && !config.recaptcha.enabled && !termsAtRegistration) return;
  const challengeUrl = (sessionId: string) => `${ALTCHA_CHALLENGE_PATH}?session=${encodeURIComponent(sessionId)}`;

  /**
   * # `GET /_gatehouse/altcha/challenge?session=`
   * - A new proof-of-work challenge signed for that open UIA session; rate-limited by `altcha.rc_challenge`. Costs
   *   one HMAC: the work is the solver's.
   */
  if (config.altcha.enabled)
    app.get(ALTCHA_CHALLENGE_PATH, async (request, reply) => {
      await limiter.check("altcha_challenge", clientIp(request), config.altcha.rc_challenge);
      const challenge = await issueAltchaChallenge(accounts, config.altcha, stringParam(request.query, "session"));
      reply.header("cache-control", "no-store");
      return challenge;
    });

  /**
   * # `GET /_gatehouse/altcha/{file}`
   * - The widget (`altcha.js`, `altcha.css`), its PBKDF2 worker (`workers/pbkdf2.js`) and the pages' own scripts.
   */
  const etags = new Map<string, string>();
  app.get(`${ALTCHA_ASSETS_PREFIX}/*`, async (request, reply) => {
    const name = (request.params as { "*": string })["*"];
    const file = altchaWidgetFiles().get(name);
    if (!file) throw new MatrixError(ErrCode.NotFound, "Not found");
    let etag = etags.get(name);
    if (etag === undefined) {
      etag = `"${createHash("sha256").update(file.body).digest("base64url").slice(0, 27)}"`;
      etags.set(name, etag);
    }
    reply.header("content-type", file.contentType);
    reply.header("cache-control", WIDGET_CACHE);
    reply.header("x-content-type-options", "nosniff");
    reply.header("etag", etag);
    if (request.headers["if-none-match"] === etag) return reply.code(304).send();
    return reply.send(file.body);
  });

  type Stage = "altcha" | "recaptcha" | "terms";
  const stageOf = (params: unknown): Stage => {
    const stage = (params as { stage: string }).stage;
    if (stage === ALTCHA_STAGE && config.altcha.enabled) return "altcha";
    if (stage === RECAPTCHA_STAGE && config.recaptcha.enabled) return "recaptcha";
    if (stage === (AuthType.Terms as string) && termsAtRegistration) return "terms";
    throw new MatrixError(ErrCode.NotFound, "Unknown auth stage type");
  };
  const widget = widgetForVerifier(config.recaptcha.siteverify_api);
  const recaptchaHeaders = fallbackHeaders(widget.origins);
  const policies = consent ? [{ name: consent.config.policy_name, url: policyUrl(consent) }] : [];
  const form = (stage: Stage, session: string, error: string | null): [Record<string, string>, string] =>
    stage === "altcha"
      ? [FALLBACK_HEADERS, altchaFallbackPage(session, challengeUrl(session), error)]
      : stage === "terms"
        ? [FALLBACK_HEADERS, termsFallbackPage(session, policies, error)]
        : [recaptchaHeaders, recaptchaFallbackPage(session, widget, config.recaptcha.public_key ?? "", error)];

  for (const version of ["r0", "v3"]) {
    const url = `/_matrix/client/${version}/auth/:stage/fallback/web`;

    /**
     * # `GET /_matrix/client/v3/auth/{auth_type}/fallback/web?session=`
     * - `org.gatehouse.altcha`: the widget and a form that posts the solution back here.
     * - `m.login.recaptcha`: the provider's widget (reCAPTCHA, hCaptcha or Turnstile, by the verifier's host).
     * - `m.login.terms`: a link to the policy and a box to tick.
     */
    app.get(url, async (request, reply) => {
      const stage = stageOf(request.params);
      const session = stringParam(request.query, "session");
      if (session === null) throw new MatrixError(ErrCode.MissingParam, "Missing string query parameter 'session'");
      const [headers, html] = form(stage, session, null);
      return reply.headers(headers).send(html);
    });

    /**
     * # `POST /_matrix/client/v3/auth/{auth_type}/fallback/web`
     * - Checks the form's answer for the form's session and marks the stage complete in that UIA session
     *   (Synapse's `add_oob_auth`), then the page that calls `window.onAuthDone()` or posts `authDone` to its
     *   opener. A refused answer shows the form again with the reason, with the refusal's status.
     */
    app.post(url, async (request, reply) => {
      const stage = stageOf(request.params);
      const ip = clientIp(request);
      await limiter.check("captcha_fallback", ip, config.altcha.rc_challenge);
      const body = formBody(request.body);
      const session = body.get("session") ?? stringParam(request.query, "session");
      if (session === null) throw new MatrixError(ErrCode.MissingParam, "Missing parameter 'session'");
      try {
        if (stage === "altcha") {
          await completeStageOutOfBand(accounts, session, ALTCHA_STAGE, (s) =>
            verifyAltchaSolution(accounts, config.altcha, body.get("altcha"), s.sessionId),
          );
        } else if (stage === "terms") {
          await completeStageOutOfBand(accounts, session, AuthType.Terms, () =>
            body.getAll("accept").length >= policies.length
              ? Promise.resolve(true)
              : Promise.reject(new MatrixError(ErrCode.Forbidden, "Tick the box to accept the policy")),
          );
        } else {
          await completeStageOutOfBand(accounts, session, RECAPTCHA_STAGE, () =>
            verifyRecaptcha(config.recaptcha, body.get(widget.field), ip),
          );
        }
      } catch (err) {
        if (!(err instanceof MatrixError) || err.errcode === ErrCode.LimitExceeded) throw err;
        const [headers, html] = form(stage, session, err.message);
        return reply.headers(headers).code(err.status).send(html);
      }
      return reply.headers(FALLBACK_HEADERS).send(fallbackDonePage());
    });
  }
};
