/**
 * The SSO username picker in headless Chromium, behind a real OpenID provider: with no localpart template the
 * callback sends the browser to the picker; a taken name shows the form again with the reason; the chosen name,
 * with the provider's display name and e-mail opted in, becomes the account, and the client gets its login token.
 * The availability check answers with the session cookie the browser holds. Few page loads, one browser.
 */
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { freePort, startProvider, type TestProvider } from "../accounts/sso-support.js";
import { createTestDatabase } from "../helpers/databases.js";
import { call } from "../helpers/http.js";
import { registerShared } from "../helpers/register.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { launchBrowser, openPage } from "./browser.js";

const APP = "https://app.example/done";

let server: TestServer;
let provider: TestProvider;
let browser: Browser;
let base: string;

beforeAll(async () => {
  const port = await freePort();
  base = `http://127.0.0.1:${port}/`;
  provider = await startProvider(base);
  [server, browser] = await Promise.all([
    startTestServer(await createTestDatabase("sqlite"), {
      public_baseurl: base,
      listeners: [{ port, bind_addresses: ["127.0.0.1"], type: "http", resources: [{ names: ["client"] }] }],
      oidc_providers: [
        {
          idp_id: "pick",
          idp_name: "Picker IdP",
          issuer: provider.issuer,
          client_id: provider.clientId,
          client_secret: provider.clientSecret,
          skip_verification: true,
          scopes: ["openid", "email", "profile"],
          user_mapping_provider: {
            config: { display_name_template: "{{ user.name }}", email_template: "{{ user.email }}" },
          },
        },
      ],
      sso: { client_whitelist: ["https://app.example/"] },
    }),
    launchBrowser(),
  ]);
  await registerShared(server.url, { username: "taken", password: "taken's password" });
}, 60_000);

afterAll(async () => {
  await browser.close();
  await server.close();
  await provider.close();
});

it("picks a username after the provider's login, then hands the client its login token", async () => {
  provider.accounts.set("zoe-sub", { name: "Zoë Example", email: "zoe@example.org" });
  const { page, context, problems } = await openPage(browser);
  page.setDefaultTimeout(20_000);
  // The last hop leaves loopback (the client's redirectUrl): the browser's attempt is what the test reads.
  const leaving = new Promise<string>((resolve) =>
    context.on("request", (r) => r.url().startsWith("https://app.example/") && resolve(r.url())),
  );
  await page.goto(`${base}_matrix/client/v3/login/sso/redirect/oidc-pick?redirectUrl=${encodeURIComponent(APP)}`);
  await page.locator('input[name="login"]').fill("zoe-sub");
  await page.locator('input[name="password"]').fill("anything");
  await page.locator('button[type="submit"]').click();
  await page.locator('input[name="prompt"][value="consent"]').waitFor({ state: "attached" });
  await page.locator('button[type="submit"]').click();
  await page.waitForURL(/\/_synapse\/client\/pick_username\/account_details$/);
  expect(await page.locator("h1").textContent()).toBe("Your account is nearly ready");

  // The availability check, with the browser's cookie; without it, no answer.
  const check = (name: string) =>
    context.request.get(`${base}_synapse/client/pick_username/check?username=${name}`).then((r) => r.json());
  expect(await check("zoe")).toEqual({ available: true });
  expect(await check("taken")).toMatchObject({ errcode: "M_USER_IN_USE" });
  expect(await check("Zoe")).toMatchObject({ errcode: "M_INVALID_USERNAME" });
  const cookieless = await call(server.url, "GET", "/_synapse/client/pick_username/check?username=zoe");
  expect(cookieless.status).toBe(400);

  await page.locator("#username").fill("taken");
  await page.locator('button[type="submit"]').click();
  expect(await page.locator("#error").textContent()).toBe("User ID already taken.");

  const mappingCookie = (await context.cookies())
    .filter((c) => c.name === "username_mapping_session")
    .map((c) => `${c.name}=${c.value}`)
    .join("");
  expect(mappingCookie).not.toBe("");
  await page.locator("#username").fill("zoe");
  await page.locator('input[name="use_email"]').uncheck();
  await page.locator('button[type="submit"]').click();
  const landed = new URL(await leaving);
  expect(landed.origin + landed.pathname).toBe(APP);
  // Only the aborted trip off loopback (and its favicon) failed to load: no CSP refusal, no script error.
  expect(problems.filter((p) => !p.endsWith("net::ERR_FAILED"))).toEqual([]);

  const login = await call<{ user_id: string; access_token: string }>(server.url, "POST", "/_matrix/client/v3/login", {
    json: { type: "m.login.token", token: landed.searchParams.get("loginToken") },
  });
  expect(login.body.user_id).toBe("@zoe:localhost");
  const profile = await call(server.url, "GET", "/_matrix/client/v3/profile/@zoe:localhost");
  expect(profile.body.displayname).toBe("Zoë Example");
  const threepids = await call(server.url, "GET", "/_matrix/client/v3/account/3pid", {
    token: login.body.access_token,
  });
  expect(threepids.body.threepids).toEqual([]);
  // The session ended with the account: the picker now says so rather than making a second one.
  const replay = await context.request.post(`${base}_synapse/client/pick_username/account_details`, {
    headers: { cookie: mappingCookie },
    form: { username: "zoe2" },
  });
  expect(replay.status()).toBe(403);
  expect(await replay.text()).toContain("has been used already");
  const after = await context.request.get(`${base}_synapse/client/pick_username/account_details`);
  expect(after.status()).toBe(400);
  expect(await after.text()).toContain("Unknown or expired username-mapping session");
});
