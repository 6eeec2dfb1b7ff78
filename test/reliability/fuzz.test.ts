/**
 * Hostile input to every route the application registers (collected from fastify as the route modules add them,
 * so a route added later is fuzzed too), with no token, a garbage token and an admin's token: malformed JSON,
 * known fields with wrong types, strings up to and past the body limit, 10,000 levels of nesting, NUL, RTL
 * overrides, combining marks, homoglyphs and lone surrogates, in the body, the path parameters and the query.
 *
 * Properties: the server stays up; nothing is answered 5xx; every 4xx carries a Matrix `{"errcode","error"}` body;
 * and a refused request changes nothing in users, devices, access_tokens and registration_tokens (a device's
 * last-seen columns excepted: an authenticated request is a sighting even when refused).
 *
 * fast-check prints the seed and the shrunk counterexample of a failure; rerun with FUZZ_SEED=<seed>.
 */
import fc from "fast-check";
import { afterAll, beforeAll, expect, it } from "vitest";
import { registeredRoutes, type Route } from "../helpers/routes.js";
import { closeAdminFixture, PASSWORD, startAdminFixture, type AdminFixture } from "../admin/support.js";
import type { Session } from "../api/account-support.js";
import { forEachDatabase } from "../helpers/databases.js";
import { attempt, CHEAP_HASHING, isMatrixErrorBody, loginBody } from "./support.js";

const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : Date.now() % 2 ** 31;
const RUNS_PER_ROUTE = Number(process.env.FUZZ_RUNS ?? 6);
const BODY_LIMIT = 1024 * 1024;

/** Field names the routes read, so wrong types reach the validation code, not only the "unknown key" path. */
const FIELDS = [
  "username",
  "password",
  "auth",
  "type",
  "session",
  "identifier",
  "user",
  "medium",
  "address",
  "device_id",
  "initial_device_display_name",
  "display_name",
  "displayname",
  "avatar_url",
  "admin",
  "deactivated",
  "locked",
  "suspend",
  "erase",
  "devices",
  "rows",
  "dry_run",
  "on_conflict",
  "token",
  "uses_allowed",
  "expiry_time",
  "length",
  "new_password",
  "logout_devices",
  "threepids",
  "external_ids",
  "user_type",
  "mac",
  "nonce",
  "refresh_token",
  "inhibit_login",
  "guest_access_token",
  "id_server",
  "client_secret",
  "sid",
  "limit",
  "from",
  "dir",
  "filter",
  "search_categories",
  "room",
  "event_fields",
  "account_data",
  "presence",
  "device_keys",
  "one_time_keys",
  "fallback_keys",
  "timeout",
  "actions",
  "pattern",
  "conditions",
  "enabled",
  "login_token",
  "org.gatehouse.access_token_lifetime_ms",
] as const;
// prettier-ignore
const QUERY_KEYS = ["limit", "from", "dir", "order_by", "name", "user_id", "guests", "deactivated", "timeout", "since",
  "filter", "full_state", "valid", "kind", "before", "after", "set_presence", "allow_redirect", "access_token"];

/** The odd corners of Unicode and of JSON strings. */
const ODD = [
  "\u0000",
  "a\u0000b",
  "\u202Eadmin",
  "\u200F\u200Eroot",
  "e\u0301\u0301\u0301",
  "\u0430dmin",
  "r\u043E\u043Et",
  "\uFEFF",
  "\u200B",
  "\uD800",
  "\uDFFF",
  "😀",
  "ǅ",
  "İ",
  "ß",
  "\u212A",
  "\u00A0",
  "\r\n",
  "%00",
  "..",
  "../..",
  "@admin:localhost",
  "@:",
  ":",
  "@",
  "\\",
  "'; DROP TABLE users; --",
  "%",
  "+",
  " ",
  "",
];

const oddString = fc.oneof(
  fc.constantFrom(...ODD),
  fc.string({ unit: "grapheme", maxLength: 40 }),
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.array(fc.constantFrom(...ODD), { maxLength: 6 }).map((parts) => parts.join("x")),
);

const number = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(0, -1, 2 ** 53, -(2 ** 63), 1e308, -0, 0.5),
);

/** Any JSON value, shallow, with odd strings and numbers. */
const jsonValue: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    oddString,
    number,
    fc.boolean(),
    fc.constant(null),
    fc.array(tie("value"), { maxLength: 3 }),
    fc.dictionary(fc.oneof(fc.constantFrom(...FIELDS), oddString), tie("value"), { maxKeys: 3 }),
  ),
})).value;

/** As text; `undefined` (which JSON.stringify returns as is) as "". */
const jsonText = (v: unknown): string => (v === undefined ? "" : JSON.stringify(v));

const deep = (levels: number, open: string, close: string, inner = "1") =>
  open.repeat(levels) + inner + close.repeat(levels);

