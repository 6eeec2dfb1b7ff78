/**
 * @module The HTML of the spec's UIA fallback pages (`/_matrix/client/v3/auth/{type}/fallback/web`): a form that
 * posts back to its own URL, and the page that tells the client the stage is done. No inline script or style.
 */
import { ALTCHA_ASSETS_PREFIX } from "./altcha-widget.js";

const COMMON_HEADERS: Record<string, string> = {
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
  "cache-control": "no-store",
  "content-type": "text/html; charset=utf-8",
};

/**
 * The pages' CSP with no `cross-origin-opener-policy`: the client that opened the page in a popup must keep its
 * `window.opener` to hear `authDone`. Framing stays refused, as a CAPTCHA in someone else's frame is a lure.
 */
export const FALLBACK_HEADERS: Record<string, string> = fallbackHeaders([]);

/** The headers with `origins` also allowed to run scripts, frames and styles (a third-party CAPTCHA's). */
export function fallbackHeaders(origins: string[]): Record<string, string> {
  const extra = origins.map((o) => ` ${o}`).join("");
  return {
    "content-security-policy": [
      "default-src 'none'",
      `script-src 'self'${extra}`,
      `style-src 'self'${extra}`,
      "img-src 'self' data:",
      `connect-src 'self'${extra}`,
      ...(origins.length > 0 ? [`frame-src${extra}`] : []),
      "frame-ancestors 'none'",
      "base-uri 'none'",
      "form-action 'self'",
    ].join("; "),
    ...COMMON_HEADERS,
  };
}

/**
 * The third-party widgets that share reCAPTCHA's siteverify shape, told apart by the verifier's host: each has its
 * own script, element class and form field.
 */
export interface ThirdPartyWidget {
  name: string;
  script: string;
  className: string;
  field: string;
  origins: string[];
}

const RECAPTCHA_WIDGET: ThirdPartyWidget = {
  name: "reCAPTCHA",
  script: "https://www.recaptcha.net/recaptcha/api.js",
  className: "g-recaptcha",
  field: "g-recaptcha-response",
  origins: ["https://www.recaptcha.net", "https://www.google.com", "https://www.gstatic.com"],
};

export function widgetForVerifier(siteverifyApi: string): ThirdPartyWidget {
  const host = new URL(siteverifyApi).hostname;
  if (host.endsWith("hcaptcha.com")) {
    return {
      name: "hCaptcha",
      script: "https://js.hcaptcha.com/1/api.js",
      className: "h-captcha",
      field: "h-captcha-response",
      origins: ["https://hcaptcha.com", "https://*.hcaptcha.com"],
    };
  }
  if (host === "challenges.cloudflare.com") {
    return {
      name: "Turnstile",
      script: "https://challenges.cloudflare.com/turnstile/v0/api.js",
      className: "cf-turnstile",
      field: "cf-turnstile-response",
      origins: ["https://challenges.cloudflare.com"],
    };
  }
  return RECAPTCHA_WIDGET;
}

/** The `m.login.recaptcha` form, as Synapse's `recaptcha.html`: the provider's widget fills its field, posted here. */
export function recaptchaFallbackPage(
  sessionId: string,
  widget: ThirdPartyWidget,
  publicKey: string,
  error: string | null,
): string {
  return page(
    "Confirm you are not a robot",
    `<script async defer src="${escapeHtml(widget.script)}"></script>`,
    `<h1>Confirm you are not a robot</h1>
<p>This server uses ${escapeHtml(widget.name)}, a third-party service, to check sign-ups.</p>
${error === null ? "" : `<p class="error" role="alert">${escapeHtml(error)}</p>`}
<form method="post">
<input type="hidden" name="session" value="${escapeHtml(sessionId)}">
<div class="${widget.className}" data-sitekey="${escapeHtml(publicKey)}"></div>
<button type="submit">Continue</button>
</form>`,
  );
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

function page(title: string, head: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<link rel="stylesheet" href="${ALTCHA_ASSETS_PREFIX}/fallback.css">
${head}
</head>
<body>
<main>
${body}
</main>
</body>
</html>
`;
}

/** The proof-of-work form: the widget solves in the browser and puts its payload in the `altcha` field. */
export function altchaFallbackPage(sessionId: string, challengeUrl: string, error: string | null): string {
  const head = [
    `<link rel="stylesheet" href="${ALTCHA_ASSETS_PREFIX}/altcha.css">`,
    `<script defer src="${ALTCHA_ASSETS_PREFIX}/altcha.js"></script>`,
    `<script defer src="${ALTCHA_ASSETS_PREFIX}/setup.js"></script>`,
  ].join("\n");
  return page(
    "Confirm you are not a robot",
    head,
    `<h1>Confirm you are not a robot</h1>
${error === null ? "" : `<p class="error" role="alert">${escapeHtml(error)}</p>`}
<form method="post">
<input type="hidden" name="session" value="${escapeHtml(sessionId)}">
<altcha-widget name="altcha" challenge="${escapeHtml(challengeUrl)}"></altcha-widget>
<button type="submit">Continue</button>
</form>`,
  );
}

/** A policy to accept on the terms page: its name and where to read it. */
export interface TermsPolicy {
  name: string;
  url: string;
}

/**
 * The `m.login.terms` form, as Synapse's `terms.html`: a link to each policy and a box to tick for it; the form
 * posts back here and completes the stage.
 */
export function termsFallbackPage(sessionId: string, policies: TermsPolicy[], error: string | null): string {
  const boxes = policies
    .map(
      (p, i) =>
        `<p><label><input type="checkbox" name="accept" value="${i}" required> I have read and agree to the ` +
        `<a href="${escapeHtml(p.url)}" target="_blank" rel="noopener">${escapeHtml(p.name)}</a></label></p>`,
    )
    .join("\n");
  return page(
    "Terms and conditions",
    "",
    `<h1>Terms and conditions</h1>
${error === null ? "" : `<p class="error" role="alert">${escapeHtml(error)}</p>`}
<form method="post">
<input type="hidden" name="session" value="${escapeHtml(sessionId)}">
${boxes}
<button type="submit">Accept</button>
</form>`,
  );
}

/** Shown once the stage is complete; its script calls `onAuthDone` or posts `authDone` to the opener. */
export function fallbackDonePage(): string {
  return page(
    "Done",
    `<script defer src="${ALTCHA_ASSETS_PREFIX}/done.js"></script>`,
    "<h1>Thank you</h1>\n<p>You may now close this window and return to the application.</p>",
  );
}
