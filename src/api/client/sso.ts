/**
 * @module Single sign-on's browser endpoints: the client's redirect into SSO, Synapse's OIDC callback and its
 * username picker. A refusal on a browser step is an HTML page with the reason (and the log says why); the
 * parameter errors of the client-facing redirect are Matrix errors, as in Synapse.
 */
import type { FastifyReply, FastifyRequest } from "fastify";
import { backchannelLogout } from "../../accounts/sso-logout.js";
import { checkPickedUsername, pickerView, submitPickedUsername } from "../../accounts/sso-picker.js";
import {
  CALLBACK_PATH,
  checkRedirectUrl,
  identityProviders,
  MAPPING_SESSION_COOKIE,
  MAPPING_SESSION_MS,
  OIDC_SESSION_COOKIE,
  OIDC_SESSION_MS,
  oidcCallback,
  publicBaseUrl,
  completeSsoUia,
  startSsoLogin,
  startSsoUia,
  type SsoCompletion,
} from "../../accounts/sso-login.js";
import { SsoError } from "../../accounts/sso-users.js";
import { ErrCode, MatrixError } from "../../errors.js";
import { importSsoAvatar } from "../../media/sso-avatar.js";
import { clientPaths } from "../../http/paths.js";
import { clientIp } from "../../http/request.js";
import type { AppDeps, RouteModule } from "../../http/server.js";
import { authDonePage, confirmPage, errorPage, pickIdpPage, pickUsernamePage, sendPage } from "./sso-pages.js";

const PICK_USERNAME = "/_synapse/client/pick_username";

