/**
 * OpenID Connect single sign-on against a real provider (`oidc-provider` on loopback): matrix-js-sdk's SSO login
 * end to end (redirect, provider login and consent, callback, `m.login.token`, whoami), the account the mapping
 * makes (display name, e-mail, external ID) and finds again, and every refusal: wrong state or nonce, a replayed
 * callback, a missing claim, a taken or invalid localpart, unmet attribute requirements, closed registration, a
 * deactivated account. A refusal is a page with the reason, and leaves no account behind.
 */
import { createPrivateKey, generateKeyPairSync, sign, verify, type JsonWebKey, type KeyObject } from "node:crypto";
import { createServer as createHttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { createClient, type MatrixClient } from "matrix-js-sdk";
import { logger as sdkLogger } from "matrix-js-sdk/lib/logger.js";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createTestDatabase, forEachDatabase, type DatabaseKind } from "../helpers/databases.js";
import { call } from "../helpers/http.js";
import { registerShared } from "../helpers/register.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { freePort, startProvider, TestBrowser, type TestProvider } from "./sso-support.js";

(sdkLogger as unknown as { setLevel(level: string, persist?: boolean): void }).setLevel("silent", false);

const APP = "https://app.example/after-login";
const ADMIN_PASSWORD = "admin password 1";

/** The smallest PNG: what the provider's `picture` claim points at. */
const PNG = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==",
  "base64",
);

interface Env {
  server: TestServer;
  provider: TestProvider;
  /**
   * Serves `/alice.png`, and `POST /token`: the `oidc-apple` provider's token endpoint, which checks the client
   * secret is a JWT signed with `appleKey` (as Apple does) and passes the request on to the provider with the
   * provider's own secret. Anything else is 404.
   */
  pictures: { url: string; close(): Promise<void> };
  /** The client-secret JWTs the token endpoint accepted. */
  appleSecrets: string[];
  base: string;
  adminToken: string;
}

