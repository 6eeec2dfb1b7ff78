/**
 * @module E-mail addresses of the client API (spec: "Adding Account Administrative Contact Information", the
 * `requestToken` endpoints) and the validation links Gatehouse mails, which a browser opens under `public_baseurl`.
 */
import type { FastifyReply, FastifyRequest } from "fastify";
import { addThreepid, deleteThreepid } from "../../accounts/account-threepids.js";
import {
  checkSubmitToken,
  requestEmailToken,
  submitToken,
  SUBMIT_TOKEN_PATHS,
  type ValidationPurpose,
} from "../../accounts/threepid-validation.js";
import { ErrCode, MatrixError } from "../../errors.js";
import { requireNonGuest } from "../../http/auth.js";
import { clientPaths } from "../../http/paths.js";
import { clientIp, jsonObjectBody } from "../../http/request.js";
import type { RouteModule } from "../../http/server.js";

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * A page of the validation flow. The link's query holds the token, so no referrer leaves the page; nothing loads
 * from anywhere, and a form may only post back here.
 */
function sendPage(reply: FastifyReply, status: number, title: string, message: string, form = ""): FastifyReply {
  return reply
    .status(status)
    .header("content-type", "text/html; charset=utf-8")
    .header(
      "content-security-policy",
      "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
    )
    .header("referrer-policy", "no-referrer")
    .header("cache-control", "no-store")
    .send(
      `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>` +
        `<meta name="viewport" content="width=device-width"><style>body{font-family:sans-serif;max-width:36em;` +
        `margin:3em auto;padding:0 1em}</style></head><body><h1>${escapeHtml(title)}</h1>` +
        `<p>${escapeHtml(message)}</p>${form}</body></html>`,
    );
}

interface LinkParams {
  token: string | null;
  client_secret: string | null;
  sid: string | null;
}

function queryOf(request: FastifyRequest): LinkParams {
  const q = request.query as Record<string, unknown>;
  const one = (k: string) => {
    const v: unknown = Array.isArray(q[k]) ? (q[k] as unknown[])[0] : q[k];
    return typeof v === "string" ? v : null;
  };
  return { token: one("token"), client_secret: one("client_secret"), sid: one("sid") };
}

function formOf(request: FastifyRequest): LinkParams {
  const body = Buffer.isBuffer(request.body) ? request.body.toString("utf8") : "";
  const form = new URLSearchParams(body);
  return { token: form.get("token"), client_secret: form.get("client_secret"), sid: form.get("sid") };
}

const FAILED = "The link is not valid: it may have been used already, or it has expired. Ask for a new one.";

