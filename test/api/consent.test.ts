/**
 * Terms (`user_consent`) on SQLite and PostgreSQL over real HTTP: `m.login.terms` at registration (matrix-js-sdk's
 * interactive auth, the fallback page, refused without the stage), the accepted version recorded with the account,
 * `/_matrix/consent` with a good and a forged MAC; then the same database under a new version: sending refused with
 * `M_CONSENT_NOT_GIVEN` and the user's link, the consent notice in /sync once, accepting lifts the block; the admin
 * API's fields.
 */
import { createHmac } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { InteractiveAuth } from "matrix-js-sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Session } from "./account-support.js";
import { expectMatrixError, openTestDb } from "./support.js";
import type { Db } from "../../src/db/database.js";
import { forEachDatabase, tempDir } from "../helpers/databases.js";
import { call } from "../helpers/http.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { anonymous, PASSWORD } from "../clients/sdk-support.js";
import { ADMIN, promote } from "../admin/support.js";
import { sync } from "../rooms/support.js";

const TERMS = "m.login.terms";
const DUMMY = "m.login.dummy";
const FALLBACK = `/_matrix/client/v3/auth/${TERMS}/fallback/web`;
const SECRET = "form secret for the consent links";
const FORM = { "content-type": "application/x-www-form-urlencoded" };

function templates(): string {
  const dir = tempDir();
  mkdirSync(join(dir, "en"));
  writeFileSync(join(dir, "en", "1.0.html"), "<html><body><h1>Policy one</h1><p>Be nice.</p></body></html>");
  writeFileSync(join(dir, "en", "2.0.html"), "<h1>Policy two</h1><p>Be nicer.</p>");
  return dir;
}

function consentConfig(dir: string, version: string): Record<string, unknown> {
  return {
    enable_registration: true,
    enable_registration_without_verification: true,
    form_secret: SECRET,
    server_notices: { system_mxid_localpart: "notices" },
    rc_message: { per_second: 1000, burst_count: 1000 },
    rc_registration: { per_second: 1000, burst_count: 1000 },
    rc_joins: { local: { per_second: 1000, burst_count: 1000 } },
    user_consent: {
      version,
      template_dir: dir,
      require_at_registration: true,
      block_events_error: "To continue you must review and agree to the terms at %(consent_uri)s",
      server_notice_content: { msgtype: "m.text", body: "Please accept our new terms: %(consent_uri)s" },
    },
  };
}

const mac = (u: string) => createHmac("sha256", SECRET).update(u).digest("hex");

interface UiaBody {
  session: string;
  flows: { stages: string[] }[];
  params: Record<string, unknown>;
  completed: string[];
}

async function uia(base: string, json: Record<string, unknown>): Promise<UiaBody> {
  const r = await call(base, "POST", "/_matrix/client/v3/register", { json });
  expect(r.status, r.text).toBe(401);
  return r.body as unknown as UiaBody;
}