async function startEnv(kind: DatabaseKind): Promise<Env> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}/`;
  const provider = await startProvider(base);
  const appleKey = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const appleSecrets: string[] = [];
  const pictureServer = createHttpServer((req, res) => {
    if (req.url === "/alice.png") res.writeHead(200, { "content-type": "image/png" }).end(PNG);
    else if (req.url === "/token" && req.method === "POST") {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const basic = Buffer.from((req.headers.authorization ?? "").replace(/^Basic /, ""), "base64").toString();
        const jwt = decodeURIComponent(basic.slice(basic.indexOf(":") + 1));
        if (!appleSecretValid(jwt, appleKey.publicKey, provider)) {
          res.writeHead(401, { "content-type": "application/json" }).end('{"error":"invalid_client"}');
          return;
        }
        appleSecrets.push(jwt);
        const auth = Buffer.from(`${provider.clientId}:${encodeURIComponent(provider.clientSecret)}`).toString(
          "base64",
        );
        void fetch(`${provider.issuer}/token`, {
          method: "POST",
          headers: { authorization: `Basic ${auth}`, "content-type": "application/x-www-form-urlencoded" },
          body: Buffer.concat(chunks),
        }).then(async (answer) => {
          res.writeHead(answer.status, { "content-type": "application/json" }).end(await answer.text());
        });
      });
    } else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => pictureServer.listen(0, "127.0.0.1", resolve));
  const pictures = {
    url: `http://127.0.0.1:${(pictureServer.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => pictureServer.close(() => resolve())),
  };
  const common = {
    issuer: provider.issuer,
    client_id: provider.clientId,
    client_secret: provider.clientSecret,
    skip_verification: true,
    scopes: ["openid", "email", "profile"],
  };
  const templates = {
    picture_template: "{{ user.picture }}",
    localpart_template: "{{ user.preferred_username }}",
    display_name_template: "{{ user.name }}",
    email_template: "{{ user.email }}",
  };
  const server = await startTestServer(await createTestDatabase(kind), {
    public_baseurl: base,
    listeners: [{ port, bind_addresses: ["127.0.0.1"], type: "http", resources: [{ names: ["client"] }] }],
    oidc_providers: [
      {
        ...common,
        idp_id: "test",
        idp_name: "Test IdP",
        idp_brand: "test",
        backchannel_logout_enabled: true,
        user_mapping_provider: {
          config: { ...templates, extra_attributes: { sso_username: "{{ user.preferred_username }} " } },
        },
      },
      {
        ...common,
        idp_id: "strict",
        idp_name: "Staff only",
        attribute_requirements: [{ attribute: "groups", value: "staff" }],
        user_mapping_provider: { config: templates },
      },
      {
        ...common,
        idp_id: "existing",
        idp_name: "Links existing",
        allow_existing_users: true,
        enable_registration: false,
        user_mapping_provider: { config: { ...templates, subject_template: "existing-{{ user.sub }}" } },
      },
      {
        // Sign in with Apple's way: the client secret is a JWT signed with the client's key.
        issuer: provider.issuer,
        client_id: provider.clientId,
        client_secret_jwt_key: {
          key: appleKey.privateKey.export({ format: "pem", type: "pkcs8" }),
          jwt_header: { alg: "ES256", kid: "apple-kid" },
          jwt_payload: { iss: "team-id" },
        },
        skip_verification: true,
        discover: false,
        authorization_endpoint: `${provider.issuer}/auth`,
        token_endpoint: `${pictures.url}/token`,
        userinfo_endpoint: `${provider.issuer}/me`,
        jwks_uri: `${provider.issuer}/jwks`,
        pkce_method: "always",
        scopes: ["openid", "profile"],
        idp_id: "apple",
        idp_name: "Apple",
        user_mapping_provider: { config: { localpart_template: "{{ user.preferred_username }}" } },
      },
    ],
    sso: { client_whitelist: ["https://app.example/"], update_profile_information: true },
    // The pictures are served on loopback, which URL fetches refuse unless the operator allows it.
    url_preview_ip_range_whitelist: ["127.0.0.1"],
    rc_login: { address: { per_second: 1000, burst_count: 1000 }, account: { per_second: 1000, burst_count: 1000 } },
  });
  const admin = await registerShared(server.url, { username: "admin", password: ADMIN_PASSWORD, admin: true });
  return { server, provider, pictures, appleSecrets, base, adminToken: admin.body.access_token as string };
}

/** An ES256 JWT by `key` naming the client and the issuer, valid now, with the configured header and claims. */
function appleSecretValid(jwt: string, key: KeyObject, provider: TestProvider): boolean {
  const [header, payload, signature] = jwt.split(".") as [string, string, string];
  const ok = verify(
    "sha256",
    Buffer.from(`${header}.${payload}`),
    { key, dsaEncoding: "ieee-p1363" },
    Buffer.from(signature, "base64url"),
  );
  const h = JSON.parse(Buffer.from(header, "base64url").toString()) as Record<string, unknown>;
  const c = JSON.parse(Buffer.from(payload, "base64url").toString()) as Record<string, number | string>;
  const now = Date.now() / 1000;
  return (
    ok &&
    h.alg === "ES256" &&
    h.kid === "apple-kid" &&
    c.sub === provider.clientId &&
    c.aud === provider.issuer &&
    c.iss === "team-id" &&
    Number(c.iat) <= now + 5 &&
    Number(c.exp) > now
  );
}

/** Through the provider as `login`, from Gatehouse's redirect URL up to the client's redirect (or a page). */
function loginThrough(env: Env, browser: TestBrowser, start: string, login: string) {
  return browser.follow(start, {
    login,
    providerOrigin: new URL(env.provider.issuer).origin,
    stop: (u) => u.href.startsWith("https://app.example/") || u.href.startsWith("https://elsewhere.example/"),
  });
}

function ssoUrl(env: Env, idp: string, redirectUrl = APP): string {
  return `${env.base}_matrix/client/v3/login/sso/redirect/${idp}?redirectUrl=${encodeURIComponent(redirectUrl)}`;
}

