/**
 * The background jobs in a running server, over real HTTP on SQLite and PostgreSQL: a registration token used up by
 * abandoned sign-ups is usable again once their sessions have expired and the purge has run; `background_jobs`
 * turns the runner off; the section is validated like every other.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UIA_PURGE_MARGIN_MS, UIA_SESSION_LIFETIME_MS } from "../../src/accounts/uia.js";
import { ConfigError } from "../../src/config/validate.js";
import { createTestDatabase, forEachDatabase } from "../helpers/databases.js";
import { configFrom, rawConfigFor, startTestServer } from "../helpers/server.js";
import { closeFixture, register, startFixture, type Fixture, type UiaBody } from "../api/client-support.js";
import { openTestDb } from "../api/support.js";

const TOKEN_STAGE = "m.login.registration_token";

forEachDatabase((kind) => {
  describe("a token held by abandoned sign-ups", () => {
    let fx: Fixture;
    beforeAll(async () => {
      fx = await startFixture(kind, { enable_registration: true, registration_requires_token: true });
    });
    afterAll(() => closeFixture(fx));

    /** Opens a sign-up and passes the token stage; returns the session. */
    async function reserve(username: string): Promise<UiaBody> {
      const first = await register(fx.url, { username, password: "correct horse" });
      expect(first.status, first.text).toBe(401);
      const session = (first.body as unknown as UiaBody).session;
      return (await register(fx.url, { auth: { type: TOKEN_STAGE, token: "invite", session } }))
        .body as unknown as UiaBody;
    }

    it("is usable again once their sessions have expired and the purge has run", async () => {
      const { stores } = fx.server.server.accounts;
      await stores.registrationTokens.insert({
        token: "invite",
        usesAllowed: 2,
        expiryTime: null,
        createdTs: Date.now(),
      });
      const jobs = fx.server.server.jobs!;
      // Whatever the start-up pass was doing is over.
      await jobs.runDue();

      expect((await reserve("walkaway1")).completed).toEqual([TOKEN_STAGE]);
      expect((await reserve("walkaway2")).completed).toEqual([TOKEN_STAGE]);
      const refused = await reserve("latecomer");
      expect([refused.errcode, refused.error]).toEqual(["M_UNAUTHORIZED", "Invalid registration token"]);

      // The two abandoned sessions age past their lifetime; the purge is due.
      const age = UIA_SESSION_LIFETIME_MS + UIA_PURGE_MARGIN_MS + 60_000;
      await fx.look.kysely
        .updateTable("ui_auth_sessions")
        .set((eb) => ({ creation_time: eb("creation_time", "-", age) }))
        .where("session_id", "!=", refused.session)
        .execute();
      await fx.look.kysely.updateTable("scheduled_jobs").set({ next_run_at: 0 }).execute();
      expect(await jobs.runDue()).toContain("purge_ui_auth_sessions");

      expect(await stores.registrationTokens.get("invite")).toMatchObject({ pending: 0, completed: 0 });
      const again = (await register(fx.url, { auth: { type: TOKEN_STAGE, token: "invite", session: refused.session } }))
        .body as unknown as UiaBody;
      expect(again.errcode).toBeUndefined();
      const done = await register(fx.url, { auth: { type: "m.login.dummy", session: refused.session } });
      expect(done.status, done.text).toBe(200);
      expect(done.body.user_id).toBe("@latecomer:localhost");
      const row = await fx.look.kysely
        .selectFrom("scheduled_jobs")
        .selectAll()
        .where("name", "=", "purge_ui_auth_sessions")
        .executeTakeFirstOrThrow();
      expect(row).toMatchObject({ last_result: "ok: deleted 2", locked_by: null });
    });
  });

  it("background_jobs.enabled: false runs no jobs in that process", async () => {
    const db = await createTestDatabase(kind);
    const server = await startTestServer(db, { background_jobs: { enabled: false } });
    const look = openTestDb(db);
    try {
      expect(server.server.jobs).toBeNull();
      expect(await look.kysely.selectFrom("scheduled_jobs").selectAll().execute()).toEqual([]);
    } finally {
      await look.close();
      await server.close();
    }
  });
});

describe("the background_jobs section", () => {
  it("defaults to enabled, and is checked like every section", async () => {
    const db = await createTestDatabase("sqlite");
    expect(configFrom(rawConfigFor(db)).background_jobs).toEqual({ enabled: true });
    let err: unknown;
    try {
      configFrom(rawConfigFor(db, { background_jobs: { enabled: "yes" } }));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message).toBe('test.yaml: background_jobs.enabled: must be true or false (got "yes")');
  });
});
