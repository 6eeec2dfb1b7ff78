/**
 * The sign-up page in headless Chromium: invite links that are used up, expired or bound to one name, open and
 * closed registration (open with terms to accept), the e-mail stage, every stage (CAPTCHA, terms, e-mail) in one
 * sign-up, a sign-up done with the keyboard alone, the phone-width layout, and the CSP at work.
 */
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call } from "../helpers/http.js";
import { linkIn, startSmtpSink, type SmtpSink } from "../helpers/smtp-sink.js";
import { termsConfig } from "../helpers/terms.js";
import { launchBrowser, openPage, type WatchedPage } from "./browser.js";
import { closeAll, NO_SIDEWAYS_SCROLL, startWebFixture, type WebFixture } from "./support.js";

const SIGNUP = "/_gatehouse/register/";

/** Types the password twice on the sign-up form and sends it. */
async function submitPasswords(p: Page, password: string): Promise<void> {
  await p.getByLabel("Password", { exact: true }).fill(password);
  await p.getByLabel("Password again").fill(password);
  await p.getByRole("button", { name: "Create account" }).click();
}

let invites: WebFixture;
let open: WebFixture;
let closed: WebFixture;
let withEmail: WebFixture;
let everything: WebFixture;
let sink: SmtpSink;
let browser: Browser;
const BASE = "https://matrix.example.org/";
const opened: WatchedPage[] = [];

beforeAll(async () => {
  sink = await startSmtpSink();
  [invites, open, closed, withEmail, everything, browser] = await Promise.all([
    startWebFixture("sqlite", {
      password_config: { policy: { enabled: true, minimum_length: 12, require_digit: true } },
    }),
    startWebFixture("sqlite", {
      registration_requires_token: false,
      enable_registration_without_verification: true,
      ...termsConfig(),
    }),
    startWebFixture("sqlite", { enable_registration: false, registration_requires_token: false }),
    startWebFixture("sqlite", {
      registration_requires_token: false,
      registrations_require_3pid: ["email"],
      public_baseurl: BASE,
      email: { smtp_host: "127.0.0.1", smtp_port: sink.port, enable_tls: false, notif_from: "noreply@example.org" },
      rc_3pid_validation: { per_second: 100, burst_count: 100 },
    }),
    startWebFixture("sqlite", {
      registration_requires_token: false,
      registrations_require_3pid: ["email"],
      public_baseurl: BASE,
      email: { smtp_host: "127.0.0.1", smtp_port: sink.port, enable_tls: false, notif_from: "noreply@example.org" },
      rc_3pid_validation: { per_second: 100, burst_count: 100 },
      altcha: { enabled: true, cost: 10, difficulty: 1, rc_challenge: { per_second: 100, burst_count: 100 } },
      ...termsConfig(),
    }),
    launchBrowser(),
  ]);
});

afterAll(async () => {
  await closeAll(browser, invites, open, closed, withEmail, everything);
  await sink.close();
});

async function page(width = 390, height = 844): Promise<Page> {
  const watched = await openPage(browser, { width, height });
  opened.push(watched);
  return watched.page;
}

async function newToken(fx: WebFixture, body: Record<string, unknown> = {}): Promise<string> {
  return (await fx.admin("POST", "/_synapse/admin/v1/registration_tokens/new", body)).token as string;
}

async function tokenCounts(fx: WebFixture, token: string) {
  return fx.admin("GET", `/_synapse/admin/v1/registration_tokens/${token}`);
}

