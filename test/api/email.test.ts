/**
 * E-mail end to end over real HTTP and real SMTP: a local SMTP sink (smtp-server + mailparser) receives the mails the
 * outbox job sends, and the tests follow the links in them. Registration with the e-mail stage through matrix-js-sdk,
 * adding and removing addresses, password reset (a prefetched link resets nothing), single-use and expiring tokens,
 * an SMTP outage, header injection, and invites bound to an address. Both databases.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { createClient, MatrixError, type MatrixClient } from "matrix-js-sdk";
import { logger as sdkLogger } from "matrix-js-sdk/lib/logger.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { smtpMailer } from "../../src/accounts/mailer.js";
import { SEND_EMAIL_JOB } from "../../src/jobs/email.js";
import { createRegistrationToken, invitationSettings } from "../../src/accounts/registration-tokens.js";
import { ConfigError } from "../../src/config/validate.js";
import { forEachDatabase, createTestDatabase, tempDir } from "../helpers/databases.js";
import { specCall } from "../helpers/openapi.js";
import { configFrom, rawConfigFor, testClock, writeConfigFile, type TestClock } from "../helpers/server.js";
import { linkIn, startSmtpSink, type SmtpSink } from "../helpers/smtp-sink.js";
import { closeFixture, login, startFixture, type Fixture, type UiaBody } from "./client-support.js";
import { runGatehouse } from "../cli/in-process.js";
import { cleanEnv } from "../cli/admin-support.js";

(sdkLogger as unknown as { setLevel(level: string, persist?: boolean): void }).setLevel("silent", false);

const BASE = "https://matrix.example.org/";
const EMAIL_STAGE = "m.login.email.identity";
const PASSWORD = "correct horse battery staple";
let sink: SmtpSink;

beforeAll(async () => {
  sink = await startSmtpSink();
});
afterAll(() => sink.close());

function emailConfig(extra: Record<string, unknown> = {}) {
  return {
    public_baseurl: BASE,
    enable_registration: true,
    registrations_require_3pid: ["email"],
    rc_3pid_validation: { per_second: 1000, burst_count: 1000 },
    email: {
      smtp_host: "127.0.0.1",
      smtp_port: sink.port,
      enable_tls: false,
      notif_from: "Your Friendly %(app)s homeserver <noreply@example.org>",
      app_name: "Gatehouse Test",
    },
    ...extra,
  };
}

function anonymous(url: string): MatrixClient {
  return createClient({ baseUrl: url, logger: sdkLogger });
}

async function sdkError(p: Promise<unknown>, status: number): Promise<MatrixError> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(MatrixError);
  expect((e as MatrixError).httpStatus, (e as MatrixError).message).toBe(status);
  return e as MatrixError;
}

/** A Matrix error with this status and errcode (the wording is the server's). */
function expectErr(res: { status: number; body: unknown; text?: string }, status: number, errcode: string): void {
  expect({ status: res.status, errcode: (res.body as { errcode?: string }).errcode }, res.text).toEqual({
    status,
    errcode,
  });
}

/** An auth dict with the stage's own fields, which the SDK's type does not list. */
const auth = (d: Record<string, unknown>) => d as { type: string; session?: string };

let secrets = 0;
const newSecret = () => `secret-${Date.now()}-${secrets++}`;

