/**
 * @module The HTML of the spec's UIA fallback pages (`/_matrix/client/v3/auth/{type}/fallback/web`): a form that
 * posts back to its own URL, and the page that tells the client the stage is done. No inline script or style.
 */
import { ALTCHA_ASSETS_PREFIX } from "./altcha-widget.js";

/**
 * The pages' CSP with no `cross-origin-opener-policy`: the client that opened the page in a popup must keep its
 * `window.opener` to hear `authDone`. Framing stays refused, as a CAPTCHA in someone else's frame is a lure.
 */
export const FALLBACK_HEADERS: Record<string, string> = {
  "content-security-policy": [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "form-action 'self'",
  ].join("; "),
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
  "cache-control": "no-store",
  "content-type": "text/html; charset=utf-8",
};

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

/** Shown once the stage is complete; its script calls `onAuthDone` or posts `authDone` to the opener. */
export function fallbackDonePage(): string {
  return page(
    "Done",
    `<script defer src="${ALTCHA_ASSETS_PREFIX}/done.js"></script>`,
    "<h1>Thank you</h1>\n<p>You may now close this window and return to the application.</p>",
  );
}
