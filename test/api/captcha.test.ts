/**
 * The self-hosted CAPTCHA (`org.gatehouse.altcha`) over real HTTP on SQLite and PostgreSQL: challenges solved in
 * this process with altcha-lib's solver and sent as the widget sends them (base64 of `{challenge, solution}`),
 * in `auth` and through the spec's fallback page; replayed, foreign, forged and expired solutions refused.
 */
import type { Challenge } from "altcha-lib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { purgeUsedChallenges } from "../../src/accounts/altcha.js";
import { registrationFlows } from "../../src/accounts/client-registration.js";
import { ConfigError } from "../../src/config/validate.js";
import { CHEAP_ALTCHA, solveAltcha as solve } from "../helpers/altcha.js";
import { forEachDatabase } from "../helpers/databases.js";
import { call } from "../helpers/http.js";
import { configFrom, rawConfigFor, testClock } from "../helpers/server.js";
import { anonymous, PASSWORD } from "../clients/sdk-support.js";
import { closeFixture, register, startFixture, type Fixture, type UiaBody } from "./client-support.js";

const STAGE = "org.gatehouse.altcha";
const DUMMY = "m.login.dummy";
const TOKEN_STAGE = "m.login.registration_token";
const FALLBACK = `/_matrix/client/v3/auth/${STAGE}/fallback/web`;

/** Open registration guarded by the CAPTCHA alone, with the cheapest work the config allows. */
const CAPTCHA: Record<string, unknown> = {
  enable_registration: true,
  altcha: CHEAP_ALTCHA,
};

function uia(r: { status: number; body: unknown; text: string }): UiaBody {
  expect(r.status, r.text).toBe(401);
  return r.body as UiaBody;
}

async function openSession(url: string, username: string): Promise<UiaBody> {
  return uia(await register(url, { username, password: PASSWORD }));
}

function submit(url: string, session: string, payload: unknown) {
  return register(url, { auth: { type: STAGE, session, payload } });
}

