/**
 * Headless Chromium for the web tests and the screenshot script: Debian's `chromium` driven by playwright-core
 * (which never downloads a browser of its own here), cut off from everything but loopback.
 */
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";

export const CHROMIUM = process.env.GATEHOUSE_CHROMIUM ?? "/usr/bin/chromium";

/** Flags for a quiet, offline browser; playwright gives each launch a fresh temporary profile (user data dir). */
const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true });
}

export interface WatchedPage {
  page: Page;
  context: BrowserContext;
  /** Console errors (CSP refusals among them) and uncaught exceptions, as text. */
  problems: string[];
}

/** A new context and page; any request that is not to loopback is aborted, so a test cannot reach the Internet. */
export async function openPage(
  browser: Browser,
  options: { width?: number; height?: number } = {},
): Promise<WatchedPage> {
  const context = await browser.newContext({
    viewport: { width: options.width ?? 1200, height: options.height ?? 900 },
    locale: "en-GB",
    timezoneId: "UTC",
  });
  await context.route("**/*", (route) => {
    const host = new URL(route.request().url()).hostname;
    return host === "127.0.0.1" || host === "localhost" || host === "[::1]" ? route.continue() : route.abort();
  });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on("console", (m) => {
    // Chromium logs every 4xx answer as an error; the pages expect some (a UIA step's 401, a non-admin's 403).
    const expected = /^Failed to load resource: the server responded with a status of 4\d\d/.test(m.text());
    if (m.type() === "error" && !expected) problems.push(`console: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  return { page, context, problems };
}
