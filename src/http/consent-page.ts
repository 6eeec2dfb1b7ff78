/**
 * @module The HTML of `/_matrix/consent`: the operator's policy (trusted, shown as written) inside Gatehouse's page,
 * with the form that accepts it for the user the link names. No script runs; a form may only post back here.
 */
import type { ConsentView } from "../accounts/consent.js";
import { CONSENT_PATH } from "../accounts/consent.js";
import { escapeHtml } from "./fallback-pages.js";

export const CONSENT_HEADERS: Record<string, string> = {
  "content-security-policy": [
    "default-src 'none'",
    "script-src 'none'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: https:",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join("; "),
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cache-control": "no-store",
  "content-type": "text/html; charset=utf-8",
};

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>body{font-family:sans-serif;max-width:42em;margin:2em auto;padding:0 1em}</style>
</head>
<body>
${body}
</body>
</html>
`;
}

export function consentPage(policyName: string, view: ConsentView): string {
  let footer = "";
  if (view.user !== null && view.hasConsented) {
    footer = `<p class="accepted">You have already accepted this version.</p>`;
  } else if (view.user !== null) {
    const hidden = (name: string, value: string) => `<input type="hidden" name="${name}" value="${escapeHtml(value)}">`;
    footer = `<form method="post" action="${CONSENT_PATH}">
${hidden("v", view.version)}
${hidden("u", view.user.u)}
${hidden("h", view.user.h)}
<p><label><input type="checkbox" required> I have read and agree to the ${escapeHtml(policyName)}</label></p>
<button type="submit">Accept</button>
</form>`;
  }
  return page(policyName, `<main>\n${view.policyHtml}\n</main>\n${footer}`);
}

export function consentSuccessPage(operatorHtml: string | null): string {
  return page(
    "Thank you",
    operatorHtml ?? "<h1>Thank you</h1>\n<p>You have accepted the policy. You may now return to your client.</p>",
  );
}

/** A refusal as a page, since a browser opened the link. */
export function consentErrorPage(message: string): string {
  return page("Error", `<h1>Error</h1>\n<p>${escapeHtml(message)}</p>`);
}
