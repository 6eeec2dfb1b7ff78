/**
 * A real OpenID provider for the SSO tests (`oidc-provider`, on loopback, in this process) and a scripted browser
 * (fetch with a cookie jar, redirects followed by hand) that logs in on its development login and consent forms.
 * The provider signs with a key the test holds, so tests can also sign back-channel logout tokens of their own.
 */
import { generateKeyPairSync, type JsonWebKey } from "node:crypto";
import { createServer, type AddressInfo } from "node:net";
import Provider from "oidc-provider";

/** A port the OS has just handed out and taken back: the server's URL must be known before it starts. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

export interface TestProvider {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** The provider's signing key (private JWK, with `kid`): the test signs logout tokens with it. */
  signingJwk: JsonWebKey & { kid: string };
  /** Claims per account ID; tests add accounts as they go. */
  accounts: Map<string, Record<string, unknown>>;
  close(): Promise<void>;
}

export async function startProvider(gatehouseBase: string): Promise<TestProvider> {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const signingJwk = { ...privateKey.export({ format: "jwk" }), kid: "test-key", use: "sig", alg: "RS256" };
  const accounts = new Map<string, Record<string, unknown>>();
  const clientId = "gatehouse";
  const clientSecret = "a client secret that is long enough for HS256 too";
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uris: [`${gatehouseBase}_synapse/client/oidc/callback`],
        response_types: ["code"],
        grant_types: ["authorization_code"],
        backchannel_logout_uri: `${gatehouseBase}_synapse/client/oidc/backchannel_logout`,
        backchannel_logout_session_required: true,
      },
    ],
    jwks: { keys: [signingJwk as never] },
    claims: {
      openid: ["sub", "sid"],
      email: ["email", "email_verified"],
      profile: ["name", "preferred_username", "picture"],
    },
    scopes: ["openid", "email", "profile"],
    pkce: { required: () => true },
    findAccount: (_ctx: unknown, id: string) =>
      accounts.has(id) ? { accountId: id, claims: () => ({ sub: id, ...accounts.get(id) }) } : undefined,
    features: { devInteractions: { enabled: true }, backchannelLogout: { enabled: true } },
    cookies: { keys: ["test cookie key"] },
  });
  // The provider warns about its development defaults on every start; they are what a test wants.
  const server = provider.listen(port, "127.0.0.1");
  await new Promise<void>((resolve) => server.once("listening", () => resolve()));
  return {
    issuer,
    clientId,
    clientSecret,
    signingJwk,
    accounts,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

interface Cookie {
  host: string;
  name: string;
  value: string;
  path: string;
}

/** The parts of a browser the SSO flow needs: cookies (by host and path) and redirects followed one by one. */
export class TestBrowser {
  cookies: Cookie[] = [];
  /** Every URL requested, in order. */
  visited: string[] = [];

  private cookieHeader(url: URL): string {
    return this.cookies
      .filter((c) => c.host === url.host && url.pathname.startsWith(c.path))
      .map((c) => `${c.name}=${c.value}`)
      .join("; ");
  }

  private store(url: URL, res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(";");
      const eq = pair!.indexOf("=");
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      const pathAttr = attrs.map((a) => a.trim()).find((a) => a.toLowerCase().startsWith("path="));
      const path = pathAttr ? pathAttr.slice(5) : "/";
      const gone = attrs.some((a) => /^\s*max-age=0\s*$/i.test(a)) || /expires=Thu, 01 Jan 1970/i.test(line);
      this.cookies = this.cookies.filter((c) => !(c.host === url.host && c.name === name && c.path === path));
      if (!gone) this.cookies.push({ host: url.host, name, value, path });
    }
  }

  async request(url: string, init: { method?: string; form?: Record<string, string> | URLSearchParams } = {}) {
    const u = new URL(url);
    this.visited.push(u.href);
    const headers: Record<string, string> = {};
    const cookie = this.cookieHeader(u);
    if (cookie) headers.cookie = cookie;
    let body: string | undefined;
    if (init.form) {
      headers["content-type"] = "application/x-www-form-urlencoded";
      body = new URLSearchParams(init.form as Record<string, string>).toString();
    }
    const res = await fetch(u, { method: init.method ?? (body ? "POST" : "GET"), headers, body, redirect: "manual" });
    this.store(u, res);
    return res;
  }

  /**
   * Follows redirects from `url`, signing in at the provider as `login` (and consenting) when its forms appear,
   * until a URL `stop` accepts (returned unfetched) or a page that is not the provider's (returned with its body).
   */
  async follow(
    url: string,
    opts: { login?: string; stop: (u: URL) => boolean; providerOrigin: string },
  ): Promise<{ url: URL; status: number; body: string; location?: string }> {
    let current = new URL(url);
    for (let hops = 0; hops < 30; hops++) {
      if (opts.stop(current)) return { url: current, status: 0, body: "" };
      const res = await this.request(current.href);
      const location = res.headers.get("location");
      if (res.status >= 300 && res.status < 400 && location) {
        current = new URL(location, current);
        continue;
      }
      const body = await res.text();
      if (current.origin !== opts.providerOrigin) return { url: current, status: res.status, body };
      const action = /<form[^>]*action="([^"]+)"/.exec(body)?.[1];
      if (!action)
        throw new Error(`provider page without a form at ${current.href}: ${res.status} ${body.slice(0, 300)}`);
      const target = new URL(action.replace(/&amp;/g, "&"), current);
      const form: Record<string, string> = body.includes('value="login"')
        ? { prompt: "login", login: opts.login ?? "nobody", password: "anything" }
        : { prompt: "consent" };
      const posted = await this.request(target.href, { form });
      const next = posted.headers.get("location");
      if (!next) throw new Error(`provider form answered ${posted.status} without a redirect`);
      current = new URL(next, target);
    }
    throw new Error("too many redirects");
  }
}