async function userExists(env: Env, userId: string): Promise<boolean> {
  const r = await call(env.server.url, "GET", `/_synapse/admin/v2/users/${encodeURIComponent(userId)}`, {
    token: env.adminToken,
  });
  return r.status === 200;
}

/** A logout token as a provider signs it (RS256 with `jwk`), with `claims` over the defaults. */
function logoutToken(
  env: Env,
  claims: Record<string, unknown>,
  jwk: JsonWebKey & { kid?: string } = env.provider.signingJwk,
) {
  const enc = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
  const body = {
    iss: env.provider.issuer,
    aud: env.provider.clientId,
    iat: Math.floor(Date.now() / 1000),
    jti: String(Math.random()),
    events: { "http://schemas.openid.net/event/backchannel-logout": {} },
    ...claims,
  };
  const data = `${enc({ alg: "RS256", kid: jwk.kid ?? "test-key", typ: "logout+jwt" })}.${enc(body)}`;
  const signature = sign("sha256", Buffer.from(data), createPrivateKey({ key: jwk, format: "jwk" }));
  return `${data}.${signature.toString("base64url")}`;
}

async function postLogout(env: Env, token: string) {
  return call(env.server.url, "POST", "/_synapse/client/oidc/backchannel_logout", {
    body: new URLSearchParams({ logout_token: token }).toString(),
    headers: { "content-type": "application/x-www-form-urlencoded" },
  });
}