export function readCookie(request: FastifyRequest, name: string): string | undefined {
  for (const part of (request.headers.cookie ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

function cookieHeader(deps: AppDeps, name: string, value: string, path: string, maxAgeMs: number): string {
  const secure = publicBaseUrl(deps).startsWith("https:") ? "; Secure" : "";
  // Lax: the provider sends the browser back with a top-level GET, which Lax cookies accompany.
  return `${name}=${value}; Path=${path}; Max-Age=${Math.floor(maxAgeMs / 1000)}; HttpOnly; SameSite=Lax${secure}`;
}

/** The redirect to the provider, with the flow's state (state, nonce, PKCE verifier) in its signed cookie. */
function toProviderWithCookie(
  deps: AppDeps,
  reply: FastifyReply,
  r: { location: string; cookie: string },
): FastifyReply {
  return reply
    .status(302)
    .header("location", r.location)
    .header("set-cookie", cookieHeader(deps, OIDC_SESSION_COOKIE, r.cookie, CALLBACK_PATH, OIDC_SESSION_MS))
    .send();
}

function query(request: FastifyRequest): URLSearchParams {
  return new URL(request.url, "http://x").searchParams;
}

/** A browser step's refusal: the reason on a page and in the log, never a token or secret (none is in a message). */
export function sendSsoError(request: FastifyRequest, reply: FastifyReply, err: unknown): FastifyReply {
  if (err instanceof MatrixError) {
    request.log.warn({ reason: err.message, errcode: err.errcode }, "SSO refused");
    return sendPage(reply, err.status, errorPage(err.message));
  }
  request.log.error({ err }, "SSO failed");
  return sendPage(reply, 500, errorPage("Internal server error"));
}

/**
 * Where the client goes with its login token: at once when trusted, else after Synapse's confirmation page. The
 * provider's picture becomes the avatar first; a picture that cannot be had is logged and the login goes on.
 */
export async function sendCompletion(
  deps: AppDeps,
  request: FastifyRequest,
  reply: FastifyReply,
  c: SsoCompletion,
): Promise<FastifyReply> {
  if (c.picture !== null) {
    try {
      await importSsoAvatar(deps.media, c.userId, c.picture);
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      request.log.warn({ userId: c.userId, reason }, "SSO picture not set as the avatar");
    }
  }
  if (c.trusted) return reply.status(302).header("location", c.url).header("cache-control", "no-store").send();
  return sendPage(reply, 200, confirmPage(c.url, c.userId));
}

export const ssoRoutes: RouteModule = (app, deps) => {
  /**
   * # `GET /_matrix/client/v3/login/sso/redirect`, `GET /_matrix/client/v3/login/sso/redirect/{idpId}`
   * - Redirects to the identity provider (the only one, or `idpId`); several and none named: a picker page.
   * - 400 `M_MISSING_PARAM` without `redirectUrl`, 404 `M_NOT_FOUND` for an unknown `idpId` or with no SSO.
   */
  const toProvider = async (request: FastifyRequest, reply: FastifyReply, idpId: string, redirectUrl: string) => {
    try {
      const r = await startSsoLogin(deps, idpId, { redirect: redirectUrl });
      return await toProviderWithCookie(deps, reply, r);
    } catch (err) {
      if (err instanceof SsoError) return sendSsoError(request, reply, err);
      throw err;
    }
  };
  const V3_REDIRECT = clientPaths("/login/sso/redirect").find((p) => p.includes("/v3/"))!;

  for (const base of clientPaths("/login/sso/redirect")) {
    const handler = async (request: FastifyRequest<{ Params: { idpId?: string } }>, reply: FastifyReply) => {
      if (deps.config.oidc_providers.length === 0) throw new MatrixError(ErrCode.NotFound, "SSO is not enabled");
      const redirectUrl = checkRedirectUrl(query(request).get("redirectUrl"));
      let idpId = request.params.idpId;
      if (idpId === undefined) {
        const providers = identityProviders(deps);
        if (providers.length > 1) return sendPage(reply, 200, pickIdpPage(providers, base, redirectUrl));
        idpId = providers[0]!.id;
      }
      return toProvider(request, reply, idpId, redirectUrl);
    };
    app.get(base, handler);
    app.get(`${base}/:idpId`, handler);
  }

  /**
   * # `GET /_synapse/client/pick_idp`
   * - Synapse's provider picker, at its path: `?redirectUrl=` shows the picker; with `&idp=` it goes straight to
   *   that provider, as `/login/sso/redirect/{idp}` does (404 `M_NOT_FOUND` for an unknown one or with no SSO).
   */
  app.get("/_synapse/client/pick_idp", async (request, reply) => {
    if (deps.config.oidc_providers.length === 0) throw new MatrixError(ErrCode.NotFound, "SSO is not enabled");
    const q = query(request);
    const redirectUrl = checkRedirectUrl(q.get("redirectUrl"));
    const idpId = q.get("idp");
    if (idpId === null) return sendPage(reply, 200, pickIdpPage(identityProviders(deps), V3_REDIRECT, redirectUrl));
    return toProvider(request, reply, idpId, redirectUrl);
  });

  /**
   * # `GET /_synapse/client/oidc/callback`
   * - The provider's answer: code exchange (PKCE), ID token (signature, issuer, audience, nonce), userinfo when
   *   configured or needed, `attribute_requirements`, then the account: the hand-off, the username picker, or the
   *   end of a UIA stage. The flow's cookie is cleared whatever happens.
   */
  /**
   * # `GET /_matrix/client/v3/auth/m.login.sso/fallback/web`
   * - `?session=`: the UIA stage `m.login.sso` for an account linked to a provider: through the provider, back to
   *   the callback, which records the stage only if the provider's user is the session's requester and ends on the
   *   spec's page (`onAuthDone` or `postMessage("authDone")`).
   */
  for (const url of clientPaths("/auth/m.login.sso/fallback/web")) {
    app.get(url, async (request, reply) => {
      try {
        const r = await startSsoUia(deps, query(request).get("session"));
        return await toProviderWithCookie(deps, reply, r);
      } catch (err) {
        return sendSsoError(request, reply, err);
      }
    });
  }

  /**
   * # `POST /_synapse/client/oidc/backchannel_logout`
   * - OpenID Connect Back-Channel Logout: a form with `logout_token`, checked as the specification says; the devices
   *   logged in through that provider session are deleted. 200 when done, 400 `{error: "invalid_request"}` when the
   *   token is refused (the reason is logged).
   */
  app.post("/_synapse/client/oidc/backchannel_logout", async (request, reply) => {
    const form = new URLSearchParams(Buffer.isBuffer(request.body) ? request.body.toString("utf8") : "");
    try {
      const ended = await backchannelLogout(deps, form.get("logout_token"));
      request.log.info({ devices: ended }, "SSO back-channel logout");
      return await reply.status(200).header("cache-control", "no-store").send();
    } catch (err) {
      if (!(err instanceof MatrixError)) throw err;
      request.log.warn({ reason: err.message }, "SSO back-channel logout refused");
      return await reply
        .status(400)
        .header("cache-control", "no-store")
        .send({ error: "invalid_request", error_description: err.message });
    }
  });

  app.get(CALLBACK_PATH, async (request, reply) => {
    reply.header("set-cookie", cookieHeader(deps, OIDC_SESSION_COOKIE, "", CALLBACK_PATH, 0));
    try {
      const callbackUrl = new URL(request.url, publicBaseUrl(deps));
      const outcome = await oidcCallback(
        deps,
        callbackUrl,
        readCookie(request, OIDC_SESSION_COOKIE),
        clientIp(request),
      );
      if (outcome.kind === "login") return await sendCompletion(deps, request, reply, outcome.completion);
      if (outcome.kind === "pick") {
        return await reply
          .status(302)
          .header("location", `${PICK_USERNAME}/account_details`)
          .header("set-cookie", [
            cookieHeader(deps, OIDC_SESSION_COOKIE, "", CALLBACK_PATH, 0),
            cookieHeader(deps, MAPPING_SESSION_COOKIE, outcome.cookie, PICK_USERNAME, MAPPING_SESSION_MS),
          ])
          .send();
      }
      return await uiaSsoDone(deps, request, reply, outcome.session, outcome.userId);
    } catch (err) {
      return sendSsoError(request, reply, err);
    }
  });

  /**
   * # `GET /_synapse/client/pick_username/account_details`
   * - The username picker: a name (the template's suggestion, if any), the provider's display name and e-mail as
   *   opt-ins. Needs the 15-minute session cookie the callback set.
   */
  app.get(`${PICK_USERNAME}/account_details`, async (request, reply) => {
    try {
      const view = pickerView(deps, readCookie(request, MAPPING_SESSION_COOKIE));
      return await sendPage(reply, 200, pickUsernamePage({ ...view, error: null }));
    } catch (err) {
      return sendSsoError(request, reply, err);
    }
  });

  /**
   * # `POST /_synapse/client/pick_username/account_details`
   * - A form (`username`, `use_display_name`, `use_email`): the account is made and the client gets its login
   *   token; a refused name shows the form again with the reason.
   */
  app.post(`${PICK_USERNAME}/account_details`, async (request, reply) => {
    const cookie = readCookie(request, MAPPING_SESSION_COOKIE);
    const form = new URLSearchParams(Buffer.isBuffer(request.body) ? request.body.toString("utf8") : "");
    try {
      const completion = await submitPickedUsername(
        deps,
        cookie,
        {
          username: form.get("username") ?? "",
          useDisplayName: form.has("use_display_name"),
          useEmails: form.getAll("use_email"),
        },
        clientIp(request),
      );
      reply.header("set-cookie", cookieHeader(deps, MAPPING_SESSION_COOKIE, "", PICK_USERNAME, 0));
      return await sendCompletion(deps, request, reply, completion);
    } catch (err) {
      if (err instanceof MatrixError && !(err instanceof SsoError)) {
        try {
          const view = pickerView(deps, cookie);
          request.log.info({ reason: err.message }, "SSO username refused");
          const page = pickUsernamePage({ ...view, suggestion: form.get("username") ?? "", error: err.message });
          return await sendPage(reply, 400, page);
        } catch (inner) {
          return sendSsoError(request, reply, inner);
        }
      }
      return sendSsoError(request, reply, err);
    }
  });

  /**
   * # `GET /_synapse/client/pick_username/check`
   * - `?username=`: `{"available": true}`, or the username rules' Matrix error (`M_USER_IN_USE`,
   *   `M_INVALID_USERNAME`). Needs the session cookie, as in Synapse.
   */
  app.get(`${PICK_USERNAME}/check`, async (request) => {
    pickerView(deps, readCookie(request, MAPPING_SESSION_COOKIE));
    return checkPickedUsername(deps, query(request).get("username"));
  });
};

async function uiaSsoDone(
  deps: AppDeps,
  request: FastifyRequest,
  reply: FastifyReply,
  session: string,
  userId: string,
): Promise<FastifyReply> {
  await completeSsoUia(deps, session, userId);
  return await sendPage(reply, 200, authDonePage());
}