forEachDatabase((kind) => {
  describe(`e-mail (${kind})`, () => {
    let fx: Fixture;
    let clock: TestClock;
    beforeAll(async () => {
      clock = testClock();
      fx = await startFixture(kind, emailConfig(), { clock });
    });
    afterAll(() => closeFixture(fx));

    /** A mailed link, pointed at the test server instead of `public_baseurl`. */
    const local = (link: string) => link.replace(BASE, `${fx.url}/`);
    const follow = (link: string, init: RequestInit = {}) => fetch(local(link), { redirect: "manual", ...init });

    async function requestToken(path: string, email: string, clientSecret: string, sendAttempt = 1, extra = {}) {
      return specCall(fx.url, "POST", `/_matrix/client/v3${path}/email/requestToken`, {
        json: { email, client_secret: clientSecret, send_attempt: sendAttempt, ...extra },
      });
    }

    /** Asks for a registration link for `email` and follows it; returns the validated session's creds. */
    async function validatedRegistration(email: string) {
      const client_secret = newSecret();
      const before = sink.mails.length;
      const r = await requestToken("/register", email, client_secret);
      expect(r.status, r.text).toBe(200);
      const mail = await sink.next(email.toLowerCase(), before);
      expect((await follow(linkIn(mail, BASE))).status).toBe(200);
      return { sid: r.body.sid as string, client_secret };
    }

    async function signUpWithEmail(username: string, email: string) {
      const creds = await validatedRegistration(email);
      const client = anonymous(fx.url);
      const first = await sdkError(client.registerRequest({ username, password: PASSWORD }), 401);
      const session = (first.data as unknown as UiaBody).session;
      return client.register(username, PASSWORD, session, auth({ type: EMAIL_STAGE, threepid_creds: creds }));
    }

    it("registration through matrix-js-sdk: the mailed link validates, then the e-mail stage binds the address", async () => {
      const client = anonymous(fx.url);
      const challenge = (await sdkError(client.registerRequest({ username: "erin", password: PASSWORD }), 401))
        .data as unknown as UiaBody;
      expect(challenge.flows).toEqual([{ stages: [EMAIL_STAGE] }]);

      const secret = newSecret();
      const before = sink.mails.length;
      const { sid } = await client.requestRegisterEmailToken("Erin@Example.org", secret, 1);
      const mail = await sink.next("erin@example.org", before);
      expect(mail.parsed.subject).toBe("[localhost] Validate your email");
      expect(mail.parsed.from?.value[0]).toEqual({
        name: "Your Friendly Gatehouse Test homeserver",
        address: "noreply@example.org",
      });
      const link = linkIn(mail, `${BASE}_matrix/client/unstable/registration/email/submit_token?`);

      // Not clicked yet: the stage fails and the client is asked again (Element and Cinny poll this way).
      const creds = auth({ type: EMAIL_STAGE, threepid_creds: { sid, client_secret: secret } });
      const pending = await sdkError(client.register("erin", PASSWORD, challenge.session, creds), 401);
      expect((pending.data as unknown as UiaBody).completed).toEqual([]);
      expect(pending.data.errcode).toBe("M_UNAUTHORIZED");

      const page = await follow(link);
      expect(page.status).toBe(200);
      expect(page.headers.get("content-type")).toContain("text/html");
      // The old `threepidCreds` spelling (Cinny) works as well.
      const done = await client.register(
        "erin",
        PASSWORD,
        challenge.session,
        auth({
          type: EMAIL_STAGE,
          threepidCreds: { sid, client_secret: secret },
        }),
      );
      expect(done.user_id).toBe("@erin:localhost");

      const threepids = await specCall(fx.url, "GET", "/_matrix/client/v3/account/3pid", {
        token: done.access_token!,
      });
      expect(threepids.body.threepids).toMatchObject([{ medium: "email", address: "erin@example.org" }]);

      // The link is spent.
      expect((await follow(link)).status).toBe(400);

      // Login by the address, in any case.
      const byEmail = await login(fx.url, {
        type: "m.login.password",
        identifier: { type: "m.id.thirdparty", medium: "email", address: "ERIN@example.org" },
        password: PASSWORD,
      });
      expect(byEmail.status, byEmail.text).toBe(200);
      expect(byEmail.body.user_id).toBe("@erin:localhost");
      const wrong = await login(fx.url, {
        type: "m.login.password",
        identifier: { type: "m.id.thirdparty", medium: "email", address: "erin@example.org" },
        password: "wrong",
      });
      expectErr(wrong, 403, "M_FORBIDDEN");
    });

    it("send_attempt: a retry sends nothing, a higher attempt mails a new link; both links are the same session", async () => {
      const secret = newSecret();
      const before = sink.mails.length;
      const a = await requestToken("/register", "retry@example.org", secret, 1);
      await sink.next("retry@example.org", before);
      const b = await requestToken("/register", "retry@example.org", secret, 1);
      expect(b.body.sid).toBe(a.body.sid);
      const c = await requestToken("/register", "retry@example.org", secret, 2);
      expect(c.body.sid).toBe(a.body.sid);
      await sink.next("retry@example.org", sink.mails.indexOf(await sink.next("retry@example.org", before)) + 1);
      expect(sink.mails.slice(before).filter((m) => m.rcptTo.includes("retry@example.org"))).toHaveLength(2);
    });

    it("an address in use: M_THREEPID_IN_USE for registration and for adding; unknown for reset: M_THREEPID_NOT_FOUND", async () => {
      await signUpWithEmail("frank", "frank@example.org");
      expectErr(await requestToken("/register", "Frank@example.org", newSecret()), 400, "M_THREEPID_IN_USE");
      expectErr(await requestToken("/account/3pid", "frank@example.org", newSecret()), 400, "M_THREEPID_IN_USE");
      expectErr(
        await requestToken("/account/password", "nobody@example.org", newSecret()),
        400,
        "M_THREEPID_NOT_FOUND",
      );
      expectErr(
        await specCall(fx.url, "POST", "/_matrix/client/v3/register/msisdn/requestToken", {
          json: { client_secret: "x", country: "GB", phone_number: "1", send_attempt: 1 },
        }),
        400,
        "M_THREEPID_MEDIUM_NOT_SUPPORTED",
      );
    });

    it("a late link is refused, and so is its session at the stage", async () => {
      const secret = newSecret();
      const before = sink.mails.length;
      const r = await requestToken("/register", "late@example.org", secret);
      const mail = await sink.next("late@example.org", before);
      clock.advance(60 * 60_000 + 1000);
      expect((await follow(linkIn(mail, BASE))).status).toBe(400);
      const client = anonymous(fx.url);
      const s = (await sdkError(client.registerRequest({ username: "late", password: PASSWORD }), 401))
        .data as unknown as UiaBody;
      await sdkError(
        client.register(
          "late",
          PASSWORD,
          s.session,
          auth({
            type: EMAIL_STAGE,
            threepid_creds: { sid: r.body.sid, client_secret: secret },
          }),
        ),
        401,
      );
    });

    it("a link with another session's secret or sid validates nothing", async () => {
      const secret = newSecret();
      const before = sink.mails.length;
      await requestToken("/register", "forged@example.org", secret);
      const link = new URL(linkIn(await sink.next("forged@example.org", before), BASE));
      link.searchParams.set("client_secret", "other-secret");
      expect((await follow(link.href)).status).toBe(400);
      link.searchParams.set("client_secret", secret);
      link.searchParams.set("sid", "othersid");
      expect((await follow(link.href)).status).toBe(400);
    });

    it("password reset end to end: opening the link (a prefetcher) resets nothing; the confirmation does, once", async () => {
      const erin = await signUpWithEmail("grace", "grace@example.org");
      const secret = newSecret();
      const before = sink.mails.length;
      const { sid } = await anonymous(fx.url).requestPasswordEmailToken("grace@example.org", secret, 1);
      const mail = await sink.next("grace@example.org", before);
      expect(mail.parsed.subject).toBe("[localhost] Password reset");
      const link = linkIn(mail, `${BASE}_synapse/client/password_reset/email/submit_token?`);

      const page = await follow(link);
      expect(page.status).toBe(200);
      const html = await page.text();
      expect(html).toContain('method="post"');

      const reset = (auth?: Record<string, unknown>) =>
        specCall(fx.url, "POST", "/_matrix/client/v3/account/password", {
          json: { new_password: "a new password", logout_devices: true, ...(auth ? { auth } : {}) },
        });
      const first = await reset();
      expect(first.status, first.text).toBe(401);
      const session = (first.body as unknown as UiaBody).session;
      const creds = { sid, client_secret: secret };
      // The GET did not validate the session.
      expect((await reset({ type: EMAIL_STAGE, threepid_creds: creds, session })).status).toBe(401);

      const u = new URL(local(link));
      const confirmed = await fetch(`${fx.url}${u.pathname}`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: u.searchParams.toString(),
        redirect: "manual",
      });
      expect(confirmed.status).toBe(200);
      const ok = await reset({ type: EMAIL_STAGE, threepid_creds: creds, session });
      expect(ok.status, ok.text).toBe(200);

      // logout_devices: the old session is gone; the new password works, the old one does not.
      expect(
        (await specCall(fx.url, "GET", "/_matrix/client/v3/account/whoami", { token: erin.access_token! })).status,
      ).toBe(401);
      expect(
        (
          await login(fx.url, {
            type: "m.login.password",
            identifier: { type: "m.id.user", user: "grace" },
            password: "a new password",
          })
        ).status,
      ).toBe(200);
      expectErr(
        await login(fx.url, {
          type: "m.login.password",
          identifier: { type: "m.id.user", user: "grace" },
          password: PASSWORD,
        }),
        403,
        "M_FORBIDDEN",
      );
      // The validated session was used up: it cannot reset the password again.
      const again = await reset();
      const replay = await reset({
        type: EMAIL_STAGE,
        threepid_creds: creds,
        session: (again.body as unknown as UiaBody).session,
      });
      expect(replay.status).toBe(401);
    });

    it("adding and deleting an address: validated link, then the password stage; then delete", async () => {
      const user = await signUpWithEmail("heidi", "heidi@example.org");
      const client = createClient({
        baseUrl: fx.url,
        userId: user.user_id,
        accessToken: user.access_token,
        deviceId: user.device_id,
        logger: sdkLogger,
      });
      const secret = newSecret();
      const before = sink.mails.length;
      const { sid } = await client.requestAdd3pidEmailToken("heidi.work@example.org", secret, 1);
      const mail = await sink.next("heidi.work@example.org", before);
      const link = linkIn(mail, `${BASE}_matrix/client/unstable/add_threepid/email/submit_token?`);

      // Before the link: UIA passes, the session is not validated.
      const early = await sdkError(
        client.addThreePidOnly({
          sid,
          client_secret: secret,
          auth: auth({
            type: "m.login.password",
            identifier: { type: "m.id.user", user: "heidi" },
            password: PASSWORD,
          }),
        }),
        400,
      );
      expect(early.errcode).toBe("M_THREEPID_AUTH_FAILED");

      expect((await follow(link)).status).toBe(200);
      const challenge = await sdkError(client.addThreePidOnly({ sid, client_secret: secret }), 401);
      await client.addThreePidOnly({
        sid,
        client_secret: secret,
        auth: auth({
          type: "m.login.password",
          identifier: { type: "m.id.user", user: "heidi" },
          password: PASSWORD,
          session: (challenge.data as unknown as UiaBody).session,
        }),
      });
      const listed = (await client.getThreePids()).threepids.map((t) => t.address).sort();
      expect(listed).toEqual(["heidi.work@example.org", "heidi@example.org"]);

      expect(await client.deleteThreePid("email", "Heidi.Work@example.org")).toEqual({
        id_server_unbind_result: "no-support",
      });
      expect((await client.getThreePids()).threepids.map((t) => t.address)).toEqual(["heidi@example.org"]);
      const gone = await sdkError(client.deleteThreePid("email", "heidi.work@example.org"), 400);
      expect(gone.errcode).toBe("M_THREEPID_NOT_FOUND");
    });

    it("SMTP down: the request answers at once, the job retries, and the mail arrives once SMTP is back", async () => {
      await sink.stop();
      try {
        const secret = newSecret();
        const started = Date.now();
        const r = await requestToken("/register", "outage@example.org", secret);
        expect(r.status, r.text).toBe(200);
        expect(Date.now() - started).toBeLessThan(10_000);
        const outbox = fx.server.server.accounts.stores.emailOutbox;
        // The job's first attempt fails and leaves the mail queued, counted.
        for (const deadline = Date.now() + 15_000; ;) {
          const [row] = await outbox.due(Number.MAX_SAFE_INTEGER, 10);
          if (row && row.attempts >= 1) break;
          if (Date.now() > deadline) {
            const jobs = await fx.look.kysely.selectFrom("scheduled_jobs").selectAll().execute();
            throw new Error(`the send was never attempted: ${JSON.stringify({ row, jobs, now: clock.now() })}`);
          }
          await new Promise((res) => setTimeout(res, 50));
        }
        // No account can be made on the unvalidated address meanwhile.
        const client = anonymous(fx.url);
        const s = (await sdkError(client.registerRequest({ username: "outage", password: PASSWORD }), 401))
          .data as unknown as UiaBody;
        await sdkError(
          client.register(
            "outage",
            PASSWORD,
            s.session,
            auth({
              type: EMAIL_STAGE,
              threepid_creds: { sid: r.body.sid, client_secret: secret },
            }),
          ),
          401,
        );
        const before = sink.mails.length;
        await sink.start();
        clock.advance(2 * 60_000);
        await fx.server.server.jobs!.runDue();
        const mail = await sink.next("outage@example.org", before);
        expect((await follow(linkIn(mail, BASE))).status).toBe(200);
        expect(await outbox.count()).toBe(0);
      } finally {
        await sink.start();
      }
    });

    it("header injection: an address with a line break is refused before anything is queued", async () => {
      const outbox = fx.server.server.accounts.stores.emailOutbox;
      const before = await outbox.count();
      for (const email of [
        "victim@example.org\r\nBcc: evil@example.org",
        "victim@example.org\nBcc: evil@example.org",
        "Victim <victim@example.org>, evil@example.org",
      ]) {
        expectErr(await requestToken("/register", email, newSecret()), 400, "M_INVALID_PARAM");
      }
      expect(await outbox.count()).toBe(before);
    });
  });
});

