/**
 * The self-hosted CAPTCHA in headless Chromium, as people meet it: the sign-up page walks the proof-of-work stage
 * with the widget Gatehouse serves, and the spec's fallback page, opened as a popup the way Element opens it,
 * posts `authDone` to its opener. No CSP refusal or page error along the way.
 */
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call } from "../helpers/http.js";
import { launchBrowser, openPage, type WatchedPage } from "./browser.js";
import { closeAll, startWebFixture, type WebFixture } from "./support.js";

const STAGE = "org.gatehouse.altcha";
let fx: WebFixture;
let browser: Browser;
const opened: WatchedPage[] = [];

beforeAll(async () => {
  [fx, browser] = await Promise.all([
    startWebFixture("sqlite", {
      registration_requires_token: false,
      altcha: {
        enabled: true,
        cost: 10,
        difficulty: 1,
        rc_challenge: { per_second: 100, burst_count: 100 },
      },
    }),
    launchBrowser(),
  ]);
});

afterAll(async () => {
  for (const w of opened) expect(w.problems).toEqual([]);
  await closeAll(browser, fx);
});

describe("the self-hosted CAPTCHA in a browser", () => {
  it("the sign-up page: username and password, then the widget solves, then the account exists", async () => {
    const watched = await openPage(browser, { width: 390, height: 844 });
    opened.push(watched);
    const p = watched.page;
    await p.goto(`${fx.url}/_gatehouse/register/`);
    await p.getByLabel("Username").fill("pow");
    await p.getByLabel("Password", { exact: true }).fill("a long enough password");
    await p.getByLabel("Password again").fill("a long enough password");
    await p.getByRole("button", { name: "Create account" }).click();
    await p.getByTestId("captcha-stage").waitFor();
    await p.getByText("I'm not a robot").click();
    expect(await p.getByTestId("new-user-id").textContent({ timeout: 30_000 })).toBe("@pow:localhost");
  });

  it("the fallback page, opened as a popup, posts authDone to its opener and completes the stage", async () => {
    const first = await call(fx.url, "POST", "/_matrix/client/v3/register", {
      json: { username: "popup", password: "a long enough password" },
    });
    expect(first.status).toBe(401);
    const session = first.body.session as string;

    const watched = await openPage(browser);
    opened.push(watched);
    const opener = watched.page;
    await opener.goto(`${fx.url}/_matrix/client/versions`);
    // Strings, not functions: the test's TypeScript has no DOM types.
    const message = opener.evaluate(
      'new Promise((resolve) => window.addEventListener("message", (e) => resolve({ data: e.data, origin: e.origin })))',
    );
    const popupOpened = watched.context.waitForEvent("page");
    const fallback = `${fx.url}/_matrix/client/v3/auth/${STAGE}/fallback/web?session=${session}`;
    await opener.evaluate(`void window.open(${JSON.stringify(fallback)}, "gatehouse-auth")`);
    const popup = await popupOpened;
    popup.on("console", (m) => {
      if (m.type() === "error") watched.problems.push(`popup console: ${m.text()}`);
    });
    popup.on("pageerror", (e) => watched.problems.push(`popup error: ${e.message}`));
    await popup.getByText("I'm not a robot").click();
    await popup
      .locator("altcha-widget[data-state=verified], altcha-widget .altcha[data-state=verified]")
      .first()
      .waitFor();
    await popup.getByRole("button", { name: "Continue" }).click();
    // Element checks the origin: it must be the homeserver's own.
    expect(await message).toEqual({ data: "authDone", origin: fx.url });

    const after = await call(fx.url, "POST", "/_matrix/client/v3/register", { json: { auth: { session } } });
    expect(after.status).toBe(401);
    expect(after.body.completed).toEqual([STAGE]);
  });
});