forEachDatabase((kind) => {
  const clock = testClock();
  let fx: Fixture;
  beforeAll(async () => {
    fx = await startFixture(kind, CAPTCHA, { clock });
  });
  afterAll(() => closeFixture(fx));

  it("offers the CAPTCHA flow and a registration-token flow, with the challenge URL for the session", async () => {
    const body = await openSession(fx.url, "flows");
    expect(body.flows).toEqual([{ stages: [STAGE, DUMMY] }, { stages: [TOKEN_STAGE, DUMMY] }]);
    expect(body.params).toEqual({
      [STAGE]: { challenge_url: `/_gatehouse/altcha/challenge?session=${body.session}` },
    });
  });

  it("registers with matrix-js-sdk passing the solved CAPTCHA in auth, then the dummy stage", async () => {
    const client = anonymous(fx.url);
    const first = await client.registerRequest({ username: "sdkuser", password: PASSWORD }).then(
      () => {
        throw new Error("registered without a CAPTCHA");
      },
      (e: unknown) => (e as { data: UiaBody }).data,
    );
    const { payload } = await solve(fx.url, first.session);
    const afterCaptcha = await client
      .registerRequest({
        username: "sdkuser",
        password: PASSWORD,
        auth: { type: STAGE, session: first.session, payload },
      })
      .then(
        () => {
          throw new Error("registered without the dummy stage");
        },
        (e: unknown) => (e as { data: UiaBody }).data,
      );
    expect(afterCaptcha.completed).toEqual([STAGE]);
    const done = await client.register("sdkuser", PASSWORD, first.session, { type: DUMMY });
    expect(done.user_id).toBe("@sdkuser:localhost");
  });

  it("refuses the dummy stage alone: the CAPTCHA flow is not complete", async () => {
    const s = await openSession(fx.url, "lazy");
    const r = uia(await register(fx.url, { auth: { type: DUMMY, session: s.session } }));
    expect(r.completed).toEqual([DUMMY]);
  });

  it("refuses a solution used twice, even in the session it was solved for", async () => {
    const s = await openSession(fx.url, "replay");
    const { payload } = await solve(fx.url, s.session);
    expect(uia(await submit(fx.url, s.session, payload)).completed).toEqual([STAGE]);
    const again = uia(await submit(fx.url, s.session, payload));
    expect(again).toMatchObject({
      errcode: "M_FORBIDDEN",
      error: "This CAPTCHA has already been used; solve a new one",
    });
  });

  it("refuses a solution solved for another session, and that session stays incomplete", async () => {
    const mine = await openSession(fx.url, "mine");
    const theirs = await openSession(fx.url, "theirs");
    const { payload } = await solve(fx.url, mine.session);
    const r = uia(await submit(fx.url, theirs.session, payload));
    expect(r).toMatchObject({
      completed: [],
      errcode: "M_FORBIDDEN",
      error: "This CAPTCHA was solved for another session",
    });
    // Still good where it belongs: the refusal did not spend it.
    expect(uia(await submit(fx.url, mine.session, payload)).completed).toEqual([STAGE]);
  });

  it("refuses forged solutions: a changed challenge, a wrong answer, garbage", async () => {
    const s = await openSession(fx.url, "forger");
    const { challenge, payload } = await solve(fx.url, s.session);
    const decoded = JSON.parse(Buffer.from(payload, "base64").toString()) as {
      challenge: Challenge;
      solution: { counter: number; derivedKey: string };
    };
    const encode = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64");
    // Easier work: a prefix the signature does not cover.
    const easier = encode({
      ...decoded,
      challenge: { ...decoded.challenge, parameters: { ...challenge.parameters, keyPrefix: "f" } },
    });
    const wrongAnswer = encode({
      ...decoded,
      solution: { ...decoded.solution, counter: decoded.solution.counter + 1 },
    });
    for (const forged of [easier, wrongAnswer, "bm90IGpzb24=", encode({ challenge: null })]) {
      const r = uia(await submit(fx.url, s.session, forged));
      expect(r).toMatchObject({ completed: [], errcode: "M_FORBIDDEN", error: "The CAPTCHA solution is not valid" });
    }
    const missing = uia(await register(fx.url, { auth: { type: STAGE, session: s.session } }));
    expect(missing).toMatchObject({ completed: [], errcode: "M_MISSING_PARAM" });
    // The genuine one still works: forgeries spent nothing.
    expect(uia(await submit(fx.url, s.session, payload)).completed).toEqual([STAGE]);
  });

  it("refuses an expired solution (the server's clock, moved past the challenge's lifetime)", async () => {
    const s = await openSession(fx.url, "slow");
    const { payload } = await solve(fx.url, s.session);
    clock.advance(5 * 60_000 + 1000);
    const r = uia(await submit(fx.url, s.session, payload));
    expect(r).toMatchObject({
      completed: [],
      errcode: "M_FORBIDDEN",
      error: "The CAPTCHA has expired; solve a new one",
    });
  });

  it("purges redeemed challenges once expired, never before", async () => {
    const accounts = fx.server.server.accounts;
    // Whatever earlier tests redeemed and the clock has since moved past.
    await purgeUsedChallenges(accounts);
    const s = await openSession(fx.url, "purged");
    const { payload } = await solve(fx.url, s.session);
    expect(uia(await submit(fx.url, s.session, payload)).completed).toEqual([STAGE]);
    expect(await purgeUsedChallenges(accounts)).toBe(0);
    clock.advance(5 * 60_000 + 1000);
    expect(await purgeUsedChallenges(accounts)).toBe(1);
    const left = await fx.look.kysely.selectFrom("captcha_used_challenges").selectAll().execute();
    expect(left).toEqual([]);
  });

  it("the fallback page: GET shows the widget; POST completes the stage for that session only", async () => {
    const s = await openSession(fx.url, "fallback");
    const page = await call(fx.url, "GET", `${FALLBACK}?session=${s.session}`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(page.headers.get("content-security-policy")).toContain("script-src 'self'");
    // The opener must keep its handle on the popup to hear authDone.
    expect(page.headers.get("cross-origin-opener-policy")).toBeNull();
    expect(page.text).toContain(
      `<altcha-widget name="altcha" challenge="/_gatehouse/altcha/challenge?session=${s.session}">`,
    );
    expect(page.text).toContain('src="/_gatehouse/altcha/altcha.js"');

    const other = await openSession(fx.url, "fallback2");
    const { payload } = await solve(fx.url, s.session);
    const form = (session: string) => new URLSearchParams({ session, altcha: payload }).toString();
    const headers = { "content-type": "application/x-www-form-urlencoded" };
    const wrong = await call(fx.url, "POST", FALLBACK, { body: form(other.session), headers });
    expect(wrong.status).toBe(403);
    expect(wrong.text).toContain("This CAPTCHA was solved for another session");

    const ok = await call(fx.url, "POST", FALLBACK, { body: form(s.session), headers });
    expect(ok.status, ok.text).toBe(200);
    expect(ok.text).toContain('src="/_gatehouse/altcha/done.js"');
    // As Element does after authDone: the session alone, then the rest of the flow.
    expect(uia(await register(fx.url, { auth: { session: s.session } })).completed).toEqual([STAGE]);
    expect(uia(await register(fx.url, { auth: { session: other.session } })).completed).toEqual([]);
    const done = await register(fx.url, { auth: { type: DUMMY, session: s.session } });
    expect(done.status, done.text).toBe(200);
    expect(done.body.user_id).toBe("@fallback:localhost");

    const replay = await call(fx.url, "POST", FALLBACK, { body: form(s.session), headers });
    expect(replay.status).toBe(403);
    expect(replay.text).toContain("This CAPTCHA has already been used");
  });

  it("serves the widget from Gatehouse itself, typed and cacheable", async () => {
    const js = await call(fx.url, "GET", "/_gatehouse/altcha/altcha.js");
    expect(js.status).toBe(200);
    expect(js.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect(js.headers.get("cache-control")).toBe("public, max-age=86400");
    expect(js.text).toContain("altcha-widget");
    const etag = js.headers.get("etag")!;
    const again = await call(fx.url, "GET", "/_gatehouse/altcha/altcha.js", { headers: { "if-none-match": etag } });
    expect(again.status).toBe(304);
    const worker = await call(fx.url, "GET", "/_gatehouse/altcha/workers/pbkdf2.js");
    expect(worker.status).toBe(200);
    expect(worker.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    const css = await call(fx.url, "GET", "/_gatehouse/altcha/altcha.css");
    expect(css.headers.get("content-type")).toBe("text/css; charset=utf-8");
    expect((await call(fx.url, "GET", "/_gatehouse/altcha/../package.json")).status).toBe(404);
  });

  it("the challenge endpoint: a session is required and must exist", async () => {
    const missing = await call(fx.url, "GET", "/_gatehouse/altcha/challenge");
    expect(missing.status).toBe(400);
    expect(missing.body.errcode).toBe("M_MISSING_PARAM");
    const unknown = await call(fx.url, "GET", "/_gatehouse/altcha/challenge?session=nope");
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get("cache-control")).toBeNull();
  });
});

describe("limits and configuration", () => {
  let fx: Fixture;
  beforeAll(async () => {
    fx = await startFixture("sqlite", {
      ...CAPTCHA,
      altcha: { ...(CAPTCHA.altcha as object), rc_challenge: { per_second: 0.001, burst_count: 2 } },
    });
  });
  afterAll(() => closeFixture(fx));

  it("rate-limits the challenge endpoint per address", async () => {
    const s = await openSession(fx.url, "limited");
    const path = `/_gatehouse/altcha/challenge?session=${s.session}`;
    expect((await call(fx.url, "GET", path)).status).toBe(200);
    expect((await call(fx.url, "GET", path)).status).toBe(200);
    const third = await call(fx.url, "GET", path);
    expect(third.status).toBe(429);
    expect(third.body.errcode).toBe("M_LIMIT_EXCEEDED");
  });

  it("the start-up guard accepts a CAPTCHA as verification, and still refuses open registration without any", () => {
    const db = fx.db;
    expect(configFrom(rawConfigFor(db, CAPTCHA)).altcha.enabled).toBe(true);
    expect(() => configFrom(rawConfigFor(db, { enable_registration: true }))).toThrow(ConfigError);
    expect(() => configFrom(rawConfigFor(db, { enable_registration: true }))).toThrow(/altcha\.enabled/);
  });

  it("token_flow: false offers the CAPTCHA flow alone; a token requirement comes before the CAPTCHA", () => {
    const flowsOf = (raw: Record<string, unknown>) => registrationFlows(configFrom(rawConfigFor(fx.db, raw)));
    expect(flowsOf({ ...CAPTCHA, altcha: { enabled: true, token_flow: false } })).toEqual([[STAGE, DUMMY]]);
    expect(flowsOf({ ...CAPTCHA, registration_requires_token: true })).toEqual([
      [TOKEN_STAGE, STAGE, DUMMY],
      [TOKEN_STAGE, DUMMY],
    ]);
    expect(() => flowsOf({ ...CAPTCHA, altcha: { enabled: true, algorithm: "SHA-256" } })).toThrow(
      /altcha\.algorithm: must be one of PBKDF2\/SHA-256/,
    );
  });
});