describe("an invite bound to an address (sqlite)", () => {
  let fx: Fixture;
  beforeAll(async () => {
    fx = await startFixture("sqlite", {
      ...emailConfig(),
      registrations_require_3pid: [],
      registration_requires_token: true,
    });
  });
  afterAll(() => closeFixture(fx));

  async function validated(email: string) {
    const client_secret = newSecret();
    const before = sink.mails.length;
    const r = await specCall(fx.url, "POST", "/_matrix/client/v3/register/email/requestToken", {
      json: { email, client_secret, send_attempt: 1 },
    });
    expect(r.status, r.text).toBe(200);
    const link = linkIn(await sink.next(email, before), BASE).replace(BASE, `${fx.url}/`);
    expect((await fetch(link)).status).toBe(200);
    return { sid: r.body.sid as string, client_secret };
  }

  it("mails the sign-up link; the registration must prove that address, not another, and not skip it", async () => {
    const { accounts, config } = fx.server.server;
    const before = sink.mails.length;
    const created = await createRegistrationToken(
      accounts,
      { userId: "@root:localhost", deviceId: null, tokenHash: "x", ip: "127.0.0.1", impersonator: null },
      {
        token: "invite-ivan",
        length: 16,
        usesAllowed: null,
        expiryTime: null,
        boundUsername: null,
        boundEmail: "ivan@example.org",
      },
      { email: config.email!, publicBaseurl: config.public_baseurl! },
    );
    expect(created.bound_email).toBe("ivan@example.org");
    const invitation = await sink.next("ivan@example.org", before);
    expect(linkIn(invitation, BASE)).toBe(`${BASE}_gatehouse/register/?token=invite-ivan`);

    const start = async () => {
      const client = anonymous(fx.url);
      const c = (await sdkError(client.registerRequest({ username: "ivan", password: PASSWORD }), 401))
        .data as unknown as UiaBody;
      expect(c.flows).toEqual([
        { stages: ["m.login.registration_token", "m.login.dummy"] },
        { stages: ["m.login.registration_token", EMAIL_STAGE] },
      ]);
      await sdkError(
        client.register(
          "ivan",
          PASSWORD,
          c.session,
          auth({ type: "m.login.registration_token", token: "invite-ivan" }),
        ),
        401,
      );
      return { client, session: c.session };
    };

    // The dummy stage is refused for this invite: the client hears it must use the e-mail flow.
    const a = await start();
    const dummy = await sdkError(a.client.register("ivan", PASSWORD, a.session, { type: "m.login.dummy" }), 401);
    expect(dummy.data.errcode).toBe("M_FORBIDDEN");

    // Another address, validated, is refused at the end; nothing is made.
    const b = await start();
    const mallory = await validated("mallory@example.org");
    const denied = await sdkError(
      b.client.register("ivan", PASSWORD, b.session, auth({ type: EMAIL_STAGE, threepid_creds: mallory })),
      403,
    );
    expect(denied.errcode).toBe("M_THREEPID_DENIED");
    expect(await accounts.stores.users.get("@ivan:localhost")).toBeNull();

    const c = await start();
    const ivan = await validated("ivan@example.org");
    const done = await c.client.register(
      "ivan",
      PASSWORD,
      c.session,
      auth({ type: EMAIL_STAGE, threepid_creds: ivan }),
    );
    expect(done.user_id).toBe("@ivan:localhost");
    expect((await accounts.stores.threepids.listForUser("@ivan:localhost")).map((t) => t.address)).toEqual([
      "ivan@example.org",
    ]);
  });

  it("is queued by `gatehouse token new --for-email` in database mode, and the running server mails it", async () => {
    const raw = rawConfigFor(fx.db, {
      ...emailConfig(),
      registrations_require_3pid: [],
      registration_requires_token: true,
    });
    const before = sink.mails.length;
    const r = await runGatehouse(
      ["token", "new", "invite-jo", "--for-email", "Jo@Example.org", "--json", "-c", writeConfigFile(raw)],
      { env: cleanEnv() },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe("");
    expect(JSON.parse(r.stdout)).toMatchObject({ token: "invite-jo", bound_email: "jo@example.org" });
    // The CLI cannot wake another process's job: its next run (every half minute) is what sends the mail.
    await fx.server.server.jobs!.wake(SEND_EMAIL_JOB);
    const invitation = await sink.next("jo@example.org", before);
    expect(invitation.parsed.subject).toBe("[localhost] You are invited to join Gatehouse Test");
    expect(linkIn(invitation, BASE)).toBe(`${BASE}_gatehouse/register/?token=invite-jo`);

    // With only --database-url there is no email configuration to write the mail with: one line says so.
    const url = `sqlite://${fx.db.config.args.database}`;
    const bare = await runGatehouse(
      ["token", "new", "invite-kim", "--for-email", "kim@example.org", "--database-url", url],
      {
        env: cleanEnv(),
      },
    );
    expect(bare.code, bare.stderr).toBe(0);
    expect(bare.stderr).toBe(
      "warning: no invitation mailed to kim@example.org: give -c with the server's configuration (its email settings) to mail one\n",
    );
    expect(await fx.server.server.accounts.stores.emailOutbox.due(Date.now() + 1, 10)).toEqual([]);
  });
});

describe("email.template_dir (sqlite)", () => {
  let fx: Fixture;
  beforeAll(async () => {
    const dir = tempDir();
    // Synapse's file names and variables; no invitation template, so that mail keeps Gatehouse's texts.
    writeFileSync(join(dir, "registration.html"), `<p>Hi from {{ app_name }}</p>\n<a href="{{ link }}">confirm</a>\n`);
    writeFileSync(join(dir, "registration.txt"), "{# plain part #}Confirm on {{ server_name }}:\n\n{{ link }}\n");
    writeFileSync(join(dir, "registration_invite.txt"), "Welcome to {{ app_name }}: {{ link }}\n");
    fx = await startFixture("sqlite", {
      ...emailConfig(),
      email: { ...emailConfig().email, app_name: "Tom & Jerry", template_dir: dir },
    });
  });
  afterAll(() => closeFixture(fx));

  it("sends the operator's templates where there are files, HTML-escaped in .html, and Gatehouse's texts elsewhere", async () => {
    const before = sink.mails.length;
    const r = await specCall(fx.url, "POST", "/_matrix/client/v3/register/email/requestToken", {
      json: { email: "tess@example.org", client_secret: newSecret(), send_attempt: 1 },
    });
    expect(r.status, r.text).toBe(200);
    const mail = await sink.next("tess@example.org", before);
    const link = linkIn(mail, `${BASE}_matrix/client/unstable/registration/email/submit_token?`);
    expect(mail.parsed.text).toBe(`Confirm on localhost:\n\n${link}`);
    expect(mail.parsed.html).toBe(
      `<p>Hi from Tom &#38; Jerry</p>\n<a href="${link.replaceAll("&", "&#38;")}">confirm</a>`,
    );
    expect(link).toContain("&");

    const { accounts, config } = fx.server.server;
    const invited = sink.mails.length;
    await createRegistrationToken(
      accounts,
      { userId: "@root:localhost", deviceId: null, tokenHash: "x", ip: "127.0.0.1", impersonator: null },
      {
        token: "tpl",
        length: 16,
        usesAllowed: null,
        expiryTime: null,
        boundUsername: null,
        boundEmail: "uma@example.org",
      },
      invitationSettings(config),
    );
    const invitation = await sink.next("uma@example.org", invited);
    expect(invitation.parsed.text).toBe(`Welcome to Tom & Jerry: ${BASE}_gatehouse/register/?token=tpl`);
    expect(invitation.parsed.html).toContain("You are invited to create an account on localhost (Tom &#38; Jerry).");
  });
});

describe("request_token_inhibit_3pid_errors and rc_3pid_validation (sqlite)", () => {
  let fx: Fixture;
  beforeAll(async () => {
    fx = await startFixture("sqlite", {
      ...emailConfig(),
      request_token_inhibit_3pid_errors: true,
      rc_3pid_validation: { per_second: 0.001, burst_count: 3 },
    });
  });
  afterAll(() => closeFixture(fx));

  it("an unknown address for reset answers a sid as if mailed, and nothing is queued; the fourth request is 429", async () => {
    const outbox = fx.server.server.accounts.stores.emailOutbox;
    const ask = (email: string) =>
      specCall(fx.url, "POST", "/_matrix/client/v3/account/password/email/requestToken", {
        json: { email, client_secret: newSecret(), send_attempt: 1 },
      });
    const r = await ask("nobody@example.org");
    expect(r.status, r.text).toBe(200);
    expect(typeof r.body.sid).toBe("string");
    expect(await outbox.count()).toBe(0);
    expect((await ask("nobody2@example.org")).status).toBe(200);
    expect((await ask("nobody3@example.org")).status).toBe(200);
    expectErr(await ask("nobody4@example.org"), 429, "M_LIMIT_EXCEEDED");
  });
});

describe("e-mail configuration", () => {
  it("notif_from and public_baseurl are required; line breaks in headers are refused; require_3pid needs email", async () => {
    const db = await createTestDatabase("sqlite", { empty: true });
    const load = (extra: Record<string, unknown>) => () => configFrom(rawConfigFor(db, extra));
    const email = { smtp_host: "127.0.0.1", notif_from: "Gatehouse <noreply@example.org>" };
    expect(load({ public_baseurl: BASE, email: { smtp_host: "x" } })).toThrow(/email\.notif_from: is required/);
    expect(load({ email })).toThrow(/public_baseurl: is required when email is configured/);
    expect(load({ public_baseurl: BASE, email: { ...email, app_name: "Evil\r\nBcc: x@example.org" } })).toThrow(
      ConfigError,
    );
    expect(
      load({ public_baseurl: BASE, email: { ...email, subjects: { password_reset: "Reset\nBcc: x@example.org" } } }),
    ).toThrow(/must not contain line breaks/);
    expect(load({ registrations_require_3pid: ["email"] })).toThrow(/email needs the email section/);
    expect(load({ enable_registration: true })).toThrow(/open registration/);
    const ok = configFrom(
      rawConfigFor(db, {
        public_baseurl: BASE,
        email,
        enable_registration: true,
        registrations_require_3pid: ["email"],
      }),
    );
    expect(ok.email?.smtp_port).toBe(25);
    expect(ok.email?.validation_token_lifetime).toBe(3_600_000);
  });

  it("the mailer never lets a display name or a subject start a header", async () => {
    const config = configFrom(
      rawConfigFor(await createTestDatabase("sqlite", { empty: true }), {
        public_baseurl: BASE,
        email: { smtp_host: "127.0.0.1", smtp_port: sink.port, enable_tls: false, notif_from: "noreply@example.org" },
      }),
    );
    const mailer = smtpMailer({
      ...config.email!,
      notif_from: { name: "Evil\r\nBcc: evil1@example.org", address: "noreply@example.org" },
    });
    const before = sink.mails.length;
    await mailer.send({
      to: "target@example.org",
      subject: "Hello\r\nBcc: evil2@example.org\r\n\r\nforged body",
      text: "body",
      html: null,
    });
    mailer.close();
    const mail = await sink.next("target@example.org", before);
    expect(mail.rcptTo).toEqual(["target@example.org"]);
    expect(mail.rawHeaders).not.toMatch(/^bcc:/im);
    expect(mail.parsed.text?.trim()).toBe("body");
    expect(mail.parsed.subject).not.toMatch(/[\r\n]/);
    await expect(
      mailer.send({ to: "target@example.org\r\nBcc: evil@example.org", subject: "x", text: "x", html: null }),
    ).rejects.toThrow(/not an e-mail address/);
  });
});
