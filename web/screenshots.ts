/**
 * `npm run screenshots`: starts a Gatehouse on a temporary SQLite database, fills it with demo accounts, invites and
 * admin actions, and photographs the console and the sign-up page into docs/screenshots/ with headless Chromium.
 */
import { mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { validateConfig } from "../src/config/validate.js";
import { registerUser } from "../src/accounts/registration.js";
import { databaseConfigFromUrl } from "../src/config/database-url.js";
import { startServer } from "../src/server.js";
import { launchBrowser, openPage } from "../test/web/browser.js";

const OUT = new URL("../docs/screenshots/", import.meta.url).pathname;
const PASSWORD = "demo password 2026!";
const PEOPLE: [string, string][] = [
  ["alice", "Alice Martin"],
  ["bob", "Bob Nguyen"],
  ["carol", "Carol Dubois"],
  ["dmitri", "Dmitri Volkov"],
  ["erin", "Erin O'Brien"],
  ["farah", "Farah Haddad"],
  ["gustav", "Gustav Lindqvist"],
  ["hana", "Hana Sato"],
  ["ines", "Inês Carvalho"],
  ["jomo", "Jomo Kenyatta"],
  ["kate", "Kate Wilson"],
  ["liam", "Liam Murphy"],
];

async function json(base: string, method: string, path: string, body?: unknown, token?: string) {
  const r = await fetch(base + path, {
    method,
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const parsed = (await r.json()) as Record<string, unknown>;
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(parsed)}`);
  return parsed;
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(OUT, `${name}.png`), fullPage: true });
  console.log(`docs/screenshots/${name}.png`);
}

async function main(): Promise<void> {
  mkdirSync(OUT, { recursive: true });
  const url = `sqlite://${join(mkdtempSync(join(tmpdir(), "gatehouse-shots-")), "homeserver.db")}`;
  const { config } = validateConfig(
    {
      server_name: "example.org",
      public_baseurl: "https://matrix.example.org/",
      listeners: [{ port: 0, bind_addresses: ["127.0.0.1"], type: "http", resources: [{ names: ["client"] }] }],
      database: { name: "sqlite3", args: { database: databaseConfigFromUrl(url).args.database } },
      enable_registration: true,
      registration_requires_token: true,
      // Demo rooms are published, and their makers are not slowed down.
      room_list_publication_rules: [{ action: "allow" }],
      rc_message: { per_second: 100, burst_count: 100 },
      rc_joins: { local: { per_second: 100, burst_count: 100 } },
      password_config: { policy: { enabled: true, minimum_length: 10, require_digit: true } },
      rc_registration: { per_second: 100, burst_count: 100 },
      rc_login: {
        address: { per_second: 100, burst_count: 100 },
        account: { per_second: 100, burst_count: 100 },
        failed_attempts: { per_second: 100, burst_count: 100 },
      },
      log_level: "warn",
    },
    new Map(),
    { readSecretFile: () => "" },
  );
  const server = await startServer(config, () => {});
  const base = server.addresses[0]!.url;
  try {
    // The first admin, the way an operator makes one: through the service every path uses.
    await registerUser(server.accounts, {
      localpart: "admin",
      password: PASSWORD,
      admin: true,
      userType: null,
      displayname: "Site Admin",
      login: null,
    });
    const login = await json(base, "POST", "/_matrix/client/v3/login", {
      type: "m.login.password",
      identifier: { type: "m.id.user", user: "admin" },
      password: PASSWORD,
    });
    const token = login.access_token as string;
    const admin = (method: string, path: string, body?: unknown) => json(base, method, path, body, token);
    for (const [localpart, displayname] of PEOPLE) {
      await admin("PUT", `/_synapse/admin/v2/users/@${localpart}:example.org`, { password: PASSWORD, displayname });
    }
    await admin("PUT", "/_synapse/admin/v2/users/@helpdesk:example.org", {
      password: PASSWORD,
      displayname: "Help desk",
      user_type: "support",
    });
    await admin("PUT", "/_synapse/admin/v2/users/@notifier:example.org", {
      password: PASSWORD,
      displayname: "Notifier bot",
      user_type: "bot",
    });
    await admin("PUT", "/_synapse/admin/v1/users/@carol:example.org/admin", { admin: true });
    await admin("PUT", "/_synapse/admin/v2/users/@dmitri:example.org", { locked: true });
    await admin("POST", "/_synapse/admin/v1/deactivate/@erin:example.org", { erase: false });
    for (const user of ["alice", "alice", "bob"]) {
      const session = await json(base, "POST", "/_matrix/client/v3/login", {
        type: "m.login.password",
        identifier: { type: "m.id.user", user },
        password: PASSWORD,
        initial_device_display_name: user === "bob" ? "Element Desktop" : "Element on Android",
      });
      // A request with the new token records the device's address and client for whois.
      await json(base, "GET", "/_matrix/client/v3/account/whoami", undefined, session.access_token as string);
    }
    const week = Date.now() + 7 * 86_400_000;
    await admin("POST", "/_synapse/admin/v1/registration_tokens/new", {
      token: "team-spring",
      uses_allowed: 10,
      expiry_time: week,
    });
    await admin("POST", "/_synapse/admin/v1/registration_tokens/new", {
      uses_allowed: 1,
      bound_email: "maya@example.net",
    });
    const invite = await admin("POST", "/_synapse/admin/v1/registration_tokens/new", {
      uses_allowed: 1,
      bound_username: "noor",
    });
    await admin("POST", "/_synapse/admin/v1/registration_tokens/new", { token: "old-event", uses_allowed: 0 });
    const reportId = await demoRooms(base, admin);

    const browser = await launchBrowser();
    try {
      const { page, problems } = await openPage(browser, { width: 1200, height: 800 });
      await page.goto(`${base}/_gatehouse/admin/`);
      await shot(page, "login");
      await page.getByLabel("Username").fill("admin");
      await page.getByLabel("Password").fill(PASSWORD);
      await page.getByRole("button", { name: "Log in" }).click();
      await page.getByRole("heading", { name: "Dashboard" }).waitFor();
      await page.getByText("Recent sign-ups").waitFor();
      await page.locator("tbody tr").first().waitFor();
      await shot(page, "dashboard");
      await page.getByRole("link", { name: "Users", exact: true }).click();
      await page.getByRole("cell", { name: "@alice:example.org" }).waitFor();
      await shot(page, "users");
      await page.getByRole("link", { name: "@alice:example.org" }).click();
      await page.getByRole("heading", { name: "Devices" }).waitFor();
      await page.getByRole("button", { name: "Make admin" }).click();
      await shot(page, "user");
      await page.getByRole("button", { name: "Cancel" }).click();
      await page.getByRole("link", { name: "Create user" }).click();
      await page.getByLabel("Username").fill("maya");
      await page.getByLabel("Display name (optional)").fill("Maya Levi");
      await page.getByRole("button", { name: "Create user" }).click();
      await page.getByText("This password is shown once").waitFor();
      await shot(page, "create-user");
      await page.getByRole("link", { name: "Invites" }).click();
      await page.getByRole("cell", { name: "team-spring" }).waitFor();
      await page.getByLabel("Only for username").fill("sam");
      await page.getByRole("button", { name: "Create invite" }).click();
      await page.getByText("Invite created").waitFor();
      await shot(page, "tokens");
      await page.getByRole("link", { name: "Audit log" }).click();
      await page.getByRole("cell", { name: "user.create" }).first().waitFor();
      await shot(page, "audit");
      await page.getByRole("link", { name: "Import" }).click();
      await page
        .getByLabel("Or paste the rows")
        .fill(
          "username,displayname,admin,email\nnadia,Nadia Rahman,false,nadia@example.net\noscar,Oscar Lee,no,\nalice,Alice Again,,\nBad Name,,,\n",
        );
      await page.getByLabel("When an account exists already").selectOption("skip");
      await page.getByRole("button", { name: "Preview (dry run)" }).click();
      await page.getByText("Nothing has been written yet").waitFor();
      await shot(page, "import");
      await page.getByRole("link", { name: "Rooms", exact: true }).click();
      await page.getByRole("cell", { name: "#town:example.org" }).waitFor();
      await shot(page, "rooms");
      await page.getByRole("link", { name: "Town square" }).click();
      await page.getByRole("heading", { name: "State" }).waitFor();
      await page.getByRole("button", { name: "Delete room" }).click();
      await shot(page, "room");
      await page.getByRole("button", { name: "Cancel" }).click();
      await page.getByRole("link", { name: "Reports", exact: true }).click();
      await page.getByRole("cell", { name: "Spam" }).first().waitFor();
      await shot(page, "reports");
      await page.getByRole("link", { name: `Report ${reportId}` }).click();
      await page.getByRole("heading", { name: "Reported event" }).waitFor();
      await shot(page, "report");

      const phone = await openPage(browser, { width: 390, height: 844 });
      await phone.page.goto(`${base}/_gatehouse/register/?token=${invite.token as string}&username=noor`);
      await phone.page.getByLabel("Password", { exact: true }).fill("short");
      await shot(phone.page, "signup");
      await phone.page.getByLabel("Password", { exact: true }).fill("a much longer passphrase 7");
      await phone.page.getByLabel("Password again").fill("a much longer passphrase 7");
      await phone.page.getByRole("button", { name: "Create account" }).click();
      await phone.page.getByText("Your account is ready").waitFor();
      await shot(phone.page, "signup-done");
      await phone.page.goto(`${base}/_gatehouse/register/?token=old-event`);
      await phone.page.getByText("can no longer be used").waitFor();
      await shot(phone.page, "signup-invalid");

      const other = await openPage(browser, { width: 1200, height: 600 });
      await other.page.goto(`${base}/_gatehouse/admin/`);
      await other.page.getByLabel("Username").fill("bob");
      await other.page.getByLabel("Password").fill(PASSWORD);
      await other.page.getByRole("button", { name: "Log in" }).click();
      await other.page.getByText("This account is not a server admin").waitFor();
      await shot(other.page, "not-admin");
      const all = [...problems, ...phone.problems, ...other.problems];
      if (all.length > 0) throw new Error(`the pages reported problems:\n${all.join("\n")}`);
    } catch (err) {
      for (const [i, p] of browser
        .contexts()
        .flatMap((c) => c.pages())
        .entries()) {
        await p.screenshot({ path: join(OUT, `failed-${i}.png`), fullPage: true });
      }
      throw err;
    } finally {
      await browser.close();
    }
  } finally {
    await server.close();
  }
}

/** Rooms made, joined, written in and reported by demo users through the client API; the ID of a report to show. */
async function demoRooms(
  base: string,
  admin: (method: string, path: string) => Promise<Record<string, unknown>>,
): Promise<number> {
  const tokens = new Map<string, string>();
  for (const user of ["alice", "bob", "carol", "farah", "hana"]) {
    const session = await json(base, "POST", "/_matrix/client/v3/login", {
      type: "m.login.password",
      identifier: { type: "m.id.user", user },
      password: PASSWORD,
      initial_device_display_name: "Element Web",
    });
    tokens.set(user, session.access_token as string);
  }
  const as = (user: string, method: string, path: string, body: unknown = {}) =>
    json(base, method, `/_matrix/client/v3${path}`, body, tokens.get(user));
  const create = async (user: string, body: Record<string, unknown>) =>
    (await as(user, "POST", "/createRoom", body)).room_id as string;
  let txn = 0;
  const say = async (user: string, roomId: string, body: string) =>
    (
      await as(user, "PUT", `/rooms/${encodeURIComponent(roomId)}/send/m.room.message/s${++txn}`, {
        msgtype: "m.text",
        body,
      })
    ).event_id as string;

  const town = await create("alice", {
    name: "Town square",
    topic: "Everyone on example.org",
    room_alias_name: "town",
    preset: "public_chat",
    visibility: "public",
  });
  for (const user of ["bob", "carol", "farah", "hana"]) await as(user, "POST", `/join/${encodeURIComponent(town)}`);
  const garden = await create("bob", { name: "Allotment", room_alias_name: "allotment", preset: "private_chat" });
  await as("bob", "POST", `/rooms/${encodeURIComponent(garden)}/invite`, { user_id: "@hana:example.org" });
  await as("hana", "POST", `/join/${encodeURIComponent(garden)}`);
  await create("carol", {
    name: "Admins",
    preset: "private_chat",
    initial_state: [{ type: "m.room.encryption", state_key: "", content: { algorithm: "m.megolm.v1.aes-sha2" } }],
  });
  await create("farah", { preset: "trusted_private_chat", is_direct: true, invite: ["@alice:example.org"] });
  await say("alice", town, "Welcome, everyone!");
  const spam = await say("bob", town, "Cheap followers at spam.example, click now");
  await as("carol", "POST", `/rooms/${encodeURIComponent(town)}/report/${encodeURIComponent(spam)}`, {
    reason: "Spam",
    score: -100,
  });
  await as("farah", "POST", `/rooms/${encodeURIComponent(town)}/report/${encodeURIComponent(spam)}`, {
    reason: "Spam again",
  });
  await as("hana", "POST", `/rooms/${encodeURIComponent(garden)}/report`, { reason: "Off-topic all day" });
  const first = await admin("GET", "/_synapse/admin/v1/event_reports?dir=f&limit=1");
  return (first.event_reports as { id: number }[])[0]!.id;
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