/** Bodies as raw text: the server must cope with whatever bytes arrive. */
const body: fc.Arbitrary<string | undefined> = fc.oneof(
  fc.constant(undefined),
  // Malformed JSON: truncated, trailing garbage, not JSON at all.
  fc.constantFrom(
    "",
    "{",
    "[",
    "}",
    "nul",
    '{"username":}',
    "{'a':1}",
    '{"a":1}}',
    "\u0000",
    "NaN",
    "[1,]",
    '{"auth": {"type": "m.login.dummy"}',
    "\uFEFF{}",
  ),
  jsonValue.chain((v) => fc.nat({ max: jsonText(v).length }).map((cut) => jsonText(v).slice(0, cut))),
  // Well-formed JSON, object or not, with known fields given wrong types.
  jsonValue.map((v) => JSON.stringify(v)),
  fc.dictionary(fc.constantFrom(...FIELDS), jsonValue, { minKeys: 1, maxKeys: 6 }).map((v) => JSON.stringify(v)),
  // 10,000 levels of nesting, bare and under a known field.
  fc.constantFrom(
    deep(10_000, "[", "]"),
    deep(10_000, '{"a":', "}"),
    `{"auth":${deep(10_000, '{"auth":', "}", "{}")}}`,
    `{"rows":${deep(10_000, "[", "]")}}`,
  ),
  // Strings just under and past the body limit.
  fc
    .constantFrom(BODY_LIMIT - 100, BODY_LIMIT + 10)
    .chain((size) =>
      fc
        .constantFrom(...FIELDS)
        .map((field) => JSON.stringify({ [field]: "\u0430".repeat(Math.floor(size / 2) - 20) })),
    ),
);

/** Query values: odd strings, inline JSON (a /sync filter) nested as deep as a URL allows, and a URL too long. */
const query = fc.dictionary(
  fc.constantFrom(...QUERY_KEYS),
  fc.oneof(
    { weight: 4, arbitrary: oddString },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        deep(1_000, "[", "]"),
        deep(400, '{"a":', "}"),
        "{",
        '{"room":[]}',
        "x".repeat(20_000),
      ),
    },
  ),
  { maxKeys: 3 },
);

/** Every method and path the real route modules register (HEAD and the catch-all pages aside). */
/** Routes an OpenID provider calls. */
const OAUTH_CALLBACKS = /\/backchannel_logout$/;

/** Routes a browser opens rather than a client calls: they answer HTML, their errors included. */
const BROWSER_PAGES = /^\/_synapse\/client\/|\/submit_token$|\/fallback\/web$|\/login\/sso\/redirect(\/|$)/;

function allRoutes(fx: AdminFixture): Route[] {
  return registeredRoutes(fx.server.server).filter(({ method }) => method !== "HEAD" && method !== "OPTIONS");
}

/**
 * Percent-encodes every byte but the unreserved ones. Unlike encodeURIComponent it never throws: a lone surrogate
 * goes out as the bytes Buffer makes of it.
 */
const pct = (s: string) =>
  [...Buffer.from(s, "utf8")]
    .map((b) =>
      /[A-Za-z0-9\-._~]/.test(String.fromCharCode(b))
        ? String.fromCharCode(b)
        : `%${b.toString(16).toUpperCase().padStart(2, "0")}`,
    )
    .join("");

/** A value for a path parameter: usually a real one, so the request gets past the lookup, else an odd string. */
function param(name: string, victim: Session): fc.Arbitrary<string> {
  const real: Record<string, string> = {
    userId: victim.userId,
    deviceId: victim.deviceId,
    kind: "override",
    ruleId: ".m.rule.master",
    type: "m.push_rules",
    version: "1",
    filterId: "0",
    token: "abcd",
  };
  return fc.oneof({ weight: 3, arbitrary: fc.constant(real[name] ?? "x") }, { weight: 2, arbitrary: oddString });
}

/** A cheap, complete picture of the account tables (the columns a refused request must not change). */
async function snapshot(fx: AdminFixture): Promise<string> {
  const k = fx.look.kysely;
  const [users, devices, tokens, regTokens] = await Promise.all([
    k.selectFrom("users").selectAll().orderBy("name").execute(),
    k
      .selectFrom("devices")
      .select(["user_id", "device_id", "display_name"])
      .orderBy("user_id")
      .orderBy("device_id")
      .execute(),
    k
      .selectFrom("access_tokens")
      .select(["token_hash", "user_id", "device_id", "valid_until_ms", "puppets_user_id"])
      .orderBy("token_hash")
      .execute(),
    k.selectFrom("registration_tokens").selectAll().orderBy("token").execute(),
  ]);
  return JSON.stringify({ users, devices, tokens, regTokens });
}

