/**
 * @module The HTML pages of the SSO flow, as Synapse's templates word them: the provider picker, the error page,
 * the "Continue to <host>" confirmation, the username picker and the UIA stage's end. Every value is escaped; each
 * page carries a CSP that lets nothing load or run but what it needs.
 */
import { createHash } from "node:crypto";
import type { FastifyReply } from "fastify";
import type { IdentityProvider } from "../../accounts/sso-login.js";

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const STYLE =
  "body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;line-height:1.5}" +
  "a.button,button{display:inline-block;padding:.5rem 1rem;border:1px solid #0a7;border-radius:.3rem;" +
  "background:#0a7;color:#fff;text-decoration:none;font:inherit;cursor:pointer}" +
  "label{display:block;margin:.8rem 0 .2rem}input[type=text]{width:100%;padding:.4rem;font:inherit}" +
  ".error{color:#b00}ul{list-style:none;padding:0}li{margin:.5rem 0}";

/**
 * No `form-action`: Chromium applies it to the redirects that follow a submission too, and the picker's form ends in
 * a redirect to the client's own URL, whatever its origin or scheme.
 */
function page(title: string, body: string, script?: string): { html: string; csp: string } {
  const scriptHash = script ? createHash("sha256").update(script).digest("base64") : null;
  const csp =
    "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'" +
    (scriptHash ? `; script-src 'sha256-${scriptHash}'` : "");
  const html =
    `<!doctype html><html lang="en"><head><meta charset="utf-8">` +
    `<meta name="viewport" content="width=device-width,initial-scale=1"><title>${escapeHtml(title)}</title>` +
    `<style>${STYLE}</style></head><body>${body}${script ? `<script>${script}</script>` : ""}</body></html>`;
  return { html, csp };
}

export function sendPage(reply: FastifyReply, status: number, p: { html: string; csp: string }): FastifyReply {
  return reply
    .status(status)
    .header("content-type", "text/html; charset=utf-8")
    .header("content-security-policy", p.csp)
    .header("cache-control", "no-store")
    .header("x-frame-options", "DENY")
    .send(p.html);
}

export function errorPage(message: string) {
  return page(
    "Login failed",
    `<h1>There was an error during authentication</h1><p class="error">${escapeHtml(message)}</p>` +
      `<p>If you are seeing this page after clicking a link sent to you via email, make sure you only click the ` +
      `confirmation link once, and that you open the validation link in the same client you're logging in from.</p>` +
      `<p>Try logging in again from your Matrix client.</p>`,
  );
}

export function pickIdpPage(providers: IdentityProvider[], redirectBase: string, redirectUrl: string) {
  const items = providers
    .map((p) => {
      const href = `${redirectBase}/${encodeURIComponent(p.id)}?redirectUrl=${encodeURIComponent(redirectUrl)}`;
      return `<li><a class="button" href="${escapeHtml(href)}">${escapeHtml(p.name)}</a></li>`;
    })
    .join("");
  return page("Choose identity provider", `<h1>Log in with…</h1><ul>${items}</ul>`);
}

export function confirmPage(url: string, userId: string) {
  const host = hostOf(url);
  return page(
    "Continue to your account",
    `<h1>Continue to ${escapeHtml(host)}</h1>` +
      `<p>You are about to give <strong>${escapeHtml(host)}</strong> access to your Matrix account ` +
      `<strong>${escapeHtml(userId)}</strong>. If you did not start this login there, close this page.</p>` +
      `<p><a class="button" href="${escapeHtml(url)}">Continue</a></p>`,
  );
}

function hostOf(url: string): string {
  try {
    const u = new URL(url);
    return u.host || u.protocol.replace(/:$/, "");
  } catch {
    return url;
  }
}

export interface PickUsernameView {
  idpName: string;
  suggestion: string;
  displayname: string | null;
  emails: string[];
  serverName: string;
  error: string | null;
}

/** Synapse's `sso_auth_account_details.html`: a name, and opt-ins for the provider's display name and e-mail. */
export function pickUsernamePage(v: PickUsernameView) {
  const optIns = [
    ...(v.displayname
      ? [
          `<label><input type="checkbox" name="use_display_name" checked> Use the display name ` +
            `“${escapeHtml(v.displayname)}”</label>`,
        ]
      : []),
    ...v.emails.map(
      (e) =>
        `<label><input type="checkbox" name="use_email" value="${escapeHtml(e)}" checked> ` +
        `Use the e-mail address ${escapeHtml(e)}</label>`,
    ),
  ].join("");
  return page(
    "Create your account",
    `<h1>Your account is nearly ready</h1><p>Check your details before you continue (from ${escapeHtml(v.idpName)}).</p>` +
      `<form method="post" action="account_details">` +
      `<label for="username">Username</label>` +
      `<input type="text" id="username" name="username" value="${escapeHtml(v.suggestion)}" required ` +
      `autocapitalize="none" autocorrect="off" spellcheck="false"> <small>:${escapeHtml(v.serverName)}</small>` +
      (v.error ? `<p class="error" id="error">${escapeHtml(v.error)}</p>` : "") +
      optIns +
      `<p><button type="submit">Continue</button></p></form>`,
  );
}

/** The spec's fallback end: tell the opener (or the embedding client) that the stage is done. */
export function authDonePage() {
  const script =
    "if (window.onAuthDone) { window.onAuthDone(); } else if (window.opener && window.opener.postMessage) " +
    '{ window.opener.postMessage("authDone", "*"); }';
  return page(
    "Authentication complete",
    "<h1>Thank you</h1><p>You may now close this window and return to the application.</p>",
    script,
  );
}
