/**
 * The operators' console in headless Chromium against a real server: the whole life of an invitation (an admin
 * logs in, makes a user, finds it, makes it admin and back, resets its password, links an identity and removes it,
 * makes an invite; the invited person signs up from the link and logs in with matrix-js-sdk; the console shows the
 * use), the not-an-admin page, refusals that change nothing, validation before sending, logout, the CSP, and a
 * phone-width screen.
 */
import { createClient, type LoginResponse } from "matrix-js-sdk";
import { logger as sdkLogger } from "matrix-js-sdk/lib/logger.js";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call } from "../helpers/http.js";
import { launchBrowser, openPage, type WatchedPage } from "./browser.js";
import { ADMIN_PASSWORD, closeAll, NO_SIDEWAYS_SCROLL, startWebFixture, type WebFixture } from "./support.js";

(sdkLogger as unknown as { setLevel(level: string, persist?: boolean): void }).setLevel("silent", false);

const CONSOLE = "/_gatehouse/admin/";

let fx: WebFixture;
let browser: Browser;
const opened: WatchedPage[] = [];

beforeAll(async () => {
  [fx, browser] = await Promise.all([startWebFixture("sqlite"), launchBrowser()]);
});

afterAll(async () => {
  await closeAll(browser, fx);
});

async function page(options: { width?: number; height?: number } = {}): Promise<Page> {
  const watched = await openPage(browser, options);
  opened.push(watched);
  return watched.page;
}

async function logIn(p: Page, user: string, password: string): Promise<void> {
  await p.goto(fx.url + CONSOLE);
  await p.getByLabel("Username").fill(user);
  await p.getByLabel("Password").fill(password);
  await p.getByRole("button", { name: "Log in" }).click();
}

/** A section of the console, from its navigation bar. */
function section(p: Page, name: string) {
  return p.getByRole("navigation").getByRole("link", { name, exact: true });
}

async function passwordLogin(user: string, password: string): Promise<number> {
  const r = await call(fx.url, "POST", "/_matrix/client/v3/login", {
    json: { type: "m.login.password", identifier: { type: "m.id.user", user }, password },
  });
  return r.status;
}

async function userFlags(userId: string): Promise<Record<string, unknown>> {
  return fx.admin("GET", `/_synapse/admin/v2/users/${encodeURIComponent(userId)}`);
}