forEachDatabase((kind) => {
  let env: Env;
  beforeAll(async () => {
    env = await startEnv(kind);
  }, 60_000);
  afterAll(async () => {
    await env.server.close();
    await env.provider.close();
    await env.pictures.close();
  });

  it("lists m.login.sso with its identity providers, and m.login.token", async () => {
    const r = await call<{ flows: Record<string, unknown>[] }>(env.server.url, "GET", "/_matrix/client/v3/login");
    expect(r.body.flows.slice(0, 2)).toEqual([
      {
        type: "m.login.sso",
        identity_providers: [
          { id: "oidc-test", name: "Test IdP", brand: "test" },
          { id: "oidc-strict", name: "Staff only" },
          { id: "oidc-existing", name: "Links existing" },
          { id: "oidc-apple", name: "Apple" },
        ],
      },
      { type: "m.login.token" },
    ]);
  });

  it("logs in with matrix-js-sdk end to end, creating the account from the claims once", async () => {
    env.provider.accounts.set("alice-sub", {
      preferred_username: "Alice",
      name: "Alice Liddell",
      email: "alice@example.org",
      picture: `${env.pictures.url}/alice.png`,
    });
    const client: MatrixClient = createClient({ baseUrl: env.server.url, logger: sdkLogger });
    const browser = new TestBrowser();
    const landed = await loginThrough(env, browser, client.getSsoLoginUrl(APP, "sso", "oidc-test"), "alice-sub");
    expect(landed.url.origin + landed.url.pathname).toBe(APP);
    const loginToken = landed.url.searchParams.get("loginToken")!;
    expect(loginToken).toMatch(/^syl_/);
    // The provider required PKCE, so the authorization request carried a challenge.
    expect(browser.visited.some((u) => u.includes("code_challenge_method=S256"))).toBe(true);
    const login = await client.loginRequest({ type: "m.login.token", token: loginToken });
    expect(login.user_id).toBe("@alice:localhost");
    // extra_attributes: rendered from the claims (trimmed), added to the login's answer as Synapse does.
    expect((login as unknown as Record<string, unknown>).sso_username).toBe("Alice");
    const whoami = await createClient({
      baseUrl: env.server.url,
      accessToken: login.access_token,
      logger: sdkLogger,
    }).whoami();
    expect(whoami.user_id).toBe("@alice:localhost");
    // Single use.
    await expect(client.loginRequest({ type: "m.login.token", token: loginToken })).rejects.toMatchObject({
      errcode: "M_FORBIDDEN",
    });

    const user = await call(env.server.url, "GET", "/_synapse/admin/v2/users/@alice:localhost", {
      token: env.adminToken,
    });
    // picture_template: the picture is now the avatar, a media item of the server's.
    const avatar = (user.body as { avatar_url: string }).avatar_url;
    expect(avatar).toMatch(/^mxc:\/\/localhost\/[A-Za-z]+$/);
    const download = await fetch(`${env.server.url}/_matrix/client/v1/media/download/${avatar.slice(6)}`, {
      headers: { authorization: `Bearer ${env.adminToken}` },
    });
    expect(download.status).toBe(200);
    expect(Buffer.from(await download.arrayBuffer())).toEqual(PNG);
    expect(user.body).toMatchObject({
      displayname: "Alice Liddell",
      external_ids: [{ auth_provider: "oidc-test", external_id: "alice-sub" }],
      threepids: [expect.objectContaining({ medium: "email", address: "alice@example.org" })],
    });

    // Again, with new names at the provider: the external ID finds the same account.
    // The new picture cannot be had (404): the login goes on, the avatar stays (the log says why).
    env.provider.accounts.set("alice-sub", {
      preferred_username: "alice2",
      name: "A",
      email: "alice@example.org",
      picture: `${env.pictures.url}/gone.png`,
    });
    const again = await loginThrough(env, new TestBrowser(), ssoUrl(env, "oidc-test"), "alice-sub");
    const second = await call<{ user_id: string }>(env.server.url, "POST", "/_matrix/client/v3/login", {
      json: { type: "m.login.token", token: again.url.searchParams.get("loginToken") },
    });
    expect(second.body.user_id).toBe("@alice:localhost");
    expect((second.body as Record<string, unknown>).sso_username).toBe("alice2");
    expect(await userExists(env, "@alice2:localhost")).toBe(false);
    // sso.update_profile_information: the display name follows the provider's.
    const profile = await call(env.server.url, "GET", "/_matrix/client/v3/profile/@alice:localhost/displayname");
    expect(profile.body).toEqual({ displayname: "A" });
    const after = await call(env.server.url, "GET", "/_matrix/client/v3/profile/@alice:localhost/avatar_url");
    expect(after.body).toEqual({ avatar_url: avatar });

    // One creation in the audit log, as for any other account, naming the provider.
    const audit = await call<{ entries: { action: string; after: Record<string, unknown> }[] }>(
      env.server.url,
      "GET",
      "/_gatehouse/admin/v1/audit?target=%40alice%3Alocalhost&action=user.create",
      { token: env.adminToken },
    );
    expect(audit.status, audit.text).toBe(200);
    expect(audit.body.entries).toHaveLength(1);
    expect(audit.body.entries[0]!.after).toMatchObject({ source: "oidc-test", displayname: "Alice Liddell" });
  });

  it("asks before handing a token to a redirect URL outside the whitelist", async () => {
    env.provider.accounts.set("carol-sub", { preferred_username: "carol" });
    const page = await loginThrough(
      env,
      new TestBrowser(),
      ssoUrl(env, "oidc-test", "https://elsewhere.example/x?a=1"),
      "carol-sub",
    );
    expect(page.status).toBe(200);
    expect(page.body).toContain("Continue to elsewhere.example");
    expect(page.body).toMatch(/href="https:\/\/elsewhere\.example\/x\?a=1&#38;loginToken=syl_/);
  });

  it("shows a provider picker when several are configured and none is named, also at Synapse's pick_idp", async () => {
    const r = await fetch(
      `${env.server.url}/_matrix/client/v3/login/sso/redirect?redirectUrl=${encodeURIComponent(APP)}`,
    );
    const html = await r.text();
    expect(r.status).toBe(200);
    expect(html).toContain(
      "/_matrix/client/v3/login/sso/redirect/oidc-strict?redirectUrl=https%3A%2F%2Fapp.example%2Fafter-login",
    );
    // Synapse's picker path: the same page; with `idp` straight to the provider, with this flow's cookie.
    const synapsePicker = `${env.server.url}/_synapse/client/pick_idp?redirectUrl=${encodeURIComponent(APP)}`;
    const picked = await fetch(synapsePicker);
    expect(picked.status).toBe(200);
    expect(await picked.text()).toContain(
      "/_matrix/client/v3/login/sso/redirect/oidc-strict?redirectUrl=https%3A%2F%2Fapp.example%2Fafter-login",
    );
    const direct = await fetch(`${synapsePicker}&idp=oidc-strict`, { redirect: "manual" });
    expect(direct.status).toBe(302);
    expect(direct.headers.get("location")).toMatch(new RegExp(`^${env.provider.issuer}/`));
    expect(direct.headers.get("set-cookie")).toMatch(/^oidc_session=/);
    const noIdp = await call(env.server.url, "GET", `/_synapse/client/pick_idp?redirectUrl=${APP}&idp=nope`);
    expect([noIdp.status, noIdp.body.errcode]).toEqual([404, "M_NOT_FOUND"]);
    expect((await call(env.server.url, "GET", "/_synapse/client/pick_idp")).body.errcode).toBe("M_MISSING_PARAM");
    const missing = await call(env.server.url, "GET", "/_matrix/client/v3/login/sso/redirect/oidc-test");
    expect(missing.status).toBe(400);
    expect(missing.body.errcode).toBe("M_MISSING_PARAM");
    const unknown = await call(
      env.server.url,
      "GET",
      `/_matrix/client/v3/login/sso/redirect/nope?redirectUrl=${encodeURIComponent(APP)}`,
    );
    expect(unknown.body.errcode).toBe("M_NOT_FOUND");
    const script = await call(
      env.server.url,
      "GET",
      `/_matrix/client/v3/login/sso/redirect/oidc-test?redirectUrl=javascript:alert(1)`,
    );
    expect(script.body.errcode).toBe("M_INVALID_PARAM");
  });

  it("refuses a callback whose state is not this browser's", async () => {
    env.provider.accounts.set("dave-sub", { preferred_username: "dave" });
    const browser = new TestBrowser();
    // Two logins started in one browser: the second's cookie replaces the first's, so the first's callback fails.
    const first = await browser.request(ssoUrl(env, "oidc-test"));
    await browser.request(ssoUrl(env, "oidc-test"));
    const page = await loginThrough(env, browser, first.headers.get("location")!, "dave-sub");
    expect(page.status).toBe(403);
    expect(page.body).toContain("The state does not match");
    expect(await userExists(env, "@dave:localhost")).toBe(false);
  });

  it("refuses an ID token whose nonce is not the session's", async () => {
    env.provider.accounts.set("erin-sub", { preferred_username: "erin" });
    const browser = new TestBrowser();
    const start = await browser.request(ssoUrl(env, "oidc-test"));
    const forged = new URL(start.headers.get("location")!);
    forged.searchParams.set("nonce", "not-the-session-nonce");
    const page = await loginThrough(env, browser, forged.href, "erin-sub");
    expect(page.body).toMatch(/unexpected JWT claim value encountered: [^<]*nonce/);
    expect(page.status).toBe(400);
    expect(await userExists(env, "@erin:localhost")).toBe(false);
  });

  it("refuses a replayed callback, and one without the session cookie", async () => {
    env.provider.accounts.set("frank-sub", { preferred_username: "frank" });
    const browser = new TestBrowser();
    let callback = "";
    await browser.follow(ssoUrl(env, "oidc-test"), {
      login: "frank-sub",
      providerOrigin: new URL(env.provider.issuer).origin,
      stop: (u) => {
        if (u.pathname === "/_synapse/client/oidc/callback") callback ||= u.href;
        return u.href.startsWith("https://app.example/");
      },
    });
    expect(callback).not.toBe("");
    // The same browser again: its cookie was cleared by the first callback.
    const replay = await browser.request(callback);
    expect(replay.status).toBe(403);
    expect(await replay.text()).toContain("No session cookie found");
  });

  it("refuses a missing claim and an invalid localpart without creating anyone", async () => {
    env.provider.accounts.set("nameless-sub", { name: "No Username" });
    const missing = await loginThrough(env, new TestBrowser(), ssoUrl(env, "oidc-test"), "nameless-sub");
    expect(missing.status).toBe(403);
    expect(missing.body).toContain("gave no value for the localpart template");

    env.provider.accounts.set("numeric-sub", { preferred_username: "12345" });
    const numeric = await loginThrough(env, new TestBrowser(), ssoUrl(env, "oidc-test"), "numeric-sub");
    expect(numeric.status).toBe(400);
    expect(numeric.body).toContain("Numeric user IDs are reserved");
    expect(await userExists(env, "@12345:localhost")).toBe(false);
  });

  it("authenticates to the token endpoint with a client_secret_jwt_key secret, reused while it is fresh", async () => {
    env.provider.accounts.set("apple-sub", { preferred_username: "appleseed" });
    const before = env.appleSecrets.length;
    for (let i = 0; i < 2; i++) {
      const landed = await loginThrough(env, new TestBrowser(), ssoUrl(env, "oidc-apple"), "apple-sub");
      const login = await call<{ user_id: string }>(env.server.url, "POST", "/_matrix/client/v3/login", {
        json: { type: "m.login.token", token: landed.url.searchParams.get("loginToken") },
      });
      expect(login.body.user_id).toBe("@appleseed:localhost");
    }
    const used = env.appleSecrets.slice(before);
    expect(used).toHaveLength(2);
    expect(used[1]).toBe(used[0]);
  });

  it("gives a taken generated localpart a numeric suffix, and links to it with allow_existing_users", async () => {
    await registerShared(env.server.url, { username: "grace", password: "grace's password" });
    env.provider.accounts.set("grace-sub", { preferred_username: "grace" });
    const suffixed = await loginThrough(env, new TestBrowser(), ssoUrl(env, "oidc-test"), "grace-sub");
    const login = await call<{ user_id: string }>(env.server.url, "POST", "/_matrix/client/v3/login", {
      json: { type: "m.login.token", token: suffixed.url.searchParams.get("loginToken") },
    });
    expect(login.body.user_id).toBe("@grace1:localhost");

    const linked = await loginThrough(env, new TestBrowser(), ssoUrl(env, "oidc-existing"), "grace-sub");
    const login2 = await call<{ user_id: string }>(env.server.url, "POST", "/_matrix/client/v3/login", {
      json: { type: "m.login.token", token: linked.url.searchParams.get("loginToken") },
    });
    expect(login2.body.user_id).toBe("@grace:localhost");
  });

  it("refuses a provider's new user when its registration is off, and unmet attribute requirements", async () => {
    env.provider.accounts.set("henry-sub", { preferred_username: "henry", groups: ["guests"] });
    const closed = await loginThrough(env, new TestBrowser(), ssoUrl(env, "oidc-existing"), "henry-sub");
    expect(closed.status).toBe(403);
    expect(closed.body).toContain("registrations are disabled");
    const strict = await loginThrough(env, new TestBrowser(), ssoUrl(env, "oidc-strict"), "henry-sub");
    expect(strict.status).toBe(403);
    expect(strict.body).toContain("not authorised");
    expect(await userExists(env, "@henry:localhost")).toBe(false);
  });

  it("refuses a deactivated account's SSO login instead of creating it again", async () => {
    env.provider.accounts.set("ivy-sub", { preferred_username: "ivy" });
    await loginThrough(env, new TestBrowser(), ssoUrl(env, "oidc-test"), "ivy-sub");
    const deactivate = await call(env.server.url, "POST", "/_synapse/admin/v1/deactivate/@ivy:localhost", {
      token: env.adminToken,
      json: {},
    });
    expect(deactivate.status).toBe(200);
    const page = await loginThrough(env, new TestBrowser(), ssoUrl(env, "oidc-test"), "ivy-sub");
    expect(page.status).toBe(403);
    expect(page.body).toContain("This account has been deactivated");
    expect(await userExists(env, "@ivy1:localhost")).toBe(false);
  });

  it("offers m.login.sso to an account without a password, completed only by the requester at the provider", async () => {
    env.provider.accounts.set("uia-sub", { preferred_username: "uiauser" });
    env.provider.accounts.set("other-sub", { preferred_username: "otheruser" });
    const landed = await loginThrough(env, new TestBrowser(), ssoUrl(env, "oidc-test"), "uia-sub");
    const login = await call<{ access_token: string; device_id: string }>(
      env.server.url,
      "POST",
      "/_matrix/client/v3/login",
      {
        json: { type: "m.login.token", token: landed.url.searchParams.get("loginToken") },
      },
    );
    await loginThrough(env, new TestBrowser(), ssoUrl(env, "oidc-test"), "other-sub");
    const path = `/_matrix/client/v3/devices/${login.body.device_id}`;
    const challenge = await call<{ session: string; flows: unknown }>(env.server.url, "DELETE", path, {
      token: login.body.access_token,
      json: {},
    });
    expect(challenge.status).toBe(401);
    expect(challenge.body.flows).toEqual([{ stages: ["m.login.sso"] }]);
    const fallback = `${env.base}_matrix/client/v3/auth/m.login.sso/fallback/web?session=${challenge.body.session}`;

    // Someone else at the provider cannot finish the requester's stage.
    const wrong = await loginThrough(env, new TestBrowser(), fallback, "other-sub");
    expect(wrong.status).toBe(403);
    expect(wrong.body).toContain("not the one that asked");
    const early = await call(env.server.url, "DELETE", path, {
      token: login.body.access_token,
      json: { auth: { type: "m.login.sso", session: challenge.body.session } },
    });
    expect(early.status).toBe(401);

    const done = await loginThrough(env, new TestBrowser(), fallback, "uia-sub");
    expect(done.status).toBe(200);
    expect(done.body).toContain('postMessage("authDone", "*")');
    const deleted = await call(env.server.url, "DELETE", path, {
      token: login.body.access_token,
      json: { auth: { session: challenge.body.session } },
    });
    expect(deleted.status).toBe(200);
  });

  it("ends the sessions made through the provider on a valid back-channel logout token only", async () => {
    env.provider.accounts.set("bcl-sub", { preferred_username: "bcl" });
    const landed = await loginThrough(env, new TestBrowser(), ssoUrl(env, "oidc-test"), "bcl-sub");
    const login = await call<{ access_token: string }>(env.server.url, "POST", "/_matrix/client/v3/login", {
      json: { type: "m.login.token", token: landed.url.searchParams.get("loginToken") },
    });
    const whoami = () =>
      call(env.server.url, "GET", "/_matrix/client/v3/account/whoami", { token: login.body.access_token });
    expect((await whoami()).status).toBe(200);

    const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const strangerKey = { ...privateKey.export({ format: "jwk" }), kid: "test-key" };
    for (const [token, reason] of [
      [logoutToken(env, { sub: "bcl-sub" }, strangerKey), "bad signature"],
      [logoutToken(env, { sub: "bcl-sub", nonce: "n" }), "nonce"],
      [logoutToken(env, { sub: "bcl-sub", events: {} }), "no logout event"],
      [logoutToken(env, { sub: "bcl-sub", aud: "someone-else" }), "issuer and audience"],
      [logoutToken(env, {}), "neither sid nor sub"],
    ] as const) {
      const r = await postLogout(env, token);
      expect(r.status).toBe(400);
      expect(r.body).toMatchObject({ error: "invalid_request" });
      expect(r.body.error_description).toContain(reason);
    }
    expect((await whoami()).status).toBe(200);

    expect((await postLogout(env, logoutToken(env, { sub: "bcl-sub" }))).status).toBe(200);
    const after = await whoami();
    expect(after.status).toBe(401);
    expect(after.body.errcode).toBe("M_UNKNOWN_TOKEN");
  });
});