/** fast-check's own report prints the whole counterexample, megabytes for the huge bodies: cut it short. */
function shortReport<T extends unknown[]>(details: fc.RunDetails<T>): void {
  if (!details.failed) return;
  const cut = (v: unknown) => {
    const text = typeof v === "string" ? v : jsonText(v);
    return text.length > 400 ? `${text.slice(0, 400)}… (${text.length} characters)` : text;
  };
  const example = ((details.counterexample ?? []) as unknown[]).map(cut).join(", ");
  const cause = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
  throw new Error(
    `fuzz failure (FUZZ_SEED=${details.seed}, path ${details.counterexamplePath}): ${cut(cause)}\n  input: ${example}`,
  );
}

forEachDatabase((kind) => {
  let fx: AdminFixture;
  let victim: Session;
  beforeAll(async () => {
    fx = await startAdminFixture(kind, CHEAP_HASHING);
    victim = await fx.user("victim");
  });
  afterAll(() => closeAdminFixture(fx));

  it(`survives hostile input on every route (seed ${SEED}, ${RUNS_PER_ROUTE} runs per route)`, async () => {
    const routes = allRoutes(fx);
    expect(routes.length).toBeGreaterThan(60);
    let adminToken = fx.admin.token;
    const freshAdminToken = async (token: string) => {
      if ((await attempt(fx.url, "GET", "/_matrix/client/v3/account/whoami", { token })).status === 200) return token;
      const r = await attempt(fx.url, "POST", "/_matrix/client/v3/login", { json: loginBody("root", PASSWORD) });
      expect(r.status, `the admin logs in again: ${r.text}`).toBe(200);
      return (r.body as { access_token: string }).access_token;
    };
    let state = await snapshot(fx);
    let requests = 0;
    const statuses = new Map<number, number>();
    for (const route of routes) {
      const names = [...route.url.matchAll(/:(\w+)/g)].map((m) => m[1]!);
      const params = fc.tuple(...names.map((n) => param(n, victim)));
      const token = fc.constantFrom<"none" | "garbage" | "admin">("none", "garbage", "admin");
      const sendsBody = route.method !== "GET";
      await fc.assert(
        fc.asyncProperty(params, token, sendsBody ? body : fc.constant(undefined), query, async (values, who, b, q) => {
          let path = route.url;
          names.forEach((n, i) => (path = path.replace(`:${n}`, pct(values[i]!))));
          path = path.replace(/\*$/, "x");
          const qs = new URLSearchParams(q).toString();
          const r = await attempt(fx.url, route.method, qs ? `${path}?${qs}` : path, {
            body: b,
            token: who === "admin" ? adminToken : who === "garbage" ? "syt_bm90aGluZw_garbage_000000" : undefined,
          });
          requests++;
          statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
          const label = `${route.method} ${path} (${who}) → ${r.status} ${r.failure ?? r.text.slice(0, 300)}`;
          expect(r.status, label).toBeGreaterThan(0);
          expect(r.status, label).toBeLessThan(500);
          // A UIA challenge is the one 4xx that is not an error body: it asks for the next stage.
          const challenge = r.status === 401 && Array.isArray((r.body as { flows?: unknown } | undefined)?.flows);
          // The pages a browser opens (mailed links, SSO, UIA fallbacks) refuse with an HTML page, never a trace.
          const page = BROWSER_PAGES.test(route.url) && /^text\/html\b/.test(r.headers?.get("content-type") ?? "");
          if (page) expect(r.text, label).not.toMatch(/\bat .+:\d+:\d+|Error:/);
          else if (r.status >= 400 && OAUTH_CALLBACKS.test(route.url)) {
            // The provider's back-channel logout call gets OAuth's error body (OpenID Back-Channel Logout §2.8).
            expect(typeof (r.body as { error?: unknown } | undefined)?.error, label).toBe("string");
          } else if (r.status >= 400 && !challenge) expect(isMatrixErrorBody(r.body), label).toBe(true);
          const after = await snapshot(fx);
          if (r.status >= 400) expect(after === state, `${label}: a refused request changed the tables`).toBe(true);
          state = after;
          // An accepted logout (or device deletion) may have ended the admin's session: start a new one.
          if (r.status < 300 && who === "admin") {
            const token = await freshAdminToken(adminToken);
            if (token !== adminToken) [adminToken, state] = [token, await snapshot(fx)];
          }
        }),
        { seed: SEED, numRuns: RUNS_PER_ROUTE, endOnFailure: true, reporter: shortReport },
      );
    }
    // Still up and still serving the admin.
    expect((await attempt(fx.url, "GET", "/_matrix/client/versions")).status).toBe(200);
    expect((await attempt(fx.url, "GET", "/_matrix/client/v3/account/whoami", { token: adminToken })).status).toBe(200);
    console.log(
      `${kind}: ${routes.length} routes, ${requests} requests; statuses ${JSON.stringify(Object.fromEntries(statuses))}`,
    );
    // Hundreds of requests: past the default 60 s when it shares two busy cores with the other worker.
  }, 180_000);
});