export const threepidRoutes: RouteModule = (app, deps) => {
  const { accounts } = deps;

  const requestToken = (path: string, purpose: ValidationPurpose) => {
    for (const url of clientPaths(path)) {
      app.post(url, async (request) =>
        requestEmailToken(deps, { purpose, body: jsonObjectBody(request), ip: clientIp(request) }),
      );
    }
  };
  /**
   * # `POST /_matrix/client/v3/register/email/requestToken`
   * - `{client_secret, email, send_attempt, next_link?}` → `{sid}`; the mail goes out through the outbox.
   * - 400 when `email` is not configured; `M_THREEPID_IN_USE` for an address on an account (unless
   *   `request_token_inhibit_3pid_errors`: then a `sid` as if sent); `M_THREEPID_DENIED` outside
   *   `allowed_local_3pids`; 429 past `rc_3pid_validation` (per client address and per e-mail address).
   * - The same `client_secret` and address with a `send_attempt` no higher than the last: the same `sid`, no mail.
   */
  requestToken("/register/email/requestToken", "register");
  /**
   * # `POST /_matrix/client/v3/account/3pid/email/requestToken`
   * - As the registration one, for `POST /account/3pid/add`; closed by `enable_3pid_changes: false`.
   */
  requestToken("/account/3pid/email/requestToken", "add");
  /**
   * # `POST /_matrix/client/v3/account/password/email/requestToken`
   * - For the unauthenticated `POST /account/password`; `M_THREEPID_NOT_FOUND` for an address on no account
   *   (unless `request_token_inhibit_3pid_errors`).
   */
  requestToken("/account/password/email/requestToken", "reset");

  /**
   * # `POST /_matrix/client/v3/{register,account/3pid,account/password}/msisdn/requestToken`
   * - 400 `M_THREEPID_MEDIUM_NOT_SUPPORTED`: Gatehouse sends no text messages.
   */
  for (const path of ["/register", "/account/3pid", "/account/password"]) {
    for (const url of clientPaths(`${path}/msisdn/requestToken`)) {
      app.post(url, async () => {
        throw new MatrixError(ErrCode.ThreepidMediumNotSupported, "Phone numbers are not supported on this server");
      });
    }
  }

  /**
   * # `GET /_matrix/client/unstable/registration/email/submit_token`
   * # `GET /_matrix/client/unstable/add_threepid/email/submit_token`
   * - The links mailed for registration and for adding an address: `?token&client_secret&sid`. Validates the
   *   session (the token is spent) and redirects to the request's `next_link` if it gave one, or shows a page.
   */
  for (const purpose of ["register", "add"] as const) {
    app.get(`/${SUBMIT_TOKEN_PATHS[purpose]}`, async (request, reply) => {
      const q = queryOf(request);
      try {
        const { nextLink } = await submitToken(deps, {
          purpose,
          sid: q.sid,
          clientSecret: q.client_secret,
          token: q.token,
        });
        if (nextLink !== null) return await reply.status(302).header("location", nextLink).send();
        return await sendPage(
          reply,
          200,
          "Address confirmed",
          "Your e-mail address is confirmed. You can close this page.",
        );
      } catch (err) {
        if (err instanceof MatrixError) return sendPage(reply, 400, "Confirmation failed", FAILED);
        throw err;
      }
    });
  }

  /**
   * # `GET /_synapse/client/password_reset/email/submit_token`
   * - The password-reset link shows a page asking to confirm, and validates nothing: a mail scanner or link
   *   prefetcher that opens it cannot reset anyone's password.
   *
   * # `POST /_synapse/client/password_reset/email/submit_token`
   * - The page's form (`token`, `client_secret`, `sid`, form-encoded): validates the session; redirects to
   *   `next_link` or shows a page saying to go back to the client.
   */
  const resetPath = `/${SUBMIT_TOKEN_PATHS.reset}`;
  app.get(resetPath, async (request, reply) => {
    const q = queryOf(request);
    try {
      await checkSubmitToken(deps, { purpose: "reset", sid: q.sid, clientSecret: q.client_secret, token: q.token });
    } catch (err) {
      if (err instanceof MatrixError) return sendPage(reply, 400, "Password reset failed", FAILED);
      throw err;
    }
    const hidden = (["token", "client_secret", "sid"] as const)
      .map((k) => `<input type="hidden" name="${k}" value="${escapeHtml(q[k]!)}">`)
      .join("");
    return sendPage(
      reply,
      200,
      "Reset your password",
      `A password reset was asked for the account on ${accounts.serverName} that holds this address. ` +
        "Confirm to continue in your Matrix client.",
      `<form method="post" action="${escapeHtml(resetPath)}">${hidden}<button type="submit">Confirm</button></form>`,
    );
  });
  app.post(resetPath, async (request, reply) => {
    const f = formOf(request);
    try {
      const { nextLink } = await submitToken(deps, {
        purpose: "reset",
        sid: f.sid,
        clientSecret: f.client_secret,
        token: f.token,
      });
      if (nextLink !== null) return await reply.status(302).header("location", nextLink).send();
      return await sendPage(
        reply,
        200,
        "Address confirmed",
        "Your e-mail address is confirmed. Go back to your Matrix client to choose the new password.",
      );
    } catch (err) {
      if (err instanceof MatrixError) return sendPage(reply, 400, "Password reset failed", FAILED);
      throw err;
    }
  });

  /**
   * # `POST /_matrix/client/v3/account/3pid/add`
   * - `{client_secret, sid, auth}`: UIA `[m.login.password]`, then the session opened by
   *   `/account/3pid/email/requestToken` and validated by its link: 400 `M_THREEPID_AUTH_FAILED` "No validated 3pid
   *   session found" otherwise; `M_THREEPID_IN_USE` if another account took the address meanwhile.
   * - 400 `M_FORBIDDEN` when `enable_3pid_changes` is false.
   */
  for (const url of clientPaths("/account/3pid/add")) {
    app.post(url, async (request) => {
      const requester = await requireNonGuest(request, accounts);
      await addThreepid(deps, requester, {
        uri: request.url.split("?")[0]!,
        method: request.method,
        body: jsonObjectBody(request),
      });
      return {};
    });
  }

  /**
   * # `POST /_matrix/client/v3/account/3pid/delete`
   * - `{medium, address}`: removes the address from the requester's account (400 `M_THREEPID_NOT_FOUND` when it is
   *   not on it; `M_THREEPID_MEDIUM_NOT_SUPPORTED` for a medium other than `email`). `{"id_server_unbind_result":
   *   "no-support"}`: no identity server is involved.
   */
  for (const url of clientPaths("/account/3pid/delete")) {
    app.post(url, async (request) => {
      const requester = await requireNonGuest(request, accounts);
      return deleteThreepid(deps, requester, jsonObjectBody(request));
    });
  }
};