forEachDatabase((kind) => {
  const dir = templates();
  let server: TestServer & { db: Parameters<typeof startTestServer>[0] };
  let look: Db;
  let root: Session;
  let sdkUser: Session;

  const consentOf = async (userId: string) => {
    const r = await call(server.url, "GET", `${ADMIN}/v2/users/${encodeURIComponent(userId)}`, { token: root.token });
    expect(r.status, r.text).toBe(200);
    return r.body;
  };

  beforeAll(async () => {
    const { createTestDatabase } = await import("../helpers/databases.js");
    const db = await createTestDatabase(kind);
    server = { ...(await startTestServer(db, consentConfig(dir, "1.0"))), db };
    look = openTestDb(db);
  });
  afterAll(async () => {
    await look.close();
    await server.close();
  });

  describe("at registration (version 1.0)", () => {
    it("puts m.login.terms in every flow with the policy's name, version and link", async () => {
      const body = await uia(server.url, { username: "flows", password: PASSWORD });
      expect(body.flows).toEqual([{ stages: [TERMS, DUMMY] }]);
      expect(body.params).toEqual({
        [TERMS]: {
          policies: {
            privacy_policy: {
              version: "1.0",
              en: { name: "Privacy Policy", url: "https://localhost/_matrix/consent?v=1.0" },
            },
          },
        },
      });
    });

    it("refuses to register without the terms stage", async () => {
      const s = await uia(server.url, { username: "skipper", password: PASSWORD });
      const again = await uia(server.url, { auth: { type: DUMMY, session: s.session } });
      expect(again.completed).toEqual([DUMMY]);
      expect(
        await look.kysely.selectFrom("users").select("name").where("name", "=", "@skipper:localhost").execute(),
      ).toEqual([]);
    });

    it("registers with matrix-js-sdk's interactive auth accepting the terms, and records the version", async () => {
      const client = anonymous(server.url);
      const seen: string[] = [];
      const before = Date.now();
      const ia = new InteractiveAuth({
        matrixClient: client,
        doRequest: (auth) =>
          client.registerRequest({ username: "sdkuser", password: PASSWORD, auth: auth ?? undefined }),
        stateUpdated: (stage) => {
          seen.push(stage);
          if (stage === TERMS) void ia.submitAuthDict({ type: TERMS });
        },
        requestEmailToken: () => Promise.reject(new Error("no e-mail stage here")),
      });
      const done = await ia.attemptAuth();
      expect(seen).toContain(TERMS);
      expect(done.user_id).toBe("@sdkuser:localhost");
      sdkUser = { userId: done.user_id, token: done.access_token!, deviceId: done.device_id! };
      const row = await look.kysely
        .selectFrom("users")
        .select(["consent_version", "consent_ts"])
        .where("name", "=", "@sdkuser:localhost")
        .executeTakeFirstOrThrow();
      expect(row.consent_version).toBe("1.0");
      expect(Number(row.consent_ts)).toBeGreaterThanOrEqual(before);
    });

    it("completes the stage through the fallback page, which needs the box ticked", async () => {
      const s = await uia(server.url, { username: "fallback", password: PASSWORD });
      const page = await call(server.url, "GET", `${FALLBACK}?session=${s.session}`);
      expect(page.status).toBe(200);
      expect(page.headers.get("content-type")).toBe("text/html; charset=utf-8");
      expect(page.text).toContain('href="https://localhost/_matrix/consent?v=1.0"');
      expect(page.text).toContain('name="accept"');
      const unticked = await call(server.url, "POST", FALLBACK, { body: `session=${s.session}`, headers: FORM });
      expect(unticked.status).toBe(403);
      expect(unticked.text).toContain("Tick the box");
      expect((await uia(server.url, { auth: { session: s.session } })).completed).toEqual([]);
      const ticked = await call(server.url, "POST", FALLBACK, {
        body: `session=${s.session}&accept=0`,
        headers: FORM,
      });
      expect(ticked.status, ticked.text).toBe(200);
      expect(ticked.text).toContain("done.js");
      // As Element does after authDone: the session alone, then the rest of the flow.
      expect((await uia(server.url, { auth: { session: s.session } })).completed).toEqual([TERMS]);
      const done = await call(server.url, "POST", "/_matrix/client/v3/register", {
        json: { auth: { type: DUMMY, session: s.session } },
      });
      expect(done.status, done.text).toBe(200);
      root = { userId: done.body.user_id as string, token: done.body.access_token as string, deviceId: "" };
      await promote(look, root.userId);
      expect(await consentOf(root.userId)).toMatchObject({ consent_version: "1.0", consent_server_notice_sent: null });
    });

    it("serves the policy to anyone, and an accept form to the user a link's MAC names", async () => {
      const pub = await call(server.url, "GET", "/_matrix/consent?v=1.0");
      expect(pub.status).toBe(200);
      expect(pub.text).toContain("<h1>Policy one</h1>");
      expect(pub.text).not.toContain("<form");
      expect(pub.headers.get("content-security-policy")).toContain("script-src 'none'");

      const mine = await call(server.url, "GET", `/_matrix/consent?u=sdkuser&h=${mac("sdkuser")}`);
      expect(mine.status).toBe(200);
      expect(mine.text).toContain("already accepted");
      const fresh = await call(server.url, "GET", `/_matrix/consent?v=2.0&u=sdkuser&h=${mac("sdkuser")}`);
      expect(fresh.text).toContain("<h1>Policy two</h1>");
      expect(fresh.text).toContain('<form method="post" action="/_matrix/consent">');
      expect(fresh.text).toContain(`value="${mac("sdkuser")}"`);

      // A MAC for someone else, one computed with another secret, or none at all.
      const forged = createHmac("sha256", "guess").update("sdkuser").digest("hex");
      for (const h of [mac("root"), forged, ""]) {
        const r = await call(server.url, "GET", `/_matrix/consent?u=sdkuser&h=${h}`);
        expect(r.status).toBe(403);
        expect(r.text).toContain("HMAC incorrect");
        const post = await call(server.url, "POST", "/_matrix/consent", {
          body: `v=2.0&u=sdkuser&h=${h}`,
          headers: FORM,
        });
        expect(post.status).toBe(403);
      }
      expect((await call(server.url, "GET", "/_matrix/consent?v=9.9")).status).toBe(404);
      expect((await call(server.url, "GET", "/_matrix/consent?v=..%2F..%2Fetc%2Fpasswd")).status).toBe(404);
      const nobody = await call(server.url, "GET", `/_matrix/consent?u=nobody&h=${mac("nobody")}`);
      expect(nobody.status).toBe(404);
      expect((await consentOf(sdkUser.userId)).consent_version).toBe("1.0");
    });

    it("lets a user who accepted the current version send", async () => {
      const r = await call(server.url, "POST", "/_matrix/client/v3/createRoom", { token: sdkUser.token, json: {} });
      expect(r.status, r.text).toBe(200);
    });
  });

  describe("after the version changes to 2.0", () => {
    let roomId: string;
    beforeAll(async () => {
      const r = await call(server.url, "POST", "/_matrix/client/v3/createRoom", { token: sdkUser.token, json: {} });
      roomId = r.body.room_id as string;
      await server.close();
      server = { ...(await startTestServer(server.db, consentConfig(dir, "2.0"))), db: server.db };
    });

    const uri = `https://localhost/_matrix/consent?u=sdkuser&h=${mac("sdkuser")}`;

    it("refuses sending and room creation with M_CONSENT_NOT_GIVEN and the user's link", async () => {
      const path = `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/t1`;
      const send = await call(server.url, "PUT", path, {
        token: sdkUser.token,
        json: { msgtype: "m.text", body: "hi" },
      });
      expectMatrixError(
        send,
        403,
        "M_CONSENT_NOT_GIVEN",
        `To continue you must review and agree to the terms at ${uri}`,
        { consent_uri: uri },
      );
      const create = await call(server.url, "POST", "/_matrix/client/v3/createRoom", {
        token: sdkUser.token,
        json: {},
      });
      expect(create.body.errcode).toBe("M_CONSENT_NOT_GIVEN");
      const state = await call(
        server.url,
        "PUT",
        `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/state/m.room.topic/`,
        { token: sdkUser.token, json: { topic: "t" } },
      );
      expect(state.body.errcode).toBe("M_CONSENT_NOT_GIVEN");
      const invite = await call(server.url, "POST", `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/invite`, {
        token: sdkUser.token,
        json: { user_id: root.userId },
      });
      expect(invite.body.errcode).toBe("M_CONSENT_NOT_GIVEN");
      const upgrade = await call(server.url, "POST", `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/upgrade`, {
        token: sdkUser.token,
        json: { new_version: "11" },
      });
      expect(upgrade.body.errcode).toBe("M_CONSENT_NOT_GIVEN");
    });

    it("sends the consent notice in /sync once, whose room the user may join while blocked", async () => {
      const first = await sync(server.url, sdkUser);
      const invites = Object.keys(first.rooms.invite);
      expect(invites).toHaveLength(1);
      const noticeRoom = invites[0]!;
      const join = await call(server.url, "POST", `/_matrix/client/v3/join/${encodeURIComponent(noticeRoom)}`, {
        token: sdkUser.token,
        json: {},
      });
      expect(join.status, join.text).toBe(200);
      const after = await sync(server.url, sdkUser);
      const timeline = after.rooms.join[noticeRoom]!.timeline.events;
      const notices = timeline.filter((e) => e.type === "m.room.message");
      expect(notices.map((e) => e.content)).toEqual([
        { msgtype: "m.text", body: `Please accept our new terms: ${uri}` },
      ]);
      // More syncs send nothing more.
      await sync(server.url, sdkUser);
      const count = await look.kysely
        .selectFrom("events")
        .select((eb) => eb.fn.countAll<number>().as("n"))
        .where("room_id", "=", noticeRoom)
        .where("type", "=", "m.room.message")
        .executeTakeFirstOrThrow();
      expect(count.n).toBe(1);
      expect((await consentOf(sdkUser.userId)).consent_server_notice_sent).toBe("2.0");
    });

    it("lifts the block once the user accepts through the link, and the admin API shows it", async () => {
      const before = Date.now();
      const page = await call(server.url, "GET", `/_matrix/consent?u=sdkuser&h=${mac("sdkuser")}`);
      expect(page.text).toContain("<h1>Policy two</h1>");
      const accept = await call(server.url, "POST", "/_matrix/consent", {
        body: `v=2.0&u=sdkuser&h=${mac("sdkuser")}`,
        headers: FORM,
      });
      expect(accept.status, accept.text).toBe(200);
      expect(accept.text).toContain("Thank you");
      const path = `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/t2`;
      const send = await call(server.url, "PUT", path, {
        token: sdkUser.token,
        json: { msgtype: "m.text", body: "hi" },
      });
      expect(send.status, send.text).toBe(200);
      const fields = await consentOf(sdkUser.userId);
      expect(fields).toMatchObject({ consent_version: "2.0", consent_server_notice_sent: "2.0" });
      expect(fields.consent_ts as number).toBeGreaterThanOrEqual(before);
      // Admins are asked too, as in Synapse.
      const adminSend = await call(server.url, "POST", "/_matrix/client/v3/createRoom", {
        token: root.token,
        json: {},
      });
      expect(adminSend.body.errcode).toBe("M_CONSENT_NOT_GIVEN");
    });
  });
});

