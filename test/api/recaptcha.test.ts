/**
 * `m.login.recaptcha` with Synapse's keys against a siteverify endpoint this test runs on loopback (the real ones
 * are unreachable here): a good token, a refused one, a verifier that fails; the fallback page for it.
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call } from "../helpers/http.js";
import { closeFixture, register, startFixture, type Fixture, type UiaBody } from "./client-support.js";

const STAGE = "m.login.recaptcha";
const DUMMY = "m.login.dummy";
const FALLBACK = `/_matrix/client/v3/auth/${STAGE}/fallback/web`;

type Mode = "up" | "error" | "drop";
let mode: Mode = "up";
const received: Record<string, string>[] = [];
let verifier: Server;
let fx: Fixture;

async function readForm(req: IncomingMessage): Promise<Record<string, string>> {
  let text = "";
  for await (const chunk of req) text += (chunk as Buffer).toString();
  return Object.fromEntries(new URLSearchParams(text));
}

beforeAll(async () => {
  verifier = createServer((req, res) => {
    if (mode === "drop") return void req.socket.destroy();
    void readForm(req).then((form) => {
      received.push({ ...form, contentType: req.headers["content-type"] ?? "" });
      if (mode === "error") return void res.writeHead(502).end("bad gateway");
      const success = form.secret === "the secret" && form.response === "good token";
      res.writeHead(200, { "content-type": "application/json" });
      res.end(
        JSON.stringify(success ? { success: true } : { success: false, "error-codes": ["invalid-input-response"] }),
      );
    });
  });
  await new Promise<void>((resolve) => verifier.listen(0, "127.0.0.1", resolve));
  const port = (verifier.address() as AddressInfo).port;
  fx = await startFixture("sqlite", {
    enable_registration: true,
    enable_registration_captcha: true,
    recaptcha_public_key: "the site key",
    recaptcha_private_key: "the secret",
    recaptcha_siteverify_api: `http://127.0.0.1:${port}/siteverify`,
    recaptcha_timeout: "5s",
  });
});

afterAll(async () => {
  await closeFixture(fx);
  await new Promise((resolve) => verifier.close(resolve));
});

function uia(r: { status: number; body: unknown; text: string }): UiaBody {
  expect(r.status, r.text).toBe(401);
  return r.body as UiaBody;
}

async function openSession(username: string): Promise<UiaBody> {
  return uia(await register(fx.url, { username, password: "a good password" }));
}

describe("m.login.recaptcha", () => {
  it("is in the flows with the public key; a good token completes it and the account is made", async () => {
    mode = "up";
    const s = await openSession("human");
    expect(s.flows).toEqual([{ stages: [STAGE, DUMMY] }]);
    expect(s.params).toEqual({ [STAGE]: { public_key: "the site key" } });
    const after = uia(await register(fx.url, { auth: { type: STAGE, session: s.session, response: "good token" } }));
    expect(after.completed).toEqual([STAGE]);
    expect(received.at(-1)).toEqual({
      secret: "the secret",
      response: "good token",
      remoteip: "127.0.0.1",
      contentType: "application/x-www-form-urlencoded",
    });
    const done = await register(fx.url, { auth: { type: DUMMY, session: s.session } });
    expect(done.status, done.text).toBe(200);
  });

  it("a token the verifier refuses leaves the stage incomplete: 401 M_UNAUTHORIZED", async () => {
    mode = "up";
    const s = await openSession("robot");
    const r = uia(await register(fx.url, { auth: { type: STAGE, session: s.session, response: "bad token" } }));
    expect(r).toMatchObject({ completed: [], errcode: "M_UNAUTHORIZED", error: "Captcha response was invalid" });
    const none = uia(await register(fx.url, { auth: { type: STAGE, session: s.session } }));
    expect(none).toMatchObject({ completed: [], errcode: "M_UNAUTHORIZED", error: "Captcha response is required" });
  });

  it("a verifier that errs or drops the connection is a clear refusal, and the session survives it", async () => {
    const s = await openSession("unlucky");
    for (const m of ["error", "drop"] as const) {
      mode = m;
      const r = uia(await register(fx.url, { auth: { type: STAGE, session: s.session, response: "good token" } }));
      expect(r).toMatchObject({
        completed: [],
        errcode: "M_UNKNOWN",
        error: "The CAPTCHA could not be checked: the verification service is unavailable",
      });
    }
    mode = "up";
    const ok = uia(await register(fx.url, { auth: { type: STAGE, session: s.session, response: "good token" } }));
    expect(ok.completed).toEqual([STAGE]);
  });

  it("the fallback page shows the provider's widget, allowed by its CSP; its POST completes the stage", async () => {
    mode = "up";
    const s = await openSession("popup");
    const page = await call(fx.url, "GET", `${FALLBACK}?session=${s.session}`);
    expect(page.status).toBe(200);
    expect(page.text).toContain('<div class="g-recaptcha" data-sitekey="the site key"></div>');
    expect(page.text).toContain('src="https://www.recaptcha.net/recaptcha/api.js"');
    expect(page.headers.get("content-security-policy")).toContain("script-src 'self' https://www.recaptcha.net");
    expect(page.headers.get("cross-origin-opener-policy")).toBeNull();

    const headers = { "content-type": "application/x-www-form-urlencoded" };
    const post = (response: string) =>
      call(fx.url, "POST", FALLBACK, {
        body: new URLSearchParams({ session: s.session, "g-recaptcha-response": response }).toString(),
        headers,
      });
    const bad = await post("bad token");
    expect(bad.status).toBe(401);
    expect(bad.text).toContain("Captcha response was invalid");
    const good = await post("good token");
    expect(good.status, good.text).toBe(200);
    expect(good.text).toContain('src="/_gatehouse/altcha/done.js"');
    expect((await call(fx.url, "GET", "/_gatehouse/altcha/done.js")).text).toContain('postMessage("authDone", "*")');
    expect(uia(await register(fx.url, { auth: { session: s.session } })).completed).toEqual([STAGE]);
    // The proof-of-work stage is off here: neither its page nor its challenges exist.
    expect(
      (await call(fx.url, "GET", "/_matrix/client/v3/auth/org.gatehouse.altcha/fallback/web?session=x")).status,
    ).toBe(404);
  });
});