describe("the sign-up page", () => {
  it("signs up with the keyboard alone: Tab between fields, Enter to send", async () => {
    const token = await newToken(invites, { uses_allowed: 1 });
    const p = await page();
    await p.goto(`${invites.url}${SIGNUP}?token=${token}`);
    await p.getByRole("button", { name: "Create account" }).waitFor();
    // The username field has the focus on arrival.
    await p.keyboard.type("keys");
    await p.keyboard.press("Tab");
    await p.keyboard.type("short1");
    // The policy is checked as one types, before anything is sent.
    expect(await p.locator(".checks li.met").allTextContents()).toEqual(["A digit (0–9)"]);
    await p.keyboard.press("Tab");
    await p.keyboard.type("short1");
    await p.keyboard.press("Enter");
    await p.getByText("The password does not meet every rule below.").waitFor();
    expect((await tokenCounts(invites, token)).pending).toBe(0);

    await p.getByLabel("Password", { exact: true }).focus();
    await p.keyboard.press("ControlOrMeta+a");
    await p.keyboard.type("twelve chars 1");
    await p.keyboard.press("Tab");
    await p.keyboard.press("ControlOrMeta+a");
    await p.keyboard.type("twelve chars 1");
    await p.keyboard.press("Enter");
    expect(await p.getByTestId("new-user-id").textContent()).toBe("@keys:localhost");
    expect(await tokenCounts(invites, token)).toMatchObject({ pending: 0, completed: 1 });
    expect(await p.evaluate(NO_SIDEWAYS_SCROLL)).toBe(true);
  });

  it("says so when the invite is used up, and when it has expired", async () => {
    const usedUp = await newToken(invites, { uses_allowed: 0 });
    const p = await page();
    await p.goto(`${invites.url}${SIGNUP}?token=${usedUp}`);
    await p.getByText("This invite link can no longer be used.").waitFor();
    expect(await p.getByRole("button", { name: "Create account" }).count()).toBe(0);

    const expiring = await newToken(invites, { expiry_time: Date.now() + 60_000 });
    await invites.server.server.db.kysely
      .updateTable("registration_tokens")
      .set({ expiry_time: Date.now() - 1000 })
      .where("token", "=", expiring)
      .execute();
    await p.goto(`${invites.url}${SIGNUP}?token=${expiring}`);
    await p.getByText("This invite link can no longer be used.").waitFor();
    expect(await p.evaluate(NO_SIDEWAYS_SCROLL)).toBe(true);
  });

  it("asks for an invitation when the link has none", async () => {
    const p = await page();
    await p.goto(invites.url + SIGNUP);
    await p.getByText("This server signs people up by invitation only.").waitFor();
  });

  it("fills in and holds the username of an invite bound to one name, and the server holds it too", async () => {
    const token = await newToken(invites, { bound_username: "noor" });
    const p = await page();
    await p.goto(`${invites.url}${SIGNUP}?token=${token}&username=noor`);
    const username = p.getByLabel("Username");
    expect(await username.inputValue()).toBe("noor");
    expect(await username.getAttribute("readonly")).not.toBeNull();
    await submitPasswords(p, "noor's password 1");
    expect(await p.getByTestId("new-user-id").textContent()).toBe("@noor:localhost");

    // Someone who edits the link to another name is refused by the server, in words, and nothing is used up.
    const other = await newToken(invites, { bound_username: "sami" });
    await p.goto(`${invites.url}${SIGNUP}?token=${other}&username=mallory`);
    await submitPasswords(p, "mallory password 1");
    await p.getByRole("alert").getByText("This registration token is for the username 'sami' only").waitFor();
    expect(await tokenCounts(invites, other)).toMatchObject({ pending: 0, completed: 0 });
    expect(
      (
        await call(invites.url, "GET", "/_synapse/admin/v2/users/@mallory:localhost", {
          token: invites.adminToken,
        })
      ).status,
    ).toBe(404);
  });

  it("tells a taken username as one types, and shows the server's refusal when sent anyway", async () => {
    await invites.makeUser("taken", "whatever password 1");
    const token = await newToken(invites, { uses_allowed: 1 });
    const p = await page();
    await p.goto(`${invites.url}${SIGNUP}?token=${token}`);
    await p.getByLabel("Username").fill("taken");
    await p.getByText("That username is already taken.").waitFor();
    await submitPasswords(p, "a long password 12");
    await p.getByRole("alert").getByText("That username is already taken.").waitFor();
    expect(await tokenCounts(invites, token)).toMatchObject({ pending: 0, completed: 0 });
    // The form is still there, and a free name goes through with the same invite.
    await p.getByLabel("Username").fill("untaken");
    await p.getByRole("button", { name: "Create account" }).click();
    expect(await p.getByTestId("new-user-id").textContent()).toBe("@untaken:localhost");
  });

  it("works without an invitation when registration is open, after the terms are accepted", async () => {
    const p = await page();
    await p.goto(open.url + SIGNUP);
    await p.getByLabel("Username").fill("walkin");
    await submitPasswords(p, "walk-in password");
    // The terms step: a box per policy with its link; continuing needs every box ticked.
    const stage = p.getByTestId("terms-stage");
    const link = stage.getByRole("link", { name: "House Rules" });
    expect(await link.getAttribute("href")).toBe("https://localhost/_matrix/consent?v=1.0");
    const accept = stage.getByRole("button", { name: "Accept and continue" });
    expect(await accept.isDisabled()).toBe(true);
    await stage.getByRole("checkbox").check();
    await accept.click();
    expect(await p.getByTestId("new-user-id").textContent()).toBe("@walkin:localhost");
    const user = await open.admin("GET", "/_synapse/admin/v2/users/%40walkin%3Alocalhost");
    expect(user.consent_version).toBe("1.0");
    expect(user.consent_ts).toEqual(expect.any(Number));
  });

  it("walks the e-mail stage: the address, check your inbox, resend, and on by itself once the link was opened", async () => {
    const p = await page();
    await p.goto(withEmail.url + SIGNUP);
    await p.getByLabel("Username").fill("mailer");
    await submitPasswords(p, "mailed password");
    await p.getByLabel("E-mail address", { exact: true }).fill("mailer@example.org");
    const before = sink.mails.length;
    await p.getByRole("button", { name: "Send me a link" }).click();
    await p.getByText("Check your inbox.").waitFor();
    const first = await sink.next("mailer@example.org", before);
    await p.getByRole("button", { name: "Send the link again" }).click();
    const second = await sink.next("mailer@example.org", sink.mails.indexOf(first) + 1);
    expect(linkIn(second, BASE)).not.toBe(linkIn(first, BASE));
    expect((await fetch(linkIn(second, BASE).replace(BASE, `${withEmail.url}/`))).status).toBe(200);
    expect(await p.getByTestId("new-user-id").textContent({ timeout: 20_000 })).toBe("@mailer:localhost");
  });

  it("walks every stage in one sign-up: the CAPTCHA, the terms, then the e-mail link", async () => {
    const p = await page();
    await p.goto(everything.url + SIGNUP);
    await p.getByLabel("Username").fill("allstages");
    await submitPasswords(p, "every stage password");
    await p.getByTestId("captcha-stage").waitFor();
    await p.getByText("I'm not a robot").click();
    const terms = p.getByTestId("terms-stage");
    await terms.getByRole("checkbox").check({ timeout: 30_000 });
    await terms.getByRole("button", { name: "Accept and continue" }).click();
    await p.getByLabel("E-mail address", { exact: true }).fill("allstages@example.org");
    const before = sink.mails.length;
    await p.getByRole("button", { name: "Send me a link" }).click();
    await p.getByText("Check your inbox.").waitFor();
    const mail = await sink.next("allstages@example.org", before);
    expect((await fetch(linkIn(mail, BASE).replace(BASE, `${everything.url}/`))).status).toBe(200);
    expect(await p.getByTestId("new-user-id").textContent({ timeout: 20_000 })).toBe("@allstages:localhost");
    const user = await everything.admin("GET", "/_synapse/admin/v2/users/%40allstages%3Alocalhost");
    expect(user.consent_version).toBe("1.0");
    expect(user.threepids).toEqual([expect.objectContaining({ medium: "email", address: "allstages@example.org" })]);
    expect(await p.evaluate(NO_SIDEWAYS_SCROLL)).toBe(true);
  });

  it("says that sign-up is closed when registration is off", async () => {
    const p = await page();
    await p.goto(`${closed.url}${SIGNUP}?token=anything`);
    await p.getByText("Sign-up is closed on this server.").waitFor();
    expect(await p.getByRole("button", { name: "Create account" }).count()).toBe(0);
  });

  it("is sent with the CSP, which refuses an injected inline script, and no page broke a rule of it", async () => {
    const r = await fetch(`${invites.url}${SIGNUP}?token=x`);
    expect(r.headers.get("content-security-policy")).toMatch(/default-src 'none'.*script-src 'self'/);
    expect(r.headers.get("referrer-policy")).toBe("no-referrer");
    expect(opened.length).toBeGreaterThan(5);
    expect(opened.flatMap((o) => o.problems)).toEqual([]);

    // The listener hears a refusal: an inline script added to the page is blocked and reported.
    const watched = await openPage(browser);
    await watched.page.goto(invites.url + SIGNUP);
    await watched.page.addScriptTag({ content: "window.injected = true" }).catch(() => undefined);
    expect(await watched.page.evaluate("window.injected === true")).toBe(false);
    expect(watched.problems.join("\n")).toContain("Content Security Policy");
    await watched.context.close();
  });
});