describe("the console", () => {
  it("takes an invitation from a new user to a matrix-js-sdk login, and shows the invite's use", async () => {
    const p = await page();
    await logIn(p, "root", ADMIN_PASSWORD);
    await p.getByRole("heading", { name: "Dashboard" }).waitFor();
    expect(await p.getByTestId("registration-mode").textContent()).toBe("token");

    // Create a user: the generated password is shown once and works.
    await section(p, "Create user").click();
    await p.getByLabel("Username").fill("dora");
    await p.getByLabel("Display name (optional)").fill("Dora Explorer");
    await p.getByRole("button", { name: "Create user" }).click();
    const generated = await p.getByLabel("Generated password").inputValue();
    expect(generated).toHaveLength(20);
    expect(await passwordLogin("dora", generated)).toBe(200);
    await p.getByRole("button", { name: "I have saved it" }).click();
    expect(await p.getByLabel("Generated password").count()).toBe(0);

    // As `/_matrix/consent` records an acceptance of the terms; the user's page shows it.
    await fx.server.server.accounts.stores.users.setConsentVersion(
      "@dora:localhost",
      "1.0",
      Date.UTC(2026, 0, 2, 3, 4),
    );

    // Find it by search, as you type.
    await section(p, "Users").click();
    await p.getByLabel("Search").fill("explo");
    await p.getByRole("link", { name: "@dora:localhost" }).click();
    await p.getByRole("heading", { name: "Devices" }).waitFor();

    expect(await p.getByTestId("consent").textContent()).toMatch(/^version 1\.0, .*2026/);

    // Admin and back, each after a confirmation.
    await p.getByRole("button", { name: "Make admin" }).click();
    expect((await userFlags("@dora:localhost")).admin).toBe(false);
    await p.getByRole("button", { name: "Yes, make admin" }).click();
    await p.getByText("Now an admin.").waitFor();
    expect(await p.getByTestId("admin-flag").textContent()).toBe("yes");
    expect((await userFlags("@dora:localhost")).admin).toBe(true);
    await p.getByRole("button", { name: "Remove admin" }).click();
    await p.getByRole("button", { name: "Yes, remove admin" }).click();
    await p.getByText("Admin rights removed.").waitFor();
    expect(await p.getByTestId("admin-flag").textContent()).toBe("no");
    expect((await userFlags("@dora:localhost")).admin).toBe(false);

    // Reset the password: a new one is shown once; the old one stops working.
    await p.getByRole("button", { name: "Reset password" }).click();
    await p.getByRole("button", { name: "Yes, reset password" }).click();
    const reset = await p.getByLabel("Generated password").inputValue();
    expect(reset).not.toBe(generated);
    expect(await passwordLogin("dora", reset)).toBe(200);
    expect(await passwordLogin("dora", generated)).toBe(403);
    // The account's own audit entries are on its page.
    await p.getByRole("cell", { name: "user.reset_password" }).waitFor();

    // Linked identities: one added, one held by another account refused (the form keeps it), one removed.
    await fx.admin("PUT", `/_synapse/admin/v2/users/${encodeURIComponent("@root:localhost")}`, {
      external_ids: [{ auth_provider: "oidc-idp", external_id: "root-sub" }],
    });
    const links = p.getByRole("region", { name: "Linked identities" });
    await links.getByLabel("Provider", { exact: true }).fill("oidc-idp");
    await links.getByLabel("External ID").fill("dora-sub");
    await links.getByRole("button", { name: "Link", exact: true }).click();
    await p.getByText("Linked oidc-idp: dora-sub.").waitFor();
    expect((await userFlags("@dora:localhost")).external_ids).toEqual([
      { auth_provider: "oidc-idp", external_id: "dora-sub" },
    ]);
    await links.getByLabel("Provider", { exact: true }).fill("oidc-idp");
    await links.getByLabel("External ID").fill("root-sub");
    await links.getByRole("button", { name: "Link", exact: true }).click();
    await p.getByRole("alert").getByText("External id is already in use.").waitFor();
    expect(await links.getByLabel("External ID").inputValue()).toBe("root-sub");
    expect((await userFlags("@dora:localhost")).external_ids).toHaveLength(1);
    await links
      .getByRole("row", { name: /dora-sub/ })
      .getByRole("button", { name: "Remove" })
      .click();
    await p.getByRole("button", { name: "Yes, remove" }).click();
    await p.getByText("Removed oidc-idp: dora-sub.").waitFor();
    await links.getByText("No linked identities.").waitFor();
    expect((await userFlags("@dora:localhost")).external_ids).toEqual([]);

    // An invite for one person.
    await section(p, "Invites").click();
    await p.getByLabel("Uses").fill("1");
    await p.getByRole("button", { name: "Create invite" }).click();
    const link = await p.getByLabel("Invite link").inputValue();
    const token = new URL(link).searchParams.get("token")!;
    // Letters and digits only, so a chat app that makes the pasted link clickable cannot cut its end off.
    expect(token).toMatch(/^[A-Za-z0-9]{20}$/);
    expect(link).toBe(`${fx.url}/_gatehouse/register/?token=${token}`);
    const row = p.locator(`tr[data-token="${token}"]`);
    expect(await row.getByTestId("completed").textContent()).toBe("0");

    // The invited person opens the link (their own browser) and signs up.
    const invited = await page({ width: 390, height: 844 });
    await invited.goto(link);
    await invited.getByLabel("Username").fill("newbie");
    await invited.getByText("This username is available.").waitFor();
    await invited.getByLabel("Password", { exact: true }).fill("newbie's own password 1");
    await invited.getByLabel("Password again").fill("newbie's own password 1");
    await invited.getByRole("button", { name: "Create account" }).click();
    expect(await invited.getByTestId("new-user-id").textContent()).toBe("@newbie:localhost");
    expect(await invited.getByLabel("Homeserver address").inputValue()).toBe(fx.url);

    // The new account logs in with the SDK under Element and Cinny.
    const sdk = createClient({ baseUrl: fx.url, logger: sdkLogger });
    const login: LoginResponse = await sdk.loginRequest({
      type: "m.login.password",
      identifier: { type: "m.id.user", user: "newbie" },
      password: "newbie's own password 1",
    });
    expect(login.user_id).toBe("@newbie:localhost");
    sdk.stopClient();

    // Back in the console, the invite has been used once and is used up.
    await section(p, "Dashboard").click();
    await section(p, "Invites").click();
    await row.getByTestId("completed").filter({ hasText: "1" }).waitFor();
    expect(await row.getByRole("cell", { name: "used up" }).count()).toBe(1);
  });

  it("imports pasted CSV rows: the dry-run preview writes nothing, the import creates, generated passwords work", async () => {
    const p = await page();
    await logIn(p, "root", ADMIN_PASSWORD);
    await section(p, "Import").click();
    await p
      .getByLabel("Or paste the rows")
      .fill(["username,displayname,admin", "imp-ana,Ana Import,no", "imp-ben,Ben Import,yes", "Bad Name,,"].join("\n"));
    await p.getByLabel("When an account exists already").selectOption({ label: "Skip the row" });
    await p.getByLabel("Generate a password for rows without one").check();
    await p.getByRole("button", { name: "Preview (dry run)" }).click();
    const preview = p.getByRole("region", { name: "Preview" });
    await preview.waitFor();
    expect(await preview.getByRole("paragraph").first().textContent()).toBe(
      "2 would create, 1 error. Nothing has been written yet.",
    );
    expect(await preview.getByRole("row", { name: /Bad Name/ }).textContent()).toContain("User ID can only contain");
    // The preview wrote nothing.
    const absent = await call(fx.url, "GET", "/_synapse/admin/v2/users/%40imp-ana%3Alocalhost", {
      token: fx.adminToken,
    });
    expect(absent.status).toBe(404);

    await preview.getByRole("button", { name: "Import as previewed" }).click();
    const result = p.getByRole("region", { name: "Import result" });
    await result.waitFor();
    const passwords = await result.getByLabel("Generated passwords (shown once)").inputValue();
    const lines = passwords.trim().split("\n");
    expect(lines[0]).toBe("username,password");
    expect(lines).toHaveLength(3);
    for (const line of lines.slice(1)) {
      const [user, password] = line.split(",") as [string, string];
      expect(await passwordLogin(user, password)).toBe(200);
    }
    expect(await userFlags("@imp-ben:localhost")).toMatchObject({ admin: true, displayname: "Ben Import" });
    expect(await userFlags("@imp-ana:localhost")).toMatchObject({ admin: false, displayname: "Ana Import" });
  });

  it("shows a non-admin the not-an-admin page, and logging out there ends the session", async () => {
    await fx.makeUser("plain", "plain password 1");
    const p = await page();
    await logIn(p, "plain", "plain password 1");
    await p.getByRole("heading", { name: "This account is not a server admin" }).waitFor();
    expect(await p.getByRole("link", { name: "Users" }).count()).toBe(0);
    const token = await p.evaluate<string>("JSON.parse(sessionStorage.getItem('gatehouse.console.session')).token");
    expect((await call(fx.url, "GET", "/_matrix/client/v3/account/whoami", { token })).status).toBe(200);
    await p.getByRole("button", { name: "Log out" }).click();
    await p.getByRole("button", { name: "Log in" }).waitFor();
    expect((await call(fx.url, "GET", "/_matrix/client/v3/account/whoami", { token })).status).toBe(401);
    expect(await p.evaluate("sessionStorage.length")).toBe(0);
  });

  it("shows a wrong password in words and stays on the login form", async () => {
    const p = await page();
    await logIn(p, "root", "not the password");
    await p.getByRole("alert").getByText("The server refused this.").waitFor();
    await p.getByLabel("Password").fill(ADMIN_PASSWORD);
    await p.getByRole("button", { name: "Log in" }).click();
    await p.getByRole("heading", { name: "Dashboard" }).waitFor();
  });

  it("shows a refused action's error, changes nothing, and the page stays usable", async () => {
    const p = await page();
    await logIn(p, "root", ADMIN_PASSWORD);
    await p.getByRole("heading", { name: "Dashboard" }).waitFor();
    const auditBefore = (await fx.admin("GET", "/_gatehouse/admin/v1/audit")).total;
    await p.goto(`${fx.url}${CONSOLE}users/${encodeURIComponent("@root:localhost")}`);
    await p.getByRole("button", { name: "Remove admin" }).click();
    await p.getByRole("button", { name: "Yes, remove admin" }).click();
    const alert = p.getByRole("alert");
    await alert.waitFor();
    expect(await alert.textContent()).toContain("You may not demote yourself");
    expect(await p.getByTestId("admin-flag").textContent()).toBe("yes");
    expect((await userFlags("@root:localhost")).admin).toBe(true);
    expect((await fx.admin("GET", "/_gatehouse/admin/v1/audit")).total).toBe(auditBefore);
    // Still usable: another action on the same page works.
    await p.getByRole("button", { name: "Reset password" }).waitFor();
    await section(p, "Audit log").click();
    await p.getByRole("heading", { name: "Audit log" }).waitFor();
  });

  it("checks forms before sending: nothing reaches the server until they are right", async () => {
    const p = await page();
    await logIn(p, "root", ADMIN_PASSWORD);
    await p.getByRole("heading", { name: "Dashboard" }).waitFor();
    const writes: string[] = [];
    p.on("request", (r) => {
      if (r.method() !== "GET") writes.push(`${r.method()} ${r.url()}`);
    });
    await section(p, "Create user").click();
    await p.getByRole("button", { name: "Create user" }).click();
    await p.getByText("Enter a username.").waitFor();
    await p.getByLabel("Username").fill("Not Valid");
    await p.getByRole("button", { name: "Create user" }).click();
    await p.getByText("Use only a–z, 0–9 and . _ = - / +").waitFor();
    await section(p, "Invites").click();
    await p.getByLabel("Uses").fill("-3");
    await p.getByLabel("Sent to e-mail").fill("not-an-address");
    await p.getByRole("button", { name: "Create invite" }).click();
    await p.getByText("This is not an e-mail address.").waitFor();
    await p.getByText("A whole number of 1 or more, or empty.").waitFor();
    expect(writes).toEqual([]);

    // A name taken already is the server's refusal, in words; nothing is changed.
    await section(p, "Create user").click();
    await p.getByLabel("Username").fill("root");
    await p.getByRole("button", { name: "Create user" }).click();
    await p.getByRole("alert").getByText("That username is already taken.").waitFor();
    expect(writes).toEqual([]);
  });

  it("shows a user's avatar and media, and quarantines, protects and deletes an item through the admin API", async () => {
    const sharp = (await import("sharp")).default;
    const png = await sharp({ create: { width: 200, height: 200, channels: 3, background: "#cc3366" } })
      .png()
      .toBuffer();
    const upload = async (body: Buffer | string, type: string, filename: string) => {
      const r = await fetch(`${fx.url}/_matrix/media/v3/upload?filename=${filename}`, {
        method: "POST",
        body,
        headers: { authorization: `Bearer ${fx.adminToken}`, "content-type": type },
      });
      expect(r.status).toBe(200);
      return ((await r.json()) as { content_uri: string }).content_uri;
    };
    const avatar = await upload(png, "image/png", "me.png");
    const notes = await upload("some notes", "text/plain", "notes.txt");
    const profile = await call(fx.url, "PUT", "/_matrix/client/v3/profile/%40root%3Alocalhost/avatar_url", {
      token: fx.adminToken,
      json: { avatar_url: avatar },
    });
    expect(profile.status).toBe(200);

    const p = await page();
    await logIn(p, "root", ADMIN_PASSWORD);
    await p.getByRole("heading", { name: "Dashboard" }).waitFor();
    await p.goto(`${fx.url}${CONSOLE}users/${encodeURIComponent("@root:localhost")}`);
    // The avatar is the thumbnail fetched with the console's token: a decoded 96×96 image.
    const img = p.getByRole("img", { name: "Avatar" });
    await img.waitFor();
    await p.waitForFunction("document.querySelector('img.avatar')?.complete === true");
    expect(await p.evaluate("document.querySelector('img.avatar').naturalWidth")).toBe(96);

    const media = p.getByRole("table", { name: "Media" });
    const notesRow = media.getByRole("row").filter({ hasText: "notes.txt" });
    await notesRow.waitFor();
    expect(await media.getByRole("row").filter({ hasText: "me.png" }).textContent()).toContain("image/png");
    expect(await notesRow.textContent()).toContain("10 B");
    const notesId = notes.split("/").pop()!;
    const info = () => fx.admin("GET", `/_synapse/admin/v1/media/localhost/${notesId}`);

    await notesRow.getByRole("button", { name: "Quarantine" }).click();
    await p.getByText("notes.txt quarantined.").waitFor();
    // The notice comes before the list is read again: wait for the row to show the new state.
    await notesRow
      .getByTestId("media-state")
      .filter({ hasText: /^quarantined$/ })
      .waitFor();
    expect(((await info()).media_info as Record<string, unknown>).quarantined_by).toBe("@root:localhost");
    await notesRow.getByRole("button", { name: "Unquarantine" }).click();
    await p.getByText("notes.txt released.").waitFor();
    await notesRow.getByRole("button", { name: "Protect" }).click();
    await p.getByText("notes.txt protected.").waitFor();
    await notesRow
      .getByTestId("media-state")
      .filter({ hasText: /^protected$/ })
      .waitFor();
    expect(((await info()).media_info as Record<string, unknown>).safe_from_quarantine).toBe(true);

    await notesRow.getByRole("button", { name: "Delete" }).click();
    await p.getByRole("button", { name: "Yes, delete" }).click();
    await p.getByText("notes.txt deleted.").waitFor();
    await media.getByRole("row").filter({ hasText: "notes.txt" }).waitFor({ state: "detached" });
    const gone = await call(fx.url, "GET", `/_synapse/admin/v1/media/localhost/${notesId}`, { token: fx.adminToken });
    expect(gone.status).toBe(404);
  });

  it("is readable at phone width: no sideways scrolling on the main screens", async () => {
    await fx.admin("POST", "/_synapse/admin/v1/registration_tokens/new", { bound_email: "someone@example.org" });
    const p = await page({ width: 375, height: 740 });
    await logIn(p, "root", ADMIN_PASSWORD);
    await p.getByRole("heading", { name: "Dashboard" }).waitFor();
    await p.locator("tbody tr").first().waitFor();
    expect(await p.evaluate(NO_SIDEWAYS_SCROLL)).toBe(true);
    for (const [link, heading] of [
      ["Users", "Users"],
      ["Invites", "Invites"],
      ["Audit log", "Audit log"],
    ] as const) {
      await section(p, link).click();
      await p.getByRole("heading", { name: heading, exact: true }).waitFor();
      await p.locator("tbody tr").first().waitFor();
      expect(await p.evaluate(NO_SIDEWAYS_SCROLL), link).toBe(true);
    }
    await p.goto(`${fx.url}${CONSOLE}users/${encodeURIComponent("@root:localhost")}`);
    await p.getByRole("heading", { name: "Devices" }).waitFor();
    expect(await p.evaluate(NO_SIDEWAYS_SCROLL)).toBe(true);
  });

  it("is served with the CSP and security headers, and no page broke a rule of it", async () => {
    const r = await fetch(`${fx.url}${CONSOLE}users`);
    expect(r.status).toBe(200);
    expect(r.headers.get("content-security-policy")).toContain("script-src 'self'");
    expect(r.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
    expect(r.headers.get("referrer-policy")).toBe("no-referrer");
    expect(r.headers.get("x-frame-options")).toBe("DENY");
    expect(r.headers.get("x-content-type-options")).toBe("nosniff");
    // Every page opened by the tests above reported no console error (a CSP refusal is one) and no exception.
    expect(opened.length).toBeGreaterThan(5);
    expect(opened.flatMap((o) => o.problems)).toEqual([]);
  });
});
