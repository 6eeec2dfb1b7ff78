/**
 * Every sign-up stage together (issue 15): one server with the self-hosted CAPTCHA, `registrations_require_3pid:
 * [email]` mailing through a local SMTP sink, and terms required at registration. matrix-js-sdk's InteractiveAuth
 * walks one flow in the server's order: the CAPTCHA solved as a browser solves it, the terms accepted, the mailed
 * link followed; the account then has its address and the accepted version. Both databases.
 */
import { InteractiveAuth, type AuthDict } from "matrix-js-sdk";
import { afterAll, beforeAll, expect, it } from "vitest";
import { ALTCHA_STAGE, CHEAP_ALTCHA, solveAltcha } from "../helpers/altcha.js";
import { forEachDatabase } from "../helpers/databases.js";
import { call } from "../helpers/http.js";
import { linkIn, startSmtpSink, type SmtpSink } from "../helpers/smtp-sink.js";
import { termsConfig } from "../helpers/terms.js";
import { anonymous, PASSWORD } from "../clients/sdk-support.js";
import { closeFixture, register, startFixture, type Fixture, type UiaBody } from "./client-support.js";

const BASE = "https://matrix.example.org/";
const TERMS = "m.login.terms";
const EMAIL = "m.login.email.identity";
const TOKEN = "m.login.registration_token";
let sink: SmtpSink;

beforeAll(async () => {
  sink = await startSmtpSink();
});
afterAll(() => sink.close());

function everyStage(): Record<string, unknown> {
  return {
    public_baseurl: BASE,
    enable_registration: true,
    registrations_require_3pid: ["email"],
    rc_3pid_validation: { per_second: 1000, burst_count: 1000 },
    email: { smtp_host: "127.0.0.1", smtp_port: sink.port, enable_tls: false, notif_from: "noreply@example.org" },
    altcha: CHEAP_ALTCHA,
    ...termsConfig(),
  };
}

forEachDatabase((kind) => {
  let fx: Fixture;
  beforeAll(async () => {
    fx = await startFixture(kind, everyStage());
  });
  afterAll(() => closeFixture(fx));

  it("offers the CAPTCHA, terms and e-mail in one flow, and a token flow without the CAPTCHA", async () => {
    const r = await register(fx.url, { username: "flows", password: PASSWORD });
    expect(r.status, r.text).toBe(401);
    expect((r.body as unknown as UiaBody).flows).toEqual([
      { stages: [ALTCHA_STAGE, TERMS, EMAIL] },
      { stages: [TOKEN, TERMS, EMAIL] },
    ]);
  });

  it("registers through matrix-js-sdk passing the CAPTCHA, the terms and the e-mail stage of one flow", async () => {
    const address = "everything@example.org";
    const client = anonymous(fx.url);
    const clientSecret = client.generateClientSecret();
    const seen: string[] = [];
    let mailedAfter = sink.mails.length;
    let sid: Promise<string> | undefined;

    /** Each stage as a person at a client does it; any failure fails the sign-up, and so the test. */
    async function answer(stage: string): Promise<AuthDict> {
      if (stage === ALTCHA_STAGE) {
        const { payload } = await solveAltcha(fx.url, ia.getSessionId()!);
        return { type: ALTCHA_STAGE, session: ia.getSessionId(), payload };
      }
      if (stage === TERMS) return { type: TERMS };
      if (stage === EMAIL) {
        const creds = { sid: await sid!, client_secret: clientSecret };
        // Element polls with the creds before the link is opened: refused, and the stages done so far are kept.
        const early = await register(fx.url, {
          auth: { type: EMAIL, session: ia.getSessionId(), threepid_creds: creds },
        });
        expect(early.status, early.text).toBe(401);
        expect(early.body.errcode).toBe("M_UNAUTHORIZED");
        expect([...(early.body.completed as string[])].sort()).toEqual([TERMS, ALTCHA_STAGE].sort());
        const mail = await sink.next(address, mailedAfter);
        const opened = await fetch(linkIn(mail, BASE).replace(BASE, `${fx.url}/`), { redirect: "manual" });
        expect(opened.status).toBe(200);
        return { type: EMAIL, threepid_creds: creds };
      }
      throw new Error(`unexpected stage ${stage}`);
    }

    // A refused stage or a failed answer ends the sign-up at once rather than leaving attemptAuth waiting.
    let fail: (e: unknown) => void = () => undefined;
    const failed = new Promise<never>((_, reject) => (fail = reject));
    const ia: InteractiveAuth<{ user_id: string; access_token?: string }> = new InteractiveAuth({
      matrixClient: client,
      clientSecret,
      inputs: { emailAddress: address },
      supportedStages: [ALTCHA_STAGE, TERMS, EMAIL],
      doRequest: (auth) =>
        client.registerRequest({ username: "everything", password: PASSWORD, auth: auth ?? undefined }),
      stateUpdated: (stage, status) => {
        if ("errcode" in status && status.errcode) {
          fail(new Error(`${stage}: ${status.errcode} ${status.error}`));
          return;
        }
        seen.push(stage);
        answer(stage).then((dict) => ia.submitAuthDict(dict), fail);
      },
      requestEmailToken: (email, secret, attempt) => {
        mailedAfter = sink.mails.length;
        const request = client.requestRegisterEmailToken(email, secret, attempt);
        sid = request.then((r) => r.sid);
        return request;
      },
    });
    const done = await Promise.race([ia.attemptAuth(), failed]);
    // One flow, in the order the server offers it.
    expect(seen).toEqual([ALTCHA_STAGE, TERMS, EMAIL]);
    expect(done.user_id).toBe("@everything:localhost");

    const threepids = await call(fx.url, "GET", "/_matrix/client/v3/account/3pid", { token: done.access_token });
    expect(threepids.status, threepids.text).toBe(200);
    expect(threepids.body.threepids).toEqual([
      expect.objectContaining({ medium: "email", address, validated_at: expect.any(Number) }),
    ]);
    const row = await fx.look.kysely
      .selectFrom("users")
      .select(["consent_version", "consent_ts"])
      .where("name", "=", done.user_id)
      .executeTakeFirstOrThrow();
    expect(row.consent_version).toBe("1.0");
    expect(Number(row.consent_ts)).toBeGreaterThan(0);
  });
});