describe("user_consent configuration", () => {
  it("is refused without form_secret, without its template, and with a notice but no server notices", async () => {
    const { configFrom, rawConfigFor } = await import("../helpers/server.js");
    const { ConfigError } = await import("../../src/config/validate.js");
    const db = { config: { name: "sqlite3", args: { database: ":memory:" } } } as never;
    const dir = templates();
    const problems = (overrides: Record<string, unknown>) => {
      try {
        configFrom(rawConfigFor(db, overrides));
      } catch (err) {
        if (err instanceof ConfigError) return err.problems.map((p) => `${p.key}: ${p.message}`);
        throw err;
      }
      return [];
    };
    const base = consentConfig(dir, "1.0");
    const { form_secret: _secret, ...withoutSecret } = base;
    expect(problems(withoutSecret)).toEqual([
      "user_consent: needs form_secret (or form_secret_path): the consent links are signed with it",
    ]);
    expect(problems({ ...base, user_consent: { ...(base.user_consent as object), version: "3.0" } })).toEqual([
      `user_consent.template_dir: has no ${join(dir, "en", "3.0.html")} for version 3.0`,
    ]);
    const { server_notices: _sn, ...withoutNotices } = base;
    expect(problems(withoutNotices)).toEqual([
      "user_consent.server_notice_content: needs server notices: set server_notices.system_mxid_localpart",
    ]);
    expect(problems(base)).toEqual([]);
    // YAML reads `version: 1.0` as the number 1: refused with the fix rather than looking for en/1.html.
    expect(problems({ ...base, user_consent: { ...(base.user_consent as object), version: 1.0 } })).toEqual([
      'user_consent.version: must be text: quote it (version: "1.0" or "1"), as YAML reads 1.0 as a number',
    ]);
  });
});
